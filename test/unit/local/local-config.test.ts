import { parseAgentTarget } from '../../../lambda/contract';
import { ASYNC_DEMO_AGENT_TYPES, DEMO_AGENT_TYPES } from '../../../local/demo-agents';
import {
  ASYNC_HANDOFF_TIMEOUT_SECONDS,
  LOCAL_HEARTBEAT_TIMEOUT_SECONDS,
  localStackConfig,
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
});
