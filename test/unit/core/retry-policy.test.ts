import {
  ANSWER_MARGIN_BYTES,
  answerByteLimit,
  backoffSeconds,
  boundedErrorText,
  classifyAgentFailure,
  classifyHttpStatus,
  classifyLambdaError,
  isLastDelivery,
  MAX_ERROR_CHARS,
  MAX_ERROR_CODE_CHARS,
  MAX_VISIBILITY_SECONDS,
  retryDelaySeconds,
} from '../../../lambda/core/retry-policy';

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

describe('Function: backoffSeconds', () => {
  const policy = { baseSeconds: 2, capSeconds: 300 };
  const justBelowOne = () => 1 - Number.EPSILON;

  it('returns 0 when the random draw is 0', () => {
    // Act
    const delay = backoffSeconds(5, policy, () => 0);

    // Assess
    expect(delay).toBe(0);
  });

  it.each([
    [1, 2],
    [2, 4],
    [3, 8],
    [4, 16],
    [8, 256],
    [9, 300],
    [50, 300],
  ])('never waits longer than min(cap, base * 2^(attempt-1)) after attempt %i (%i s)', (attempt, ceiling) => {
    // Act
    const delay = backoffSeconds(attempt, policy, justBelowOne);

    // Assess
    expect(delay).toBe(ceiling);
  });

  it('spreads delays over the whole range: full jitter, not equal jitter', () => {
    // Act
    const half = backoffSeconds(4, policy, () => 0.5);
    const tenth = backoffSeconds(4, policy, () => 0.1);

    // Assess: the range after attempt 4 is [0, 16]
    expect(half).toBe(8);
    expect(tenth).toBe(1);
  });

  it('returns whole seconds, as ChangeMessageVisibility requires', () => {
    // Act
    const delays = [0.13, 0.37, 0.61, 0.99].map((r) => backoffSeconds(3, policy, () => r));

    // Assess
    for (const d of delays) expect(Number.isInteger(d)).toBe(true);
  });

  it('treats an attempt below 1 as the first', () => {
    // Act
    const delay = backoffSeconds(0, policy, justBelowOne);

    // Assess
    expect(delay).toBe(2);
  });

  it('never exceeds the 12-hour SQS visibility maximum, whatever the cap', () => {
    // Act
    const delay = backoffSeconds(40, { baseSeconds: 60, capSeconds: 1_000_000 }, justBelowOne);

    // Assess
    expect(delay).toBe(MAX_VISIBILITY_SECONDS);
  });

  it('stays within bounds for any random draw', () => {
    // Prepare
    const draws = Array.from({ length: 200 }, (_, i) => i / 200);

    // Act
    const delays = draws.map((r) => backoffSeconds(3, policy, () => r));

    // Assess
    expect(Math.min(...delays)).toBe(0);
    expect(Math.max(...delays)).toBe(8);
  });
});

describe('Function: isLastDelivery', () => {
  it.each([
    [1, 5, false],
    [4, 5, false],
    [5, 5, true],
    [6, 5, true],
    [1, 1, true],
  ])('receive count %i of max %i is the last delivery: %s', (receiveCount, maxReceiveCount, expected) => {
    // Act
    const last = isLastDelivery(receiveCount, maxReceiveCount);

    // Assess
    expect(last).toBe(expected);
  });
});

describe('Function: retryDelaySeconds', () => {
  const policy = { baseSeconds: 2, capSeconds: 300 };
  const timeout = { code: 'AgentTimeout', message: 'the agent did not answer within 60 s' };
  const busy = { code: 'AgentHttp503', message: 'the agent answered 503' };

  it('waits at least the agent timeout after an AgentTimeout, even when the backoff draw is 0', () => {
    // Act
    const delay = retryDelaySeconds(1, timeout, policy, 60, () => 0);

    // Assess
    expect(delay).toBe(60);
  });

  it('adds the jittered backoff on top of the agent timeout, so that a burst of time-outs stays spread', () => {
    // Act: attempt 3 backs off within [0, 8]
    const delays = [0, 0.5, 1 - Number.EPSILON].map((r) =>
      retryDelaySeconds(3, timeout, policy, 60, () => r),
    );

    // Assess
    expect(delays).toEqual([60, 64, 68]);
  });

  it('rounds a fractional agent timeout up to whole seconds', () => {
    // Act
    const delay = retryDelaySeconds(1, timeout, policy, 2.5, () => 0);

    // Assess
    expect(delay).toBe(3);
  });

  it('keeps the plain backoff for failures other than a time-out', () => {
    // Act
    const delay = retryDelaySeconds(1, busy, policy, 60, () => 0);

    // Assess
    expect(delay).toBe(0);
  });

  it('never exceeds the 12-hour SQS visibility maximum', () => {
    // Act
    const delay = retryDelaySeconds(40, timeout, { baseSeconds: 60, capSeconds: 1_000_000 }, 900, () => 0.99);

    // Assess
    expect(delay).toBe(MAX_VISIBILITY_SECONDS);
  });
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

  it("reports a Lambda function's own time-out with the same code, so that it gets the same retry rule", () => {
    // Act
    const outcome = classifyAgentFailure({
      fact: 'timed-out',
      timeoutSeconds: 60,
      detail: 'RequestId: 1 Error: Task timed out after 60.00 seconds',
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'transient',
      error: {
        code: 'AgentTimeout',
        message: 'the agent timed out: RequestId: 1 Error: Task timed out after 60.00 seconds',
      },
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
    if (outcome.kind === 'success') throw new Error('unreachable');
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
