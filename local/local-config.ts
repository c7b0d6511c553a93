/**
 * The stack configuration `taskq local --demo-agents` gives this repository's app (as its `taskQueue` context): the
 * demo agents over HTTP, and retries within seconds, over the agents and topics of the app's configuration file.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAgentTarget, type TopicDefinitions, topicErrors } from '../lambda/contract';
import type { TaskStatus } from '../lambda/core/task';
import { DEFAULT_EVENT_TRANSITIONS } from '../lambda/core/task-events';
import type { AgentConfig, StackConfig } from '../lib/stack-config';
import { ASYNC_DEMO_AGENT_TYPES, DEMO_AGENT_TYPES, type DemoAgentType, isDemoAgentType } from './demo-agents';

export interface LocalConfigOptions {
  /** Base URL of the agent server; agent `t` is at `${agentsUrl}/t`. */
  readonly agentsUrl: string;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /** Consumer timeout; the chaos run shortens it so that a dead consumer's message returns within seconds. @default 75 */
  readonly consumerTimeoutSeconds?: number;
  /** Timeout of every sync agent but `sleep`. @default 10 */
  readonly agentTimeoutSeconds?: number;
  /**
   * Heartbeat timeout of every async agent (`npm start -- --heartbeat-timeout S`).
   * @default 10 - {@link LOCAL_HEARTBEAT_TIMEOUT_SECONDS}
   */
  readonly heartbeatTimeoutSeconds?: number;
  /**
   * The most tasks of one tenant running at once, across all agents (`npm start -- --tenant-max-concurrency N`).
   * @default - no tenant cap
   */
  readonly tenantMaxConcurrency?: number;
  /**
   * The longest a task waiting for a limit goes between two asks (`npm start -- --limit-wake-up S`).
   * @default - the construct's (5 s)
   */
  readonly limitWakeUpSeconds?: number;
  /**
   * Limits that replace a demo type's own (`npm start -- --agent-limits JSON`): for an agent under test, or a test
   * that needs one limit without the other.
   * @default - {@link DEMO_AGENT_LIMITS}
   */
  readonly agentLimits?: DemoAgentLimitsByType;
  /**
   * Topics besides the demo's (`npm start -- --topics JSON`), e.g. for a test that needs a subscriber that fails;
   * one named like a demo topic replaces it.
   * @default - only {@link DEMO_TOPICS}
   */
  readonly topics?: TopicDefinitions;
  /**
   * Task lifecycle events: an object turns publishing on (the EventPublisher on the table's stream, the events
   * topic) for its transitions (the construct's default set when left out); `false` keeps it off, as the
   * benchmark's sessions that measure something else do.
   * @default - on for {@link DEMO_EVENT_TRANSITIONS}, as `npm start` runs the demo
   */
  readonly events?: { readonly transitions?: readonly TaskStatus[] } | false;
}

/**
 * The transitions the demo publishes as events: the construct's default set (SUCCEEDED, FAILED, CANCELLED),
 * named here so that the demo keeps them if the default changes. Events are on in the demo, so that
 * `taskq events tail`, and any queue subscribed to the events topic at run time, receive them.
 */
export const DEMO_EVENT_TRANSITIONS: readonly TaskStatus[] = DEFAULT_EVENT_TRANSITIONS;

/** The demo's topics: a task published to `demo.fanout` runs on `echo` and on `sleep` (give it `{"ms": …}`). */
export const DEMO_TOPICS: TopicDefinitions = {
  'demo.fanout': { subscribers: ['echo', 'sleep'] },
};

/**
 * Parses `--topics`: a JSON object of topic name to `{ "subscribers": [demo agent types] }`, as the configuration
 * file writes it, e.g. `{"t.mixed":{"subscribers":["echo","flaky"]}}`. Throws one clear error for anything the
 * construct would refuse.
 */
export function parseTopicsOption(text: string): TopicDefinitions {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON object, e.g. {"t.mixed":{"subscribers":["echo","flaky"]}}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('must be a JSON object, e.g. {"t.mixed":{"subscribers":["echo","flaky"]}}');
  for (const [name, topic] of Object.entries(value)) {
    if (typeof topic !== 'object' || topic === null || Array.isArray(topic))
      throw new Error(`topic '${name}' must be an object { "subscribers": [...] }`);
  }
  const topics = value as TopicDefinitions;
  // Loaded only when topics are given: lib/agents.ts loads aws-cdk-lib, which takes a second or more (synth.ts).
  const { TASK_TYPE_PATTERN } = require('../lib/agents') as typeof import('../lib/agents');
  const errors = topicErrors(topics, DEMO_AGENT_TYPES, TASK_TYPE_PATTERN);
  if (errors.length > 0) throw new Error(errors.join('; '));
  return topics;
}

/** An agent's limits as the configuration file writes them (`rateLimit.per` in seconds). */
export type DemoAgentLimits = Pick<AgentConfig, 'maxConcurrency' | 'rateLimit'>;
export type DemoAgentLimitsByType = Readonly<Partial<Record<DemoAgentType, DemoAgentLimits>>>;

/**
 * The limits of the demo types, whoever serves them: with `--agents-url` they stay in force, so that an agent under
 * test can count the calls it receives at once. `rateLimit.per` is in seconds, as in the configuration file.
 */
export const DEMO_AGENT_LIMITS: DemoAgentLimitsByType = {
  limited: { maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } },
};

/**
 * Parses `--agent-limits`: a JSON object from demo type to its limits in the configuration file's shape, e.g.
 * `{"limited":{"rateLimit":{"requests":2,"per":1}}}`. A type's entry replaces its limits whole (`{}` removes them).
 * Throws one clear error for anything the configuration file would refuse.
 */
export function parseAgentLimits(text: string): DemoAgentLimitsByType {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON object, e.g. {"limited":{"maxConcurrency":4}}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('must be a JSON object, e.g. {"limited":{"maxConcurrency":4}}');
  const limits: Partial<Record<DemoAgentType, DemoAgentLimits>> = {};
  for (const [type, entry] of Object.entries(value)) {
    if (!isDemoAgentType(type))
      throw new Error(`'${type}' is not a demo agent type (${DEMO_AGENT_TYPES.join(', ')})`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new Error(`'${type}' must be an object with maxConcurrency and/or rateLimit`);
    const other = Object.keys(entry).find((key) => key !== 'maxConcurrency' && key !== 'rateLimit');
    if (other !== undefined)
      throw new Error(`'${type}' has ${other}; only maxConcurrency and rateLimit are limits`);
    // The configuration file's own checks, on an agent that has only these limits.
    const { maxConcurrency, rateLimit } = parseAgentTarget(
      type,
      { kind: 'http', url: 'http://127.0.0.1', ...entry },
      { timeout: 'optional' },
    );
    limits[type] = {
      ...(maxConcurrency !== undefined && { maxConcurrency }),
      ...(rateLimit !== undefined && { rateLimit }),
    };
  }
  return limits;
}

/** Long enough for the longest demo `sleep` or `limited` call (60 s) plus its HTTP round trip. */
const SLEEP_AGENT_TIMEOUT_SECONDS = 65;
/** Must exceed every agent timeout (a synth-time rule of the construct). */
export const LOCAL_CONSUMER_TIMEOUT_SECONDS = 75;
/**
 * Locally an async demo agent that goes silent is declared lost within seconds, not the construct's 5 minutes, so
 * that a retry can be watched.
 */
export const LOCAL_HEARTBEAT_TIMEOUT_SECONDS = 10;
/**
 * The hand-off timeout of an async agent: the consumer waits this long for its 202. A demo agent answers at once;
 * an agent under test (`--agents-url`) gets a few seconds.
 */
export const ASYNC_HANDOFF_TIMEOUT_SECONDS = 5;

const isAsync = (type: DemoAgentType) => ASYNC_DEMO_AGENT_TYPES.includes(type);
/** The types that sleep for as long as their payload says (up to a minute). */
const sleeps = (type: DemoAgentType) => type === 'sleep' || type === 'limited';

/**
 * The demo's tunings that the runtime applies as a template rewrite (template-rewrites.ts) instead of synthesizing
 * them: the demo app synthesized without them, then rewritten, is the template the construct synthesizes with them
 * (test/infra/demo-rewrites.test.ts). So the runtimes of the test suites that differ from the default demo only in
 * these share its synth, where each took a synth of its own before (some 10 s of CPU on a clean clone). The
 * consumer timeout is not one of them (the demo derives its sleeping agents' timeouts from it, below), nor is the
 * tenant cap (the construct adds to the template for it: its dashboard's limit rows).
 */
export const DEMO_REWRITES = ['maxReceiveCount', 'heartbeatTimeoutSeconds', 'limitWakeUpSeconds'] as const;
export type DemoRewrite = (typeof DEMO_REWRITES)[number];

export function localStackConfig(options: LocalConfigOptions): StackConfig {
  const agentTimeoutSeconds = options.agentTimeoutSeconds ?? 10;
  const limits = { ...DEMO_AGENT_LIMITS, ...options.agentLimits };
  const events =
    options.events === false ? undefined : (options.events ?? { transitions: DEMO_EVENT_TRANSITIONS });
  const agents = Object.fromEntries(
    DEMO_AGENT_TYPES.map((type) => [
      type,
      // Async types stay async with `--agents-url` too: the agent under test plays the async side.
      isAsync(type)
        ? {
            kind: 'http' as const,
            url: `${options.agentsUrl}/${type}`,
            timeoutSeconds: Math.min(ASYNC_HANDOFF_TIMEOUT_SECONDS, agentTimeoutSeconds),
            mode: 'async' as const,
            heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds ?? LOCAL_HEARTBEAT_TIMEOUT_SECONDS,
            ...limits[type],
          }
        : {
            kind: 'http' as const,
            url: `${options.agentsUrl}/${type}`,
            timeoutSeconds:
              sleeps(type) && options.consumerTimeoutSeconds === undefined
                ? SLEEP_AGENT_TIMEOUT_SECONDS
                : agentTimeoutSeconds,
            ...limits[type],
          },
    ]),
  );
  return {
    echoAgent: false,
    agents,
    topics: { ...DEMO_TOPICS, ...options.topics },
    maxReceiveCount: options.maxReceiveCount ?? 5,
    backoffBaseSeconds: 1,
    backoffCapSeconds: 5,
    consumerTimeoutSeconds: options.consumerTimeoutSeconds ?? LOCAL_CONSUMER_TIMEOUT_SECONDS,
    logLevel: 'INFO',
    // Present, `events` turns publishing on (the publisher and its mapping on the table's stream), with no
    // subscription of the stack: subscribers come at run time (taskq events tail, a test's queue).
    ...(events && { events: { ...(events.transitions && { transitions: [...events.transitions] }) } }),
    ...(options.tenantMaxConcurrency !== undefined && { tenantMaxConcurrency: options.tenantMaxConcurrency }),
    ...(options.limitWakeUpSeconds !== undefined && { limitWakeUpSeconds: options.limitWakeUpSeconds }),
  };
}

/** lib/stack-config.ts `DEFAULT_CONFIG_FILE`, not imported: that module loads aws-cdk-lib, which takes seconds. */
export const DEFAULT_CONFIG_FILE = 'config/agents.json';

/**
 * The agents and topics of the app's configuration file, read as the app reads it (lib/stack-config.ts
 * `loadStackConfig`): the file of the `configFile` context, else config/agents.json, relative to the app's folder.
 * No file, no agents: the demo runs on its own. The app checks the file's contents when it synthesizes.
 */
export function configFileAgents(
  appDir: string,
  context: Readonly<Record<string, unknown>>,
): Pick<StackConfig, 'agents' | 'topics'> {
  const named = context.configFile;
  const file = path.resolve(appDir, typeof named === 'string' ? named : DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (typeof named === 'string') throw new Error(`config file ${file} does not exist`);
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const config = (typeof value === 'object' && value !== null ? value : {}) as StackConfig;
  return { ...(config.agents && { agents: config.agents }), ...(config.topics && { topics: config.topics }) };
}

/**
 * The demo configuration over the configuration file's: its agents and topics, with the demo's besides (a demo type
 * or topic of the same name replaces the file's), and everything else the demo's. The demo's `echoAgent: false`
 * makes its HTTP `echo` the only one.
 */
export function demoStackConfig(
  file: Pick<StackConfig, 'agents' | 'topics'>,
  demo: StackConfig,
): StackConfig {
  return {
    ...demo,
    agents: { ...file.agents, ...demo.agents },
    topics: { ...file.topics, ...demo.topics },
  };
}
