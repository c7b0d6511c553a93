import {
  type DestinationRecord,
  destinationCompletion,
  destinationTarget,
} from '../../../lambda/core/destination-record';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** The request the consumer sent the async Lambda agent, as Lambda copies it into the record. */
const requestPayload = {
  task_id: TASK_ID,
  type: 'summarise',
  payload: { doc: 'a' },
  attempt: 2,
  deadline: '2026-01-01T00:00:30.000Z',
  callback: { url: `https://api.example.com/tasks/${TASK_ID}`, token: 'the-token', heartbeat_seconds: 60 },
};

/** A record as Lambda sends it to a destination (shared/aws-behaviour.md §2). */
function record(fields: Partial<DestinationRecord>): DestinationRecord {
  return {
    requestContext: { condition: 'Success', approximateInvokeCount: 1 },
    requestPayload,
    responseContext: { statusCode: 200 },
    ...fields,
  };
}

function functionError(errorType: string, errorMessage = 'it broke'): DestinationRecord {
  return record({
    requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 1 },
    responseContext: { statusCode: 200, functionError: 'Unhandled' },
    responsePayload: { errorType, errorMessage, trace: [] },
  });
}

describe('Function: destinationTarget', () => {
  it("names the task and the attempt's token the request carried", () => {
    // Act
    const target = destinationTarget(record({ responsePayload: 1 }));

    // Assess
    expect(target).toEqual({ taskId: TASK_ID, token: 'the-token' });
  });

  it.each<[string, unknown]>([
    ['without a callback (a sync invoke)', { ...requestPayload, callback: undefined }],
    ['whose callback has no token', { ...requestPayload, callback: { url: 'u' } }],
    ['whose token is not a string', { ...requestPayload, callback: { token: 5 } }],
    ['without a task id', { ...requestPayload, task_id: undefined }],
    ['that is not an object', 'hello'],
  ])('is undefined for a request %s: not one of ours', (_name, payload) => {
    // Act
    const target = destinationTarget(record({ requestPayload: payload }));

    // Assess
    expect(target).toBeUndefined();
  });
});

describe('Function: destinationCompletion', () => {
  it("takes a success's response as the result", () => {
    // Act
    const completion = destinationCompletion(record({ responsePayload: { summary: 'short' } }));

    // Assess
    expect(completion).toEqual({ kind: 'result', result: { summary: 'short' } });
  });

  it('takes a success that returned null as the result null', () => {
    // Act
    const completion = destinationCompletion(record({ responsePayload: null }));

    // Assess
    expect(completion).toEqual({ kind: 'result', result: null });
  });

  it('fails a success without its response with ResultTooLarge, not retried: Lambda left it out', () => {
    // Act
    const completion = destinationCompletion(record({}));

    // Assess
    expect(completion).toMatchObject({ kind: 'error', error: { code: 'ResultTooLarge' }, retryable: false });
  });

  it('does not retry a function that threw PermanentError', () => {
    // Act
    const completion = destinationCompletion(functionError('PermanentError', 'bad input'));

    // Assess
    expect(completion).toEqual({
      kind: 'error',
      error: { code: 'PermanentError', message: 'bad input' },
      retryable: false,
    });
  });

  it.each(['Error', 'TypeError', 'Runtime.ExitError'])('retries a function that threw %s', (errorType) => {
    // Act
    const completion = destinationCompletion(functionError(errorType));

    // Assess
    expect(completion).toEqual({
      kind: 'error',
      error: { code: errorType, message: 'it broke' },
      retryable: true,
    });
  });

  it('records a function that ran out of its timeout (Sandbox.Timedout) as AgentTimeout, retried', () => {
    // Act
    const completion = destinationCompletion(
      functionError('Sandbox.Timedout', 'RequestId: r Error: Task timed out after 900.00 seconds'),
    );

    // Assess
    expect(completion).toMatchObject({ kind: 'error', error: { code: 'AgentTimeout' }, retryable: true });
  });

  it('records a function error without an error type as AgentFunctionError, retried', () => {
    // Act
    const completion = destinationCompletion(
      record({
        requestContext: { condition: 'RetriesExhausted' },
        responseContext: { statusCode: 200, functionError: 'Unhandled' },
      }),
    );

    // Assess
    expect(completion).toEqual({
      kind: 'error',
      error: { code: 'AgentFunctionError', message: 'Unhandled' },
      retryable: true,
    });
  });

  it.each(['EventAgeExceeded', 'ZeroReservedConcurrency'])(
    'records an event that never ran (%s) as AgentInvokeFailed, retried',
    (condition) => {
      // Act
      const completion = destinationCompletion({ requestContext: { condition }, requestPayload });

      // Assess
      expect(completion).toMatchObject({
        kind: 'error',
        error: { code: 'AgentInvokeFailed', message: expect.stringContaining(condition) },
        retryable: true,
      });
    },
  );
});
