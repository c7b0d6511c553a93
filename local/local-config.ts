/** The stack configuration `npm start` synthesizes: the demo agents over HTTP, and retries within seconds. */
import type { AgentConfig, StackConfig } from '../lib/stack-config';
import { ASYNC_DEMO_AGENT_TYPES, DEMO_AGENT_TYPES, type DemoAgentType } from './demo-agents';

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
}

/**
 * The limits of the demo types, whoever serves them: with `--agents-url` they stay in force, so that an agent under
 * test can count the calls it receives at once. `rateLimit.per` is in seconds, as in the configuration file.
 */
export const DEMO_AGENT_LIMITS: Readonly<
  Partial<Record<DemoAgentType, Pick<AgentConfig, 'maxConcurrency' | 'rateLimit'>>>
> = {
  limited: { maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } },
};

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

export function localStackConfig(options: LocalConfigOptions): StackConfig {
  const agentTimeoutSeconds = options.agentTimeoutSeconds ?? 10;
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
          }
        : {
            kind: 'http' as const,
            url: `${options.agentsUrl}/${type}`,
            timeoutSeconds:
              sleeps(type) && options.consumerTimeoutSeconds === undefined
                ? SLEEP_AGENT_TIMEOUT_SECONDS
                : agentTimeoutSeconds,
            ...DEMO_AGENT_LIMITS[type],
          },
    ]),
  );
  return {
    echoAgent: false,
    agents,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    backoffBaseSeconds: 1,
    backoffCapSeconds: 5,
    consumerTimeoutSeconds: options.consumerTimeoutSeconds ?? LOCAL_CONSUMER_TIMEOUT_SECONDS,
    logLevel: 'INFO',
    ...(options.tenantMaxConcurrency !== undefined && { tenantMaxConcurrency: options.tenantMaxConcurrency }),
    ...(options.limitWakeUpSeconds !== undefined && { limitWakeUpSeconds: options.limitWakeUpSeconds }),
  };
}
