import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAgentTarget } from '../../../lambda/contract';
import { ASYNC_DEMO_AGENT_TYPES, DEMO_AGENT_TYPES } from '../../../local/demo-agents';
import {
  ASYNC_HANDOFF_TIMEOUT_SECONDS,
  configFileAgents,
  DEFAULT_CONFIG_FILE,
  demoStackConfig,
  LOCAL_HEARTBEAT_TIMEOUT_SECONDS,
  localStackConfig,
  parseAgentLimits,
  parseTopicsOption,
} from '../../../local/local-config';

const AGENTS_URL = 'http://127.0.0.1:3001';

describe('Function: localStackConfig', () => {
  it('registers async-echo as an async agent with a 10 s heartbeat timeout and a short hand-off timeout', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL });

    // Assess
    expect(config.agents?.['async-echo']).toEqual({
      kind: 'http',
      url: `${AGENTS_URL}/async-echo`,
      mode: 'async',
      heartbeatTimeoutSeconds: 10,
      timeoutSeconds: ASYNC_HANDOFF_TIMEOUT_SECONDS,
    });
    expect(LOCAL_HEARTBEAT_TIMEOUT_SECONDS).toBe(10);
    expect(ASYNC_HANDOFF_TIMEOUT_SECONDS).toBeLessThan(10);
  });

  it('registers every demo type, and only the async ones with mode async', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL });

    // Assess
    expect(Object.keys(config.agents ?? {})).toEqual([...DEMO_AGENT_TYPES]);
    const asyncTypes = Object.entries(config.agents ?? {})
      .filter(([, agent]) => agent.mode === 'async')
      .map(([type]) => type);
    expect(asyncTypes).toEqual([...ASYNC_DEMO_AGENT_TYPES]);
  });

  it('sets the heartbeat timeout of every async agent when heartbeatTimeoutSeconds is given', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL, heartbeatTimeoutSeconds: 42 });

    // Assess
    for (const type of ASYNC_DEMO_AGENT_TYPES)
      expect(config.agents?.[type]?.heartbeatTimeoutSeconds).toBe(42);
    expect(config.agents?.echo?.heartbeatTimeoutSeconds).toBeUndefined();
  });

  it('keeps async types async when the agents are external (--agents-url)', () => {
    // Act
    const config = localStackConfig({ agentsUrl: 'http://127.0.0.1:9999/agents' });

    // Assess
    expect(config.agents?.['async-echo']).toMatchObject({
      mode: 'async',
      url: 'http://127.0.0.1:9999/agents/async-echo',
    });
  });

  it('never gives an async agent a hand-off timeout longer than the shortened agent timeout', () => {
    // Act
    const config = localStackConfig({
      agentsUrl: AGENTS_URL,
      consumerTimeoutSeconds: 10,
      agentTimeoutSeconds: 3,
    });

    // Assess
    expect(config.agents?.['async-echo']?.timeoutSeconds).toBe(3);
  });

  it('writes only agents the configuration-file parser accepts', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL, heartbeatTimeoutSeconds: 30 });

    // Assess
    for (const [type, agent] of Object.entries(config.agents ?? {}))
      expect(parseAgentTarget(type, agent, { timeout: 'optional' })).toEqual(agent);
  });

  it('limits limited to 2 at once and 10 calls per 1 s, and no other demo type', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL });

    // Assess
    expect(config.agents?.limited).toMatchObject({ maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } });
    for (const [type, agent] of Object.entries(config.agents ?? {})) {
      if (type === 'limited') continue;
      expect(agent.maxConcurrency).toBeUndefined();
      expect(agent.rateLimit).toBeUndefined();
    }
  });

  it("keeps the demo types' limits when the agents are external (--agents-url)", () => {
    // Act
    const config = localStackConfig({ agentsUrl: 'http://127.0.0.1:9999/agents' });

    // Assess
    expect(config.agents?.limited).toMatchObject({
      url: 'http://127.0.0.1:9999/agents/limited',
      maxConcurrency: 2,
      rateLimit: { requests: 10, per: 1 },
    });
  });

  it('sets the tenant cap and the wake-up interval only when given', () => {
    // Act
    const plain = localStackConfig({ agentsUrl: AGENTS_URL });
    const capped = localStackConfig({
      agentsUrl: AGENTS_URL,
      tenantMaxConcurrency: 3,
      limitWakeUpSeconds: 2,
    });

    // Assess
    expect(plain).not.toHaveProperty('tenantMaxConcurrency');
    expect(plain).not.toHaveProperty('limitWakeUpSeconds');
    expect(capped).toMatchObject({ tenantMaxConcurrency: 3, limitWakeUpSeconds: 2 });
  });

  it('turns events on when given (the default transitions unless named), and keeps them off with false', () => {
    // Act
    const off = localStackConfig({ agentsUrl: AGENTS_URL, events: false });
    const defaults = localStackConfig({ agentsUrl: AGENTS_URL, events: {} });
    const named = localStackConfig({ agentsUrl: AGENTS_URL, events: { transitions: ['FAILED'] } });

    // Assess
    expect(off).not.toHaveProperty('events');
    expect(defaults.events).toEqual({});
    expect(named.events).toEqual({ transitions: ['FAILED'] });
  });
});

describe('Function: parseAgentLimits', () => {
  it("replaces a demo type's limits whole, and leaves the other types' as they are", () => {
    // Act
    const agentLimits = parseAgentLimits(
      '{"limited":{"rateLimit":{"requests":3,"per":2}},"echo":{"maxConcurrency":4}}',
    );
    const config = localStackConfig({ agentsUrl: AGENTS_URL, agentLimits });

    // Assess
    expect(agentLimits).toEqual({
      limited: { rateLimit: { requests: 3, per: 2 } },
      echo: { maxConcurrency: 4 },
    });
    expect(config.agents?.limited).not.toHaveProperty('maxConcurrency');
    expect(config.agents?.limited?.rateLimit).toEqual({ requests: 3, per: 2 });
    expect(config.agents?.echo?.maxConcurrency).toBe(4);
    expect(config.agents?.sleep).not.toHaveProperty('maxConcurrency');
  });

  it("removes a type's limits when its entry is empty", () => {
    // Act
    const config = localStackConfig({
      agentsUrl: AGENTS_URL,
      agentLimits: parseAgentLimits('{"limited":{}}'),
    });

    // Assess
    expect(config.agents?.limited).not.toHaveProperty('maxConcurrency');
    expect(config.agents?.limited).not.toHaveProperty('rateLimit');
  });

  it.each([
    ['not JSON', '{', 'must be a JSON object'],
    ['an array', '[]', 'must be a JSON object'],
    ['an unknown type', '{"translate":{"maxConcurrency":1}}', "'translate' is not a demo agent type"],
    ['a field that is no limit', '{"limited":{"timeoutSeconds":3}}', 'only maxConcurrency and rateLimit'],
    [
      'a concurrency of 0',
      '{"limited":{"maxConcurrency":0}}',
      'maxConcurrency must be an integer from 1 to 1000',
    ],
    ['a rate window of 0.5 s', '{"limited":{"rateLimit":{"requests":1,"per":0.5}}}', 'rateLimit.per must be'],
  ])('throws when given %s', (_what, text, message) => {
    // Act & Assess
    expect(() => parseAgentLimits(text)).toThrow(message);
  });
});

describe('Local events', () => {
  it('the demo turns events on for SUCCEEDED, FAILED and CANCELLED, with no subscription of its own', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL });

    // Assess
    expect(config.events).toEqual({ transitions: ['SUCCEEDED', 'FAILED', 'CANCELLED'] });
  });
});

describe('Local topics', () => {
  it('the demo publishes demo.fanout to echo and sleep', () => {
    // Act
    const config = localStackConfig({ agentsUrl: AGENTS_URL });

    // Assess
    expect(config.topics).toEqual({ 'demo.fanout': { subscribers: ['echo', 'sleep'] } });
  });

  it("adds a test's topics beside the demo's, and a same-named one replaces the demo's", () => {
    // Act
    const config = localStackConfig({
      agentsUrl: AGENTS_URL,
      topics: parseTopicsOption(
        '{"t.mixed":{"subscribers":["echo","flaky"]},"demo.fanout":{"subscribers":["poison"]}}',
      ),
    });

    // Assess
    expect(config.topics).toEqual({
      'demo.fanout': { subscribers: ['poison'] },
      't.mixed': { subscribers: ['echo', 'flaky'] },
    });
  });

  it.each([
    ['not JSON', '{t:', /must be a JSON object/],
    ['a list', '["t"]', /must be a JSON object/],
    ['a topic that is a list', '{"t":["echo"]}', /topic 't' must be an object/],
    [
      'a subscriber that is no demo type',
      '{"t":{"subscribers":["index"]}}',
      /subscriber 'index' is not a registered/,
    ],
    ['a topic named like a demo type', '{"echo":{"subscribers":["sleep"]}}', /clashes with the agent type/],
    ['no subscribers', '{"t":{"subscribers":[]}}', /needs at least one subscriber/],
  ])('parseTopicsOption throws when given %s', (_what, text, message) => {
    expect(() => parseTopicsOption(text)).toThrow(message);
  });
});

describe('Function: configFileAgents and demoStackConfig', () => {
  let appDir: string;
  beforeEach(() => {
    appDir = mkdtempSync(path.join(tmpdir(), 'demo-config-'));
  });
  afterEach(() => rmSync(appDir, { recursive: true, force: true }));

  it("adds the demo's agents and topic to the configuration file's, echo the demo's own", () => {
    mkdirSync(path.join(appDir, 'config'));
    writeFileSync(
      path.join(appDir, 'config', 'agents.json'),
      JSON.stringify({
        agents: {
          summarize: { kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:1:function:s' },
          echo: { kind: 'http', url: 'https://theirs.example.com' },
        },
        topics: { 'doc.new': { subscribers: ['summarize'] } },
        maxReceiveCount: 9,
      }),
    );
    const demo = localStackConfig({ agentsUrl: 'http://127.0.0.1:3001' });
    const config = demoStackConfig(configFileAgents(appDir, {}), demo);
    expect(Object.keys(config.agents!)).toEqual([
      'summarize',
      'echo',
      'sleep',
      'flaky',
      'poison',
      'limited',
      'async-echo',
    ]);
    expect(config.agents!.echo).toEqual(demo.agents!.echo);
    expect(config.topics).toEqual({
      'doc.new': { subscribers: ['summarize'] },
      'demo.fanout': { subscribers: ['echo', 'sleep'] },
    });
    expect(config).toMatchObject({ echoAgent: false, maxReceiveCount: 5 });
  });

  it("reads the file the app reads by default (lib/stack-config.ts's DEFAULT_CONFIG_FILE)", () => {
    const { DEFAULT_CONFIG_FILE: appDefault } =
      require('../../../lib/stack-config') as typeof import('../../../lib/stack-config');
    expect(DEFAULT_CONFIG_FILE).toBe(appDefault);
  });

  it('runs the demo alone without a configuration file, and names a configFile that does not exist', () => {
    expect(configFileAgents(appDir, {})).toEqual({});
    expect(() => configFileAgents(appDir, { configFile: 'nope.json' })).toThrow('does not exist');
  });
});
