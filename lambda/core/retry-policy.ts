/**
 * How agent outcomes are classified and how long a transient failure waits before its retry.
 */
import type { TaskError } from './task';

export type AgentOutcome =
  | { readonly kind: 'success'; readonly result: unknown }
  | { readonly kind: 'transient'; readonly error: TaskError }
  | { readonly kind: 'permanent'; readonly error: TaskError };

/**
 * HTTP agents: 2xx succeeds; 4xx is permanent except 408 (timeout) and 429 (throttled);
 * 5xx and anything else is transient, so that nothing is given up on by mistake.
 */
export function classifyHttpStatus(status: number): 'success' | 'transient' | 'permanent' {
  if (status >= 200 && status < 300) return 'success';
  if (status === 408 || status === 429) return 'transient';
  if (status >= 400 && status < 500) return 'permanent';
  return 'transient';
}

/** Lambda agents: a function error is transient unless the function threw an error named `PermanentError`. */
export function classifyLambdaError(errorType: string | undefined): 'transient' | 'permanent' {
  return errorType === 'PermanentError' ? 'permanent' : 'transient';
}

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay. */
  readonly baseSeconds: number;
  /** No delay exceeds this. */
  readonly capSeconds: number;
}

/** SQS caps a message's visibility timeout at 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(cap, base · 2^(attempt-1))].
 * Full jitter spreads retries of a burst of failures instead of synchronising them.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 *
 * @param attempt the attempt that just failed, from 1
 * @param random a source of uniform numbers in [0, 1)
 */
export function backoffSeconds(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** exponent, MAX_VISIBILITY_SECONDS);
  return Math.floor(random() * (ceiling + 1));
}

/**
 * Whether this failed delivery was the last one SQS will make before it redrives the message to the DLQ.
 * SQS moves a message once its receive count exceeds maxReceiveCount, so the delivery with
 * receiveCount === maxReceiveCount is the last.
 */
export function isLastDelivery(receiveCount: number, maxReceiveCount: number): boolean {
  return receiveCount >= maxReceiveCount;
}
