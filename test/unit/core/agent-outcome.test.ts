import {
  ANSWER_MARGIN_BYTES,
  answerByteLimit,
  boundedErrorText,
  classifyAgentFailure,
  classifyHttpStatus,
  classifyLambdaError,
  MAX_ERROR_CHARS,
  MAX_ERROR_CODE_CHARS,
} from '../../../lambda/core/agent-outcome';

describe('Function: classifyHttpStatus', () => {
  it.each([200, 201, 202, 204, 299])('classifies %i as success', (status) => {
    // Act
    const verdict = classifyHttpStatus(status);

    // Assess
    expect(verdict).toBe('success');
  });

  it.each([400, 401, 403, 404, 409, 413, 422, 499])('classifies %i as permanent', (status) => {
    // Act
    const verdict = classifyHttpStatus(status);

    // Assess
    expect(verdict).toBe('permanent');
  });

  it.each([408, 429, 500, 502, 503, 504, 599])('classifies %i as transient', (status) => {
    // Act
    const verdict = classifyHttpStatus(status);

    // Assess
    expect(verdict).toBe('transient');
  });

  it.each([100, 199, 301, 304])(
    'classifies the unexpected status %i as transient, so nothing is given up by mistake',
    (status) => {
      // Act
      const verdict = classifyHttpStatus(status);

      // Assess
      expect(verdict).toBe('transient');
    },
  );
});

describe('Function: classifyLambdaError', () => {
  it('classifies a PermanentError as permanent', () => {
    // Act
    const verdict = classifyLambdaError('PermanentError');

    // Assess
    expect(verdict).toBe('permanent');
  });

  it.each(['Error', 'TypeError', 'Runtime.ExitError', 'permanenterror', undefined])(
    'classifies the error type %s as transient',
    (errorType) => {
      // Act
      const verdict = classifyLambdaError(errorType);

      // Assess
      expect(verdict).toBe('transient');
    },
  );
});

describe('Function: classifyAgentFailure', () => {
  it('reports a deadline the consumer gave up at as a transient AgentTimeout', () => {
    // Act
    const outcome = classifyAgentFailure({ fact: 'timed-out', timeoutSeconds: 60 });

    // Assess
    expect(outcome).toEqual({
      kind: 'transient',
      error: { code: 'AgentTimeout', message: 'the agent did not answer within 60 s' },
    });
  });

  it.each([
    ['Sandbox.Timedout', 'RequestId: 1 Error: Task timed out after 60.00 seconds'],
    [undefined, 'RequestId: 1 Error: Task timed out after 60.00 seconds'],
  ])(
    "reports a Lambda function's own time-out (%s) with the same code, so that it gets the same retry rule",
    (errorType, errorMessage) => {
      // Act
      const outcome = classifyAgentFailure({
        fact: 'function-error',
        ...(errorType && { errorType }),
        errorMessage,
      });

      // Assess
      expect(outcome).toEqual({
        kind: 'transient',
        error: {
          code: 'AgentTimeout',
          message: 'the agent timed out: RequestId: 1 Error: Task timed out after 60.00 seconds',
        },
      });
    },
  );

  it('fails a result over maxResultBytes permanently with ResultTooLarge', () => {
    // Act
    const outcome = classifyAgentFailure({ fact: 'result-too-large', bytes: 65, limitBytes: 64 });

    // Assess
    expect(outcome).toEqual({
      kind: 'permanent',
      error: { code: 'ResultTooLarge', message: "the agent's result is 65 bytes; the limit is 64 bytes" },
    });
  });

  it('fails a task whose type has no agent permanently with UnknownTaskType', () => {
    // Act
    const outcome = classifyAgentFailure({ fact: 'no-agent', type: 'summarise' });

    // Assess
    expect(outcome).toEqual({
      kind: 'permanent',
      error: { code: 'UnknownTaskType', message: "no agent is configured for task type 'summarise'" },
    });
  });

  it('fails an answer too large to read permanently with ResultTooLarge', () => {
    // Act
    const outcome = classifyAgentFailure({ fact: 'answer-too-large', limitBytes: 327_680 });

    // Assess
    expect(outcome).toEqual({
      kind: 'permanent',
      error: {
        code: 'ResultTooLarge',
        message: "the agent's answer is over 327680 bytes; the consumer stopped reading it there",
      },
    });
  });

  it.each([
    [400, 'permanent'],
    [429, 'transient'],
    [503, 'transient'],
  ] as const)('classifies an HTTP status %i by classifyHttpStatus (%s)', (status, kind) => {
    // Act
    const outcome = classifyAgentFailure({ fact: 'http-status', status, text: 'nope' });

    // Assess
    expect(outcome).toEqual({
      kind,
      error: { code: `AgentHttp${status}`, message: `the agent answered ${status}: nope` },
    });
  });

  it.each([
    ['PermanentError', 'permanent', 'PermanentError'],
    ['TypeError', 'transient', 'TypeError'],
    [undefined, 'transient', 'AgentFunctionError'],
  ] as const)('classifies a function error of type %s as %s', (errorType, kind, code) => {
    // Act
    const outcome = classifyAgentFailure({
      fact: 'function-error',
      ...(errorType && { errorType }),
      errorMessage: 'boom',
    });

    // Assess
    expect(outcome).toEqual({ kind, error: { code, message: 'boom' } });
  });

  it('bounds the error code and message read from an agent', () => {
    // Act
    const outcome = classifyAgentFailure({
      fact: 'function-error',
      errorType: 'E'.repeat(10_000),
      errorMessage: 'm'.repeat(1_000_000),
    });

    // Assess
    expect(outcome.kind).toBe('transient');
    expect(outcome.error.code).toHaveLength(MAX_ERROR_CODE_CHARS);
    expect(outcome.error.message).toHaveLength(MAX_ERROR_CHARS);
  });

  it.each([
    ['unreachable', 'AgentUnreachable'],
    ['invoke-failed', 'AgentInvokeFailed'],
    ['secret-unavailable', 'AgentSecretUnavailable'],
  ] as const)('reports %s as the transient %s', (fact, code) => {
    // Act
    const outcome = classifyAgentFailure({ fact, detail: 'socket hang up' });

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient', error: { code } });
  });
});

describe('Function: boundedErrorText', () => {
  it('never cuts between the halves of a surrogate pair', () => {
    // Prepare: MAX_ERROR_CHARS - 1 ASCII characters, then emoji
    const text = `${'a'.repeat(MAX_ERROR_CHARS - 1)}${'😀'.repeat(10)}`;

    // Act
    const cut = boundedErrorText(text);

    // Assess
    expect(Array.from(cut)).toHaveLength(MAX_ERROR_CHARS);
    expect(cut.endsWith('😀')).toBe(true);
  });
});

describe('Function: answerByteLimit', () => {
  it('reads maxResultBytes plus the margin', () => {
    // Act
    const limit = answerByteLimit(262_144);

    // Assess
    expect(limit).toBe(262_144 + ANSWER_MARGIN_BYTES);
  });
});
