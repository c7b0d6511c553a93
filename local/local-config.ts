/** The stack configuration `npm start` synthesizes: the demo agents over HTTP, and retries within seconds. */
import type { StackConfig } from '../lib/stack-config';
import { DEMO_AGENT_TYPES } from './demo-agents';

export interface LocalConfigOptions {
  /** Base URL of the agent server; agent `t` is at `${agentsUrl}/t`. */
  readonly agentsUrl: string;
  /** @default 5 */
  readonly maxReceiveCount?: number;
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
        timeoutSeconds: type === 'sleep' ? SLEEP_AGENT_TIMEOUT_SECONDS : 10,
      },
    ]),
  );
  return {
    echoAgent: false,
    agents,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    backoffBaseSeconds: 1,
    backoffCapSeconds: 5,
    consumerTimeoutSeconds: LOCAL_CONSUMER_TIMEOUT_SECONDS,
    logLevel: 'INFO',
  };
}
