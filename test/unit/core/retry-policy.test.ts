import {
  backoffSeconds,
  classifyHttpStatus,
  classifyLambdaError,
  isLastDelivery,
  MAX_VISIBILITY_SECONDS,
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
