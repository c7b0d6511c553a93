import {
  attemptDeadline,
  consumerMarginSeconds,
  functionTimeoutFits,
  isLambdaTimeoutReport,
  lateAnswerAllowanceSeconds,
  maxAgentTimeoutSeconds,
  millisecondsToDeadline,
} from '../../../lambda/core/agent-timeout';

describe('Function: attemptDeadline', () => {
  it("is the attempt's start plus the agent timeout, in ISO 8601 UTC", () => {
    // Act
    const deadline = attemptDeadline(new Date('2026-01-01T00:00:00.000Z'), 60);

    // Assess
    expect(deadline).toBe('2026-01-01T00:01:00.000Z');
  });
});

describe('Function: millisecondsToDeadline', () => {
  it('is the time left until the deadline', () => {
    // Act
    const left = millisecondsToDeadline('2026-01-01T00:01:00.000Z', Date.parse('2026-01-01T00:00:59.250Z'));

    // Assess
    expect(left).toBe(750);
  });

  it('is 0 once the deadline has passed, so that the call is given up at once', () => {
    // Act
    const left = millisecondsToDeadline('2026-01-01T00:01:00.000Z', Date.parse('2026-01-01T00:01:05.000Z'));

    // Assess
    expect(left).toBe(0);
  });
});

describe('Function: isLambdaTimeoutReport', () => {
  it.each([
    ['Sandbox.Timedout', 'RequestId: 5e2a Error: Task timed out after 5.00 seconds'],
    [undefined, '2024-04-01T00:00:00Z 5e2a Task timed out after 5.00 seconds'],
  ])("recognises Lambda's report of a function time-out (%s)", (errorType, message) => {
    // Act
    const timedOut = isLambdaTimeoutReport(errorType, message);

    // Assess
    expect(timedOut).toBe(true);
  });

  it.each([
    ['TypeError', 'x is undefined'],
    ['Error', 'the upstream timed out'],
    [undefined, 'Task timed out'],
  ])('does not take the error %s "%s" for a time-out', (errorType, message) => {
    // Act
    const timedOut = isLambdaTimeoutReport(errorType, message);

    // Assess
    expect(timedOut).toBe(false);
  });
});

describe('Function: lateAnswerAllowanceSeconds', () => {
  it('gives a late agent one whole agent timeout, in whole seconds', () => {
    // Act
    const allowance = lateAnswerAllowanceSeconds(45.5);

    // Assess
    expect(allowance).toBe(46);
  });
});

describe('Function: maxAgentTimeoutSeconds', () => {
  it.each([
    [30, 5, 25],
    [120, 12, 108],
    [900, 90, 810],
  ])('leaves a consumer timeout of %i s a margin of %i s: at most %i s', (consumer, margin, max) => {
    // Act
    const room = [consumerMarginSeconds(consumer), maxAgentTimeoutSeconds(consumer)];

    // Assess
    expect(room).toEqual([margin, max]);
  });
});

describe('Function: functionTimeoutFits', () => {
  it.each([
    [60, 60, true],
    [59, 60, true],
    [61, 60, false],
  ])('a function timeout of %i s with an agent timeout of %i s fits: %s', (fn, agent, fits) => {
    // Act
    const verdict = functionTimeoutFits(fn, agent);

    // Assess
    expect(verdict).toBe(fits);
  });
});
