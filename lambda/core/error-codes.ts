/**
 * Every error code the system writes, in two catalogues:
 *
 * - {@link TASK_ERROR_CODES}: what a task's `error.code` (GET /tasks/{id}) or a DLQ copy's `error_code`
 *   attribute can say, what it means, and whether the consumer tries the task again. The table for
 *   operators (docs/operating.md, "Task error codes") is checked against it by test/unit/core/error-codes.test.ts.
 * - {@link API_ERROR_CODES}: the `error.code` of an HTTP API error response, with its status.
 *
 * Code refers to a code by its constant (`TaskErrorCode.AgentTimeout`, `ApiErrorCode.NotFound`), never by a
 * string literal, so that a code the catalogue does not list cannot be written.
 */

/** What an operator needs to know about one task error code (or one family of codes). */
export interface TaskErrorCodeInfo {
  /**
   * Whether the consumer tries the task again, with backoff, until `maxReceiveCount` deliveries (a code that
   * is not retried ends the task at once, and its message is in the DLQ). For a family, the rule.
   */
  readonly retried: boolean | string;
  /** What happened, in the words of docs/operating.md (Markdown). */
  readonly meaning: string;
}

/**
 * The task error codes. A key with `<…>` in it is a family: the code is built from what the agent said
 * ({@link agentHttpCode}, and a Lambda agent's own `errorType`, see agent-outcome.ts).
 */
export const TASK_ERROR_CODES = {
  AgentTimeout: {
    retried: true,
    meaning:
      "The agent did not answer by the attempt's `deadline` (its `timeout`), or a Lambda agent ran out of its own function timeout. The next attempt waits one more agent timeout on top of the backoff.",
  },
  HeartbeatTimeout: {
    retried: true,
    meaning:
      "An async agent sent no heartbeat or completion within its `heartbeatTimeout` (its attempt's `deadline`): the attempt counts as lost.",
  },
  AgentRunTimeExceeded: {
    retried: true,
    meaning: "An async agent's attempt reached its `maxRunTime` without a completion.",
  },
  AgentUnreachable: {
    retried: true,
    meaning: 'The connection to an HTTP agent failed, or broke off before the whole answer arrived.',
  },
  'AgentHttp<status>': {
    retried: 'yes, except a 4xx other than 408 and 429',
    meaning:
      "An HTTP agent answered with a status other than 2xx (`AgentHttp503`); the message starts with the answer's body.",
  },
  AgentSecretUnavailable: {
    retried: true,
    meaning: "The HTTP agent's auth secret could not be read from Secrets Manager; the agent was not called.",
  },
  AgentInvokeFailed: {
    retried: true,
    meaning: 'The Lambda `Invoke` call failed (throttled, a service error, a missing permission).',
  },
  PayloadUnavailable: {
    retried: true,
    meaning:
      "The task's payload, kept in the task bucket because it was large (`payload_object`), could not be read; the agent was not called.",
  },
  '<errorType>': {
    retried: 'yes, unless it is `PermanentError`',
    meaning:
      "A Lambda agent's function threw: the code is its `errorType` (`TypeError`, `Runtime.ExitError`, …), cut to 128 characters.",
  },
  '<code>': {
    retried: 'as the completion says (`retryable`)',
    meaning:
      'An async agent completed with `{ "error": { "code", "message", "retryable" } }`: its code, cut to 128 characters.',
  },
  Cancelled: {
    retried: false,
    meaning:
      'A running async task was cancelled (`DELETE /tasks/{id}`) and its agent stopped, or its attempt was lost after the request. The task is CANCELLED.',
  },
  PermanentError: {
    retried: false,
    meaning: 'A Lambda agent threw an error named `PermanentError`: it says that trying again cannot help.',
  },
  AgentFunctionError: {
    retried: true,
    meaning: "A Lambda agent's function failed without an `errorType`.",
  },
  ResultTooLarge: {
    retried: false,
    meaning:
      "The agent's result is over `maxResultBytes`, or its answer over `maxResultBytes` + 64 KiB (not read to its end).",
  },
  UnknownTaskType: {
    retried: false,
    meaning:
      "The consumer has no agent for the task's `type` (the type was removed after the task was accepted).",
  },
  MalformedMessage: {
    retried: false,
    meaning: 'A message on the queue is not a task envelope. DLQ copy only: there is no task to fail.',
  },
  UnsupportedEnvelope: {
    retried: false,
    meaning:
      "The envelope's `schema_version` is newer than the consumer's. DLQ copy only; redrive it once the consumer is upgraded.",
  },
  TaskFailed: {
    retried: false,
    meaning: 'A copy of a message whose task had already failed with no error recorded. DLQ copy only.',
  },
  DeadLettered: {
    retried: false,
    meaning:
      "Written by the dead-letter sweep (or `taskq dlq purge`): the task's message reached its DLQ while the task was not finished, with no error attached by a consumer (it died on the last delivery, say).",
  },
} as const satisfies Record<string, TaskErrorCodeInfo>;

type TaskErrorFamily = Extract<keyof typeof TASK_ERROR_CODES, `${string}<${string}>${string}`>;

/** A task error code written as it is (not a family). */
export type TaskErrorCode = Exclude<keyof typeof TASK_ERROR_CODES, TaskErrorFamily>;

/** Whether a catalogue key names a family of codes rather than one code. */
export function isTaskErrorFamily(key: string): boolean {
  return /<.+>/.test(key);
}

/** The task error codes by name: `TaskErrorCode.AgentTimeout === 'AgentTimeout'`. */
export const TaskErrorCode = Object.fromEntries(
  Object.keys(TASK_ERROR_CODES)
    .filter((key) => !isTaskErrorFamily(key))
    .map((key) => [key, key]),
) as { readonly [C in TaskErrorCode]: C };

/** The code of an HTTP agent's answer with a status other than 2xx: the `AgentHttp<status>` family. */
export function agentHttpCode(status: number): `AgentHttp${number}` {
  return `AgentHttp${status}`;
}

/** What an API client needs to know about one error code of the HTTP API. */
export interface ApiErrorCodeInfo {
  /** The HTTP status of every response with this code. */
  readonly status: number;
  readonly meaning: string;
}

/** The error codes of the HTTP API (`{ "error": { "code", "message" } }`), each with its one status. */
export const API_ERROR_CODES = {
  InvalidJson: { status: 400, meaning: 'the body is not JSON (or not UTF-8)' },
  ValidationError: { status: 400, meaning: 'the body, a header or the task id breaks the contract' },
  UnknownTaskType: { status: 400, meaning: 'no agent is registered for `type`' },
  NotFound: { status: 404, meaning: 'no task has this id' },
  MethodNotAllowed: { status: 405, meaning: 'the method is not supported on this path' },
  IdempotencyConflict: { status: 409, meaning: 'the key was used before with a different body' },
  NotCancellable: { status: 409, meaning: 'the task is finished, or running on a sync agent' },
  Unauthorized: {
    status: 401,
    meaning: 'a callback route without a bearer token, or with one no attempt of this task was given',
  },
  AttemptNotCurrent: {
    status: 409,
    meaning:
      'a callback with the token of an attempt that is over: its deadline passed, a newer attempt started, or the task ended',
  },
  CompletionConflict: {
    status: 409,
    meaning: 'a completion that differs from the one that already settled this attempt',
  },
  PayloadTooLarge: {
    status: 413,
    meaning: 'the body is over the limit, or its queue message would not fit in SQS',
  },
  UnsupportedMediaType: { status: 415, meaning: 'the content type is not JSON' },
  InternalError: { status: 500, meaning: 'a bug; the response reveals nothing' },
  ServiceUnavailable: {
    status: 503,
    meaning: 'SQS or DynamoDB failed; retry with the same idempotency key',
  },
} as const satisfies Record<string, ApiErrorCodeInfo>;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** The API error codes by name: `ApiErrorCode.NotFound === 'NotFound'`. */
export const ApiErrorCode = Object.fromEntries(Object.keys(API_ERROR_CODES).map((key) => [key, key])) as {
  readonly [C in ApiErrorCode]: C;
};
