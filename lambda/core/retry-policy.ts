/**
 * How agent outcomes are classified and how long a transient failure waits before its retry.
 *
 * The agent adapter reports what it saw (an {@link AgentFailure}: "timed out", "status 503", "threw
 * PermanentError", "answer too large"); the rules that turn those facts into a code and a verdict live here.
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

/** The longest error message kept from an agent's answer, in code points. */
export const MAX_ERROR_CHARS = 1000;
/** The longest error code taken from an agent's answer (a Lambda agent's errorType), in code points. */
export const MAX_ERROR_CODE_CHARS = 128;

/**
 * What went wrong in one agent call, as the adapter saw it. Facts only: which code and whether to retry is
 * decided by {@link classifyAgentFailure}.
 */
export type AgentFailure =
  /**
   * No answer by the attempt's deadline (the consumer stopped waiting), or a Lambda agent that reported its own
   * function timeout. Either way the agent may still be at work.
   */
  | { readonly fact: 'timed-out'; readonly timeoutSeconds: number; readonly detail?: string }
  /** The connection failed or broke off before the whole answer arrived. */
  | { readonly fact: 'unreachable'; readonly detail: string }
  /** An HTTP agent answered with a status other than 2xx; `text` is the start of its body. */
  | { readonly fact: 'http-status'; readonly status: number; readonly text: string }
  /** A Lambda agent's function threw (or the runtime reported an error). */
  | { readonly fact: 'function-error'; readonly errorType?: string; readonly errorMessage: string }
  /** The Lambda Invoke call itself failed (throttled, service error, permissions). */
  | { readonly fact: 'invoke-failed'; readonly detail: string }
  /** The answer was longer than the consumer reads: `limitBytes`, which is over maxResultBytes. */
  | { readonly fact: 'answer-too-large'; readonly limitBytes: number }
  /** The HTTP agent's auth secret could not be read; the agent was not called. */
  | { readonly fact: 'secret-unavailable'; readonly detail: string };

/** Cuts `text` to {@link MAX_ERROR_CHARS} code points, never between the halves of a surrogate pair. */
export function boundedErrorText(text: string): string {
  if (text.length <= MAX_ERROR_CHARS) return text;
  return Array.from(text.slice(0, MAX_ERROR_CHARS * 2))
    .slice(0, MAX_ERROR_CHARS)
    .join('');
}

/**
 * The outcome of a failed agent call. A time-out is transient, and is `AgentTimeout` whichever side noticed it
 * (the consumer's deadline or Lambda's own function timeout), so that {@link retryDelaySeconds} gives both the
 * same wait. An answer too large to read is permanent: the same agent would answer the same again.
 */
export function classifyAgentFailure(failure: AgentFailure): AgentOutcome {
  const error = (code: string, message: string): TaskError => ({ code, message: boundedErrorText(message) });
  switch (failure.fact) {
    case 'timed-out':
      return {
        kind: 'transient',
        error: error(
          'AgentTimeout',
          failure.detail === undefined
            ? `the agent did not answer within ${failure.timeoutSeconds} s`
            : `the agent timed out: ${failure.detail}`,
        ),
      };
    case 'unreachable':
      return {
        kind: 'transient',
        error: error('AgentUnreachable', `the agent could not be reached: ${failure.detail}`),
      };
    case 'http-status': {
      const verdict = classifyHttpStatus(failure.status);
      return {
        kind: verdict === 'permanent' ? 'permanent' : 'transient',
        error: error(
          `AgentHttp${failure.status}`,
          `the agent answered ${failure.status}${failure.text ? `: ${failure.text}` : ''}`,
        ),
      };
    }
    case 'function-error':
      return {
        kind: classifyLambdaError(failure.errorType),
        // The code comes from the agent too: bounded like any text read from its answer.
        error: error(
          Array.from(failure.errorType ?? 'AgentFunctionError')
            .slice(0, MAX_ERROR_CODE_CHARS)
            .join(''),
          failure.errorMessage,
        ),
      };
    case 'invoke-failed':
      return { kind: 'transient', error: error('AgentInvokeFailed', failure.detail) };
    case 'answer-too-large':
      return {
        kind: 'permanent',
        error: error(
          'ResultTooLarge',
          `the agent's answer is over ${failure.limitBytes} bytes; the consumer stopped reading it there`,
        ),
      };
    case 'secret-unavailable':
      return {
        kind: 'transient',
        error: error(
          'AgentSecretUnavailable',
          `the agent's auth secret could not be read: ${failure.detail}`,
        ),
      };
  }
}

/**
 * Room between `maxResultBytes` and the most bytes of an answer the consumer reads. The stored result is the
 * answer's JSON without insignificant whitespace, so an answer may be somewhat longer than the result it
 * gives; an answer over the limit fails with `ResultTooLarge` without being read to its end.
 */
export const ANSWER_MARGIN_BYTES = 65_536;

/** The most bytes of an agent's answer the consumer reads before it gives up with `ResultTooLarge`. */
export function answerByteLimit(maxResultBytes: number): number {
  return maxResultBytes + ANSWER_MARGIN_BYTES;
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
 * How long a transiently failed task waits before its next attempt: the jittered backoff, and after an
 * `AgentTimeout` one whole agent timeout on top of it.
 *
 * The consumer cannot stop an agent that keeps working after its deadline. The wait starts when the consumer
 * gives up (at the deadline), so the next attempt starts at least one agent timeout after the deadline: an
 * agent that finishes up to one timeout late is done before its task is tried again. On top of, not instead
 * of, the backoff: time-outs often come in bursts from an overloaded agent, and the jitter keeps their
 * retries spread. The result stays within SQS's 12-hour visibility limit.
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
  if (error.code !== 'AgentTimeout') return backoff;
  return Math.min(Math.ceil(agentTimeoutSeconds) + backoff, MAX_VISIBILITY_SECONDS);
}

/**
 * Whether this failed delivery was the last one SQS will make before it redrives the message to the DLQ.
 * SQS moves a message once its receive count exceeds maxReceiveCount, so the delivery with
 * receiveCount === maxReceiveCount is the last.
 */
export function isLastDelivery(receiveCount: number, maxReceiveCount: number): boolean {
  return receiveCount >= maxReceiveCount;
}
