/**
 * The completion of an async Lambda agent of the app: Lambda sends the invocation record to the completion
 * function (the agent's on-success and on-failure destination), so that the agent needs no callback code. The
 * record's request payload is the consumer's request, whose callback token authenticates the completion
 * exactly as on the callback routes.
 * @see ../shared/aws-behaviour.md §2 for the record's shape.
 */
import { classifyAgentFailure } from './agent-outcome';
import type { Completion } from './async-callbacks';
import { TaskErrorCode } from './error-codes';
import { isJsonObject } from './json-text';

/** The fields of a Lambda destination record this reads. */
export interface DestinationRecord {
  readonly requestContext?: { readonly condition?: string; readonly approximateInvokeCount?: number };
  readonly requestPayload?: unknown;
  readonly responseContext?: { readonly statusCode?: number; readonly functionError?: string };
  readonly responsePayload?: unknown;
}

/** The task and token the record's request carried, or undefined for a record that is not one of ours. */
export function destinationTarget(record: DestinationRecord): { taskId: string; token: string } | undefined {
  const request = record.requestPayload;
  if (!isJsonObject(request) || typeof request.task_id !== 'string' || !isJsonObject(request.callback))
    return undefined;
  const token = request.callback.token;
  return typeof token === 'string' ? { taskId: request.task_id, token } : undefined;
}

/**
 * What the record says of the attempt:
 * - success: the function's return value is the result. Lambda leaves the response out of a record too large for
 *   its destination, so a success without one is `ResultTooLarge` rather than a silent time-out;
 * - a function error: classified as a synchronous Lambda agent's (agent-outcome.ts);
 * - the event never ran (too old, or no concurrency): `AgentInvokeFailed`, retried.
 */
export function destinationCompletion(record: DestinationRecord): Completion {
  const condition = record.requestContext?.condition;
  if (condition === 'Success') {
    if (!('responsePayload' in record)) {
      return {
        kind: 'error',
        error: {
          code: TaskErrorCode.ResultTooLarge,
          message: "the agent's result was too large for its invocation record; Lambda left it out",
        },
        retryable: false,
      };
    }
    return { kind: 'result', result: record.responsePayload ?? null };
  }
  const functionError = record.responseContext?.functionError;
  if (functionError !== undefined) {
    const payload = isJsonObject(record.responsePayload) ? record.responsePayload : {};
    const errorType = typeof payload.errorType === 'string' ? payload.errorType : undefined;
    const errorMessage = typeof payload.errorMessage === 'string' ? payload.errorMessage : functionError;
    const outcome = classifyAgentFailure({
      fact: 'function-error',
      ...(errorType !== undefined && { errorType }),
      errorMessage,
    });
    return { kind: 'error', error: outcome.error, retryable: outcome.kind === 'transient' };
  }
  const outcome = classifyAgentFailure({
    fact: 'invoke-failed',
    detail: `Lambda did not run the event (${condition ?? 'no condition'})`,
  });
  return { kind: 'error', error: outcome.error, retryable: outcome.kind === 'transient' };
}
