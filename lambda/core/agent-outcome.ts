/**
 * How the outcome of an agent call is classified: facts in, a verdict out.
 *
 * The agent adapter reports what it saw (an {@link AgentFailure}: "timed out", "status 503", "threw
 * PermanentError", "answer too large"); {@link classifyAgentFailure} turns those facts into a task error code
 * (error-codes.ts) and a kind: `transient` (retried with backoff, retry-policy.ts) or `permanent` (the task
 * fails at once and its message is copied to the DLQ). For a code written as it is, the kind is the
 * catalogue's `retried`; the two families have their rules here ({@link classifyHttpStatus},
 * {@link classifyLambdaError}).
 */
import { isLambdaTimeoutReport } from './agent-timeout';
import { agentHttpCode, TASK_ERROR_CODES, TaskErrorCode } from './error-codes';
import type { TaskError } from './task';

export type AgentOutcome =
  | { readonly kind: 'success'; readonly result: unknown }
  /** An async agent took the task over; it reports back through the callback routes. */
  | { readonly kind: 'accepted' }
  | { readonly kind: 'transient'; readonly error: TaskError }
  | { readonly kind: 'permanent'; readonly error: TaskError };

/** The outcome of a call that failed: transient (retried with backoff) or permanent. */
export type FailedOutcome = Exclude<AgentOutcome, { readonly kind: 'success' | 'accepted' }>;

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
  return errorType === TaskErrorCode.PermanentError ? 'permanent' : 'transient';
}

/**
 * The limits of error text, in code points: the one home of them. A task's error message (stored on its
 * record) is cut to {@link MAX_ERROR_CHARS}. A DLQ copy's `error_message` attribute is cut to
 * {@link MAX_DEAD_LETTER_ERROR_CHARS} (queue-message.ts), a little more: characters SQS refuses become 6-character
 * `\uXXXX` escapes there, and the sweep stores that attribute as the task's error (record-size.ts bounds both).
 * An error code, on the record and in the DLQ copy, is cut to {@link MAX_ERROR_CODE_CHARS}.
 */
export const MAX_ERROR_CHARS = 1000;
/** The longest `error_message` attribute of a DLQ copy, in code points (see {@link MAX_ERROR_CHARS}). */
export const MAX_DEAD_LETTER_ERROR_CHARS = 1024;
/** The longest error code taken from an agent's answer (a Lambda agent's errorType), in code points. */
export const MAX_ERROR_CODE_CHARS = 128;

/**
 * What went wrong in one agent call, as the adapter (or, for the last two, the consumer) saw it. Facts only:
 * which code and whether to retry is decided by {@link classifyAgentFailure}.
 */
export type AgentFailure =
  /** No answer by the attempt's deadline: the consumer stopped waiting. The agent may still be at work. */
  | { readonly fact: 'timed-out'; readonly timeoutSeconds: number }
  /** The connection failed or broke off before the whole answer arrived. */
  | { readonly fact: 'unreachable'; readonly detail: string }
  /** An HTTP agent answered with a status other than 2xx; `text` is the start of its body. */
  | { readonly fact: 'http-status'; readonly status: number; readonly text: string }
  /**
   * A Lambda agent's function threw, or the runtime reported an error (its own time-out among them: see
   * agent-timeout.ts `isLambdaTimeoutReport`).
   */
  | { readonly fact: 'function-error'; readonly errorType?: string; readonly errorMessage: string }
  /** The Lambda Invoke call itself failed (throttled, service error, permissions). */
  | { readonly fact: 'invoke-failed'; readonly detail: string }
  /** The answer was longer than the consumer reads: `limitBytes`, which is over maxResultBytes. */
  | { readonly fact: 'answer-too-large'; readonly limitBytes: number }
  /** The HTTP agent's auth secret could not be read; the agent was not called. */
  | { readonly fact: 'secret-unavailable'; readonly detail: string }
  /** The answer was read, but its result is over `maxResultBytes` once stored. */
  | { readonly fact: 'result-too-large'; readonly bytes: number; readonly limitBytes: number }
  /** No agent is configured for the task's type; nothing was called. */
  | { readonly fact: 'no-agent'; readonly type: string };

/** Cuts `text` to {@link MAX_ERROR_CHARS} code points, never between the halves of a surrogate pair. */
export function boundedErrorText(text: string): string {
  if (text.length <= MAX_ERROR_CHARS) return text;
  return Array.from(text.slice(0, MAX_ERROR_CHARS * 2))
    .slice(0, MAX_ERROR_CHARS)
    .join('');
}

/**
 * The code of a Lambda agent's function error (the `<errorType>` family): its errorType, bounded like any
 * text read from its answer, or `AgentFunctionError` when it gave none.
 */
function lambdaErrorCode(errorType: string | undefined): string {
  return Array.from(errorType ?? TaskErrorCode.AgentFunctionError)
    .slice(0, MAX_ERROR_CODE_CHARS)
    .join('');
}

/** The outcome of a code written as it is: transient or permanent as the catalogue says. */
function catalogued(code: TaskErrorCode, message: string): FailedOutcome {
  return {
    kind: TASK_ERROR_CODES[code].retried ? 'transient' : 'permanent',
    error: { code, message: boundedErrorText(message) },
  };
}

/**
 * The outcome of a failed agent call. A time-out is `AgentTimeout` whichever side noticed it (the consumer's
 * deadline or Lambda's own function timeout), so that retryDelaySeconds gives both the same wait. An answer
 * too large to read is permanent: the same agent would answer the same again.
 */
export function classifyAgentFailure(failure: AgentFailure): FailedOutcome {
  switch (failure.fact) {
    case 'timed-out':
      return catalogued(
        TaskErrorCode.AgentTimeout,
        `the agent did not answer within ${failure.timeoutSeconds} s`,
      );
    case 'unreachable':
      return catalogued(TaskErrorCode.AgentUnreachable, `the agent could not be reached: ${failure.detail}`);
    case 'http-status': {
      const verdict = classifyHttpStatus(failure.status);
      return {
        kind: verdict === 'permanent' ? 'permanent' : 'transient',
        error: {
          code: agentHttpCode(failure.status),
          message: boundedErrorText(
            `the agent answered ${failure.status}${failure.text ? `: ${failure.text}` : ''}`,
          ),
        },
      };
    }
    case 'function-error':
      if (isLambdaTimeoutReport(failure.errorType, failure.errorMessage)) {
        return catalogued(TaskErrorCode.AgentTimeout, `the agent timed out: ${failure.errorMessage}`);
      }
      return {
        kind: classifyLambdaError(failure.errorType),
        error: { code: lambdaErrorCode(failure.errorType), message: boundedErrorText(failure.errorMessage) },
      };
    case 'invoke-failed':
      return catalogued(TaskErrorCode.AgentInvokeFailed, failure.detail);
    case 'answer-too-large':
      return catalogued(
        TaskErrorCode.ResultTooLarge,
        `the agent's answer is over ${failure.limitBytes} bytes; the consumer stopped reading it there`,
      );
    case 'secret-unavailable':
      return catalogued(
        TaskErrorCode.AgentSecretUnavailable,
        `the agent's auth secret could not be read: ${failure.detail}`,
      );
    case 'result-too-large':
      return catalogued(
        TaskErrorCode.ResultTooLarge,
        `the agent's result is ${failure.bytes} bytes; the limit is ${failure.limitBytes} bytes`,
      );
    case 'no-agent':
      return catalogued(
        TaskErrorCode.UnknownTaskType,
        `no agent is configured for task type '${failure.type}'`,
      );
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
