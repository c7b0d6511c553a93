/**
 * What happens when an agent times out, in one place.
 *
 * 1. **The deadline.** Each attempt's call has a deadline: its start plus the agent's timeout
 *    ({@link attemptDeadline}). The agent is told it (`deadline` in the request); the adapter stops waiting at
 *    it ({@link millisecondsToDeadline}).
 * 2. **Either side may notice.** The consumer's deadline passes, or a Lambda agent reports that it ran out of
 *    its own function timeout ({@link isLambdaTimeoutReport}). Both are `AgentTimeout`, a transient failure
 *    (agent-outcome.ts), so that both get the same wait.
 * 3. **The wait.** The consumer cannot stop an agent that keeps working after its deadline, so the next attempt
 *    waits {@link lateAnswerAllowanceSeconds} on top of the backoff (retry-policy.ts `retryDelaySeconds`).
 * 4. **Room for it, checked at synth** (lib/task-queue.ts): the consumer must outlive the deadline to record the
 *    time-out, so an agent timeout is at most {@link maxAgentTimeoutSeconds} of the consumer timeout; and a Lambda
 *    agent built in the app must stop by its deadline ({@link functionTimeoutFits}), or it would overlap the
 *    next attempt.
 */

/** When the answer of an attempt started at `start` stops counting (ISO 8601, UTC). */
export function attemptDeadline(start: Date, agentTimeoutSeconds: number): string {
  return new Date(start.getTime() + agentTimeoutSeconds * 1000).toISOString();
}

/** How long the adapter still waits for an answer due by `deadline`: 0 once it has passed. */
export function millisecondsToDeadline(deadline: string, nowMs: number): number {
  return Math.max(0, Date.parse(deadline) - nowMs);
}

/**
 * Whether a Lambda function error is Lambda's report that the function ran out of time: `Sandbox.Timedout`
 * with "Task timed out after N.NN seconds", or, in older reports, that message with no errorType (both shapes
 * are in LocalStack's recordings of AWS, test_lambda_invoke_with_timeout and
 * test_lambda_invoke_timed_out_environment_reuse).
 * https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html
 */
export function isLambdaTimeoutReport(errorType: string | undefined, errorMessage: string): boolean {
  return errorType === 'Sandbox.Timedout' || /\bTask timed out after [\d.]+ seconds\b/.test(errorMessage);
}

/**
 * How long an agent that missed its deadline is given to finish before its task is tried again: one whole
 * agent timeout. The wait starts when the consumer gives up (at the deadline), so an agent that finishes up to
 * one timeout late is done before the next attempt. It comes on top of, not instead of, the backoff:
 * time-outs often come in bursts from an overloaded agent, and the jitter keeps their retries spread.
 */
export function lateAnswerAllowanceSeconds(agentTimeoutSeconds: number): number {
  return Math.ceil(agentTimeoutSeconds);
}

/**
 * Time a consumer needs besides the agent call: the claim, SDK retries of throttled writes, a cold read of an
 * agent's secret, and the completion write (or the DLQ copy and the FAILED write). At least 5 s, and 10 % of
 * the consumer timeout (rounded up) for longer ones.
 */
export function consumerMarginSeconds(consumerTimeoutSeconds: number): number {
  return Math.max(5, Math.ceil(consumerTimeoutSeconds / 10));
}

/** The longest agent timeout that a consumer timeout leaves its margin for. */
export function maxAgentTimeoutSeconds(consumerTimeoutSeconds: number): number {
  return consumerTimeoutSeconds - consumerMarginSeconds(consumerTimeoutSeconds);
}

/**
 * Whether a Lambda agent's own function timeout lets it stop by its deadline: the consumer stops waiting at
 * the agent timeout, and a function still running after it would overlap the next attempt.
 */
export function functionTimeoutFits(functionTimeoutSeconds: number, agentTimeoutSeconds: number): boolean {
  return functionTimeoutSeconds <= agentTimeoutSeconds;
}
