import {
  backoffSeconds,
  isLastAttempt,
  isLastDelivery,
  MAX_VISIBILITY_SECONDS,
  retryDelaySeconds,
} from '../../../lambda/core/retry-policy';

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

describe('Function: isLastAttempt', () => {
  it.each([
    ["the delivery is SQS's last", { attempt: 1, receiveCount: 5 }, true],
    ['neither bound is reached', { attempt: 4, receiveCount: 1 }, false],
    // A task that waited for a limit had its message re-sent: its receive count started afresh.
    ['the attempts are used up on a fresh message', { attempt: 5, receiveCount: 1 }, true],
    ['the attempts since a redrive are not used up', { attempt: 9, attemptsBase: 5, receiveCount: 1 }, false],
    ['the attempts since a redrive are used up', { attempt: 10, attemptsBase: 5, receiveCount: 1 }, true],
  ])('of max 5, when %s: %s', (_name, at, expected) => {
    // Act
    const last = isLastAttempt(at, 5);

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
