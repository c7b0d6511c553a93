import {
  checkAttempts,
  checkHeldSlots,
  checkLimitedConcurrency,
  heldSlots,
  holderTask,
  leakedCounters,
} from '../../../chaos/limit-checks';
import type { CounterState } from '../../../lambda/core/limits';
import type { LimitedCall, LimitedStats } from '../../../local/demo-agents';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const NOW = 1_800_000_000_000;

const call = (inFlight: number, tenant?: { id: string; inFlight: number }): LimitedCall => ({
  task_id: T1,
  attempt: 1,
  received_ms: NOW,
  answered_ms: NOW + 300,
  in_flight: inFlight,
  ...(tenant && { tenant_id: tenant.id, tenant_in_flight: tenant.inFlight }),
});
const stats = (calls: LimitedCall[]): LimitedStats => ({
  current: 0,
  max: Math.max(0, ...calls.map((c) => c.in_flight)),
  calls,
});
const counter = (holders: Record<string, number>): CounterState => ({ holders, starts: [], version: 3 });

describe('Function: checkLimitedConcurrency', () => {
  it('passes when the agent never counted more calls than the limits', () => {
    // Act & Assess
    expect(
      checkLimitedConcurrency(stats([call(1), call(2, { id: 'a', inFlight: 2 })]), {
        maxConcurrency: 2,
        tenantMaxConcurrency: 2,
      }),
    ).toEqual([]);
  });

  it("flags a call the agent counted over the agent's maxConcurrency", () => {
    // Act
    const violations = checkLimitedConcurrency(stats([call(1), call(2), call(3)]), { maxConcurrency: 2 });

    // Assess
    expect(violations).toEqual([
      expect.stringMatching(/counted 3 calls at once, over its maxConcurrency of 2/),
    ]);
  });

  it("flags a tenant's call the agent counted over the tenant cap", () => {
    // Act
    const violations = checkLimitedConcurrency(stats([call(2, { id: 'a', inFlight: 2 })]), {
      maxConcurrency: 2,
      tenantMaxConcurrency: 1,
    });

    // Assess
    expect(violations).toEqual([expect.stringMatching(/than tenantMaxConcurrency 1: .* of a as its call 2/)]);
  });
});

describe('Function: checkAttempts', () => {
  const facts = {
    status: 'SUCCEEDED',
    attempts: 1,
    interrupted: 0,
    diedDeliveries: 0,
    attemptsNeeded: 1,
    neverFails: true,
    inDeadLetterQueue: false,
  };

  it('passes a task that made the attempts its agent needs, plus one per interrupted attempt', () => {
    // Act & Assess
    expect(checkAttempts(facts, 4)).toEqual([]);
    expect(checkAttempts({ ...facts, attempts: 3, interrupted: 2 }, 4)).toEqual([]);
  });

  it('flags an attempt that no agent failure or interruption explains: a wait that used an attempt', () => {
    // Act & Assess
    expect(checkAttempts({ ...facts, attempts: 2 }, 4)).toEqual([
      expect.stringMatching(/made 2 attempts where its agent needs 1 and 0 were interrupted/),
    ]);
  });

  it('flags a task past maxReceiveCount attempts, beyond one per interrupted attempt', () => {
    // Act & Assess
    expect(
      checkAttempts({ ...facts, status: 'FAILED', attempts: 5, attemptsNeeded: 4, neverFails: false }, 4),
    ).toEqual([expect.stringMatching(/made 5 attempts, over maxReceiveCount 4 with 0 interrupted/)]);
    expect(
      checkAttempts(
        { ...facts, status: 'FAILED', attempts: 5, interrupted: 1, attemptsNeeded: 4, neverFails: false },
        4,
      ),
    ).toEqual([]);
  });

  it('flags a task whose agent never fails in a DLQ, or FAILED, with no interrupted attempt nor died delivery', () => {
    // Act & Assess
    expect(checkAttempts({ ...facts, inDeadLetterQueue: true }, 4)).toEqual([
      expect.stringMatching(/^reached a DLQ/),
    ]);
    expect(checkAttempts({ ...facts, status: 'FAILED' }, 4)).toEqual([
      expect.stringMatching(/^FAILED, though/),
    ]);
    expect(checkAttempts({ ...facts, status: 'FAILED', inDeadLetterQueue: true, interrupted: 1 }, 4)).toEqual(
      [],
    );
    expect(checkAttempts({ ...facts, inDeadLetterQueue: true, diedDeliveries: 4 }, 4)).toEqual([]);
  });

  it('leaves the DLQ to the other checks for a task whose agent fails', () => {
    // Act & Assess
    expect(
      checkAttempts({ ...facts, status: 'FAILED', inDeadLetterQueue: true, neverFails: false }, 4),
    ).toEqual([]);
  });
});

describe('Function: holderTask', () => {
  it('reads the task id of a holder id', () => {
    // Act & Assess
    expect(holderTask(`${T1}/0123456789ab`)).toBe(T1);
  });
});

describe('Function: heldSlots', () => {
  it('lists the live holders of every counter, latest first, and leaves out the lapsed ones', () => {
    // Prepare
    const counters = new Map([
      ['agent#limited', counter({ [`${T1}/a`]: NOW + 1000, [`${T2}/b`]: NOW - 1 })],
      ['tenant#a', counter({ [`${T2}/c`]: NOW + 5000 })],
    ]);

    // Act & Assess
    expect(heldSlots(counters, NOW)).toEqual([
      { counter: 'tenant#a', holder: `${T2}/c`, taskId: T2, untilMs: NOW + 5000 },
      { counter: 'agent#limited', holder: `${T1}/a`, taskId: T1, untilMs: NOW + 1000 },
    ]);
  });
});

describe('Function: checkHeldSlots', () => {
  const statuses: Record<string, string> = { [T1]: 'SUCCEEDED', [T2]: 'RUNNING' };
  const facts = { statusOf: (id: string) => statuses[id], longestHoldMs: 20_000 };
  const slot = (taskId: string, untilMs: number) => ({
    counter: 'agent#limited',
    holder: `${taskId}/x`,
    taskId,
    untilMs,
  });

  it("passes a terminal task's slot that goes back within one lease", () => {
    // Act & Assess
    expect(checkHeldSlots([slot(T1, NOW + 20_000)], NOW, facts)).toEqual([]);
  });

  it('flags a slot held past one lease from now: it never comes back', () => {
    // Act & Assess
    expect(checkHeldSlots([slot(T1, NOW + 20_001)], NOW, facts)).toEqual([
      expect.stringMatching(/past one lease \(20 s\)/),
    ]);
  });

  it('flags a slot of a task that is not terminal, or not of the run', () => {
    // Act & Assess
    expect(checkHeldSlots([slot(T2, NOW + 1000)], NOW, facts)).toEqual([
      expect.stringMatching(/holds a slot of a task still RUNNING/),
    ]);
    expect(checkHeldSlots([slot('other', NOW + 1000)], NOW, facts)).toEqual([
      expect.stringMatching(/names no task of the run/),
    ]);
  });
});

describe('Function: leakedCounters', () => {
  it('names each counter that still has a live holder', () => {
    // Prepare
    const counters = new Map([
      ['agent#limited', counter({ [`${T1}/a`]: NOW - 1 })],
      ['tenant#a', counter({ [`${T2}/c`]: NOW + 1 })],
    ]);

    // Act & Assess
    expect(leakedCounters(counters, NOW)).toEqual([`tenant#a still holds ${T2}/c after every lease ran out`]);
  });
});
