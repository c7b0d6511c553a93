/** The stack configuration `npm start` synthesizes: the demo agents over HTTP, and retries within seconds. */
import type { StackConfig } from '../lib/stack-config';
import { DEMO_AGENT_TYPES } from './demo-agents';

export interface LocalConfigOptions {
  /** Base URL of the agent server; agent `t` is at `${agentsUrl}/t`. */
  readonly agentsUrl: string;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /** Consumer timeout; the chaos run shortens it so that a dead consumer's message returns within seconds. @default 75 */
  readonly consumerTimeoutSeconds?: number;
  /** Timeout of every agent but `sleep`. @default 10 */
  readonly agentTimeoutSeconds?: number;
}

/** Long enough for the longest demo `sleep` (60 s) plus its HTTP round trip. */
const SLEEP_AGENT_TIMEOUT_SECONDS = 65;
/** Must exceed every agent timeout (a synth-time rule of the construct). */
export const LOCAL_CONSUMER_TIMEOUT_SECONDS = 75;

export function localStackConfig(options: LocalConfigOptions): StackConfig {
  const agents = Object.fromEntries(
    DEMO_AGENT_TYPES.map((type) => [
      type,
      {
        kind: 'http' as const,
        url: `${options.agentsUrl}/${type}`,
        timeoutSeconds:
          type === 'sleep' && options.consumerTimeoutSeconds === undefined
            ? SLEEP_AGENT_TIMEOUT_SECONDS
            : (options.agentTimeoutSeconds ?? 10),
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
  };
}
