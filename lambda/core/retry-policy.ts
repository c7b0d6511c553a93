/**
 * How long a transiently failed task waits before its retry, and which delivery is its last.
 *
 * Whether a failure is transient, and its code, is decided in agent-outcome.ts; what an agent time-out adds to
 * the wait, in agent-timeout.ts.
 */
import { lateAnswerAllowanceSeconds } from './agent-timeout';
import { TaskErrorCode } from './error-codes';
import type { TaskError } from './task';

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay. */
  readonly baseSeconds: number;
  /** No delay exceeds this. */
  readonly capSeconds: number;
}

/**
 * How much earlier than the end of its wait a retry is recorded as due (`retry_at`). The message's own return
 * after its visibility timeout is timed by SQS, and the claim's `now` by the consumer that receives it: a
 * consumer whose clock is behind by up to this much still claims the task, instead of putting it back. The
 * price is that a duplicate copy may start the retry this much early by the consumers' clocks.
 */
export const RETRY_CLOCK_SKEW_MS = 1_000;

/** The largest `maxReceiveCount` of an SQS redrive policy. */
export const MAX_RECEIVE_COUNT_LIMIT = 1000;

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
 * How long a transiently failed task waits before its next attempt: the jittered backoff, and after an
 * `AgentTimeout` the agent's late-answer allowance on top of it (agent-timeout.ts), within SQS's 12-hour
 * visibility limit.
 *
 * @param attempt the attempt that just failed, from 1
 * @param agentTimeoutSeconds the timeout of the task's agent
 */
export function retryDelaySeconds(
  attempt: number,
  error: TaskError,
  policy: BackoffPolicy,
  agentTimeoutSeconds: number,
  random: () => number = Math.random,
): number {
  const backoff = backoffSeconds(attempt, policy, random);
  if (error.code !== TaskErrorCode.AgentTimeout) return backoff;
  return Math.min(lateAnswerAllowanceSeconds(agentTimeoutSeconds) + backoff, MAX_VISIBILITY_SECONDS);
}

/**
 * Whether this failed delivery was the last one SQS will make before it redrives the message to the DLQ.
 * SQS moves a message once its receive count exceeds maxReceiveCount, so the delivery with
 * receiveCount === maxReceiveCount is the last.
 */
export function isLastDelivery(receiveCount: number, maxReceiveCount: number): boolean {
  return receiveCount >= maxReceiveCount;
}

/**
 * Whether a failed attempt is the task's last: its delivery is the last SQS makes (`isLastDelivery`), or the task
 * has had `maxReceiveCount` attempts since it was enqueued or last redriven. The second bound is the one that
 * holds for a task that waited for a limit: a waiting task's message is re-sent, which starts SQS's receive count
 * afresh (limits.ts), so the record's count of attempts is what ends its retries. Attempts are claims, and every
 * claim is a receive, so without re-sends the first bound always comes first.
 *
 * @param attempt the attempt that failed, from 1
 * @param attemptsBase the record's attempts when it was last redriven (0 if never)
 */
export function isLastAttempt(
  at: { readonly attempt: number; readonly attemptsBase?: number; readonly receiveCount: number },
  maxReceiveCount: number,
): boolean {
  return (
    isLastDelivery(at.receiveCount, maxReceiveCount) || at.attempt - (at.attemptsBase ?? 0) >= maxReceiveCount
  );
}
