import { TaskStatus } from '../../../lambda/core/task';
import {
  asyncEndingRule,
  type GuardedFields,
  isOwnWrite,
  isTerminal,
  permits,
  redriveGraceEnd,
  skipReason,
  TERMINAL_STATUSES,
  TRANSITIONS,
  type TransitionRule,
  waitRule,
} from '../../../lambda/core/transitions';

const NOW_MS = Date.parse('2026-01-01T00:00:00Z');
const ALL_STATUSES = Object.values(TaskStatus);

/** Whether a claim by the message of enqueue `e1` may start an attempt now. */
const canClaim = (current: Partial<GuardedFields> | undefined, nowMs: number): boolean =>
  permits(
    TRANSITIONS.claim,
    current && { attempts: 0, enqueue_id: 'e1', status: TaskStatus.QUEUED, ...current },
    { nowMs, enqueueId: 'e1' },
  );

const isCancellable = (status: TaskStatus): boolean =>
  permits(TRANSITIONS.cancel, { status, attempts: 1 }, { nowMs: NOW_MS });

describe('Function: permits (claim)', () => {
  it('allows a claim when no record exists, because the producer may have failed after its send', () => {
    // Act
    const allowed = canClaim(undefined, NOW_MS);

    // Assess
    expect(allowed).toBe(true);
  });

  it.each([TaskStatus.QUEUED, TaskStatus.RETRYING])('allows a claim of a %s task', (status) => {
    // Act
    const allowed = canClaim({ status }, NOW_MS);

    // Assess
    expect(allowed).toBe(true);
  });

  it('allows a claim of a RUNNING task whose lease has expired', () => {
    // Act
    const allowed = canClaim({ status: TaskStatus.RUNNING, lease_until: NOW_MS - 1 }, NOW_MS);

    // Assess
    expect(allowed).toBe(true);
  });

  it.each([
    ['in the future', NOW_MS + 1],
    ['ending right now', NOW_MS],
  ])('refuses a claim of a RUNNING task whose lease is %s', (_name, leaseUntil) => {
    // Act
    const allowed = canClaim({ status: TaskStatus.RUNNING, lease_until: leaseUntil }, NOW_MS);

    // Assess
    expect(allowed).toBe(false);
  });

  it.each([
    ['absent', true, undefined],
    ['now', true, NOW_MS],
    ['past', true, NOW_MS - 1],
    ['a millisecond away', false, NOW_MS + 1],
  ])('claims a RETRYING task whose retry time is %s: %s', (_name, expected, retryAt) => {
    // Act: a duplicate copy of the message arrives while a late attempt may still be running
    const allowed = canClaim({ status: TaskStatus.RETRYING, retry_at: retryAt }, NOW_MS);

    // Assess
    expect(allowed).toBe(expected);
  });

  it.each([TaskStatus.QUEUED, TaskStatus.RUNNING])('ignores a retry time on a %s task', (status) => {
    // Act
    const allowed = canClaim({ status, retry_at: NOW_MS + 1, lease_until: NOW_MS - 1 }, NOW_MS);

    // Assess
    expect(allowed).toBe(true);
  });

  it.each([TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED])(
    'refuses a claim of a %s task',
    (status) => {
      // Act
      const allowed = canClaim({ status }, NOW_MS);

      // Assess
      expect(allowed).toBe(false);
    },
  );
});

describe('Function: isTerminal', () => {
  it.each(ALL_STATUSES)('says whether %s is final', (status) => {
    // Act
    const terminal = isTerminal(status);

    // Assess
    expect(terminal).toBe(['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(status));
  });
});

describe('Function: permits (cancel)', () => {
  it.each(ALL_STATUSES)('says whether a %s task may be cancelled', (status) => {
    // Act
    const cancellable = isCancellable(status);

    // Assess
    expect(cancellable).toBe(status === 'QUEUED' || status === 'RETRYING');
  });
});

describe('Constant: TRANSITIONS', () => {
  it('never lets a finished task be claimed, settled, cancelled or abandoned', () => {
    // Act
    const overlap = [
      TRANSITIONS.claim,
      TRANSITIONS.succeed,
      TRANSITIONS.retry,
      TRANSITIONS.fail,
      TRANSITIONS.cancel,
      TRANSITIONS.abandon,
      TRANSITIONS.waitQueued,
      TRANSITIONS.waitRetrying,
    ].flatMap((rule) =>
      TERMINAL_STATUSES.filter((s) => rule.from.includes(s)).map((s) => `${rule.name}:${s}`),
    );

    // Assess
    expect(overlap).toEqual([]);
  });

  it('names each rule after its key', () => {
    // Act
    const names = Object.entries(TRANSITIONS).filter(([key, rule]) => key !== rule.name);

    // Assess
    expect(names).toEqual([]);
  });
});

describe('Function: permits (facts)', () => {
  it.each([
    ['an enqueue id', TRANSITIONS.claim, 'enqueueId'],
    ['an enqueue id', TRANSITIONS.waitQueued, 'enqueueId'],
    ['an attempt', TRANSITIONS.succeed, 'attempt'],
    ['the end of the redrive grace', TRANSITIONS.abandon, 'redriveGraceEnd'],
  ] as const)('throws when a rule that needs %s is evaluated without it', (_name, rule, fact) => {
    // Prepare
    const facts = { nowMs: NOW_MS, enqueueId: 'e1', attempt: 1, redriveGraceEnd: '2025-12-31T23:59:00.000Z' };
    const { [fact]: _missing, ...without } = facts;

    // Act
    const evaluate = () =>
      permits(rule, { status: TaskStatus.QUEUED, attempts: 1, enqueue_id: 'e1' }, without);

    // Assess
    expect(evaluate).toThrow(`the ${rule.name} rule needs ${fact}`);
  });
});

describe('Function: permits (wait)', () => {
  /** Whether the message of enqueue `e1` may record that a limit holds the task back, by `rule`. */
  const canWait = (rule: TransitionRule, current: Partial<GuardedFields>, nowMs = NOW_MS) =>
    permits(
      rule,
      { attempts: 1, enqueue_id: 'e1', status: TaskStatus.QUEUED, ...current },
      { nowMs, enqueueId: 'e1' },
    );

  it.each(ALL_STATUSES)('waitQueued leaves only from QUEUED, and keeps it: %s', (status) => {
    // Act
    const allowed = canWait(TRANSITIONS.waitQueued, { status });

    // Assess
    expect({ allowed, to: TRANSITIONS.waitQueued.to }).toEqual({
      allowed: status === TaskStatus.QUEUED,
      to: TaskStatus.QUEUED,
    });
  });

  it.each(ALL_STATUSES)('waitRetrying leaves only from RETRYING, and keeps it: %s', (status) => {
    // Act
    const allowed = canWait(TRANSITIONS.waitRetrying, { status, lease_until: NOW_MS - 1 });

    // Assess
    expect({ allowed, to: TRANSITIONS.waitRetrying.to }).toEqual({
      allowed: status === TaskStatus.RETRYING,
      to: TaskStatus.RETRYING,
    });
  });

  it.each([
    ['absent', true, undefined],
    ['now', true, NOW_MS],
    ['past', true, NOW_MS - 1],
    ['a millisecond away', false, NOW_MS + 1],
  ])(
    'waitRetrying of a task whose retry time is %s: %s (before it, a delivery is a duplicate copy)',
    (_name, expected, retryAt) => {
      // Act
      const allowed = canWait(TRANSITIONS.waitRetrying, { status: TaskStatus.RETRYING, retry_at: retryAt });

      // Assess
      expect(allowed).toBe(expected);
    },
  );

  it.each([TRANSITIONS.waitQueued, TRANSITIONS.waitRetrying])(
    '$name refuses the message of another enqueue, and a missing record',
    (rule) => {
      // Act
      const other = canWait(rule, { status: rule.to, enqueue_id: 'e2' });
      const missing = permits(rule, undefined, { nowMs: NOW_MS, enqueueId: 'e1' });

      // Assess
      expect({ other, missing }).toEqual({ other: false, missing: false });
    },
  );
});

describe('Function: waitRule', () => {
  it.each([
    [TaskStatus.QUEUED, TRANSITIONS.waitQueued],
    [TaskStatus.RETRYING, TRANSITIONS.waitRetrying],
  ] as const)('picks the wait of the status read: %s', (status, rule) => {
    // Act
    const picked = waitRule(status);

    // Assess
    expect(picked).toBe(rule);
  });
});

describe('Function: redriveGraceEnd', () => {
  it('is the grace period before now', () => {
    // Act
    const end = redriveGraceEnd(new Date(NOW_MS), 60);

    // Assess
    expect(end).toBe('2025-12-31T23:59:00.000Z');
  });
});

describe('Function: isOwnWrite', () => {
  it("recognises a claim by the marker it wrote, and not another consumer's", () => {
    // Prepare
    const running = { status: TaskStatus.RUNNING, claim_id: 'ours' };

    // Act
    const ours = isOwnWrite(TRANSITIONS.claim, running, 'ours');
    const theirs = isOwnWrite(TRANSITIONS.claim, running, 'other');

    // Assess
    expect([ours, theirs]).toEqual([true, false]);
  });

  it('needs the status the rule writes: a marker on a record that moved on is not a lost response', () => {
    // Act
    const own = isOwnWrite(TRANSITIONS.cancel, { status: TaskStatus.QUEUED, cancel_id: 'ours' }, 'ours');

    // Assess
    expect(own).toBe(false);
  });

  it('never holds for a rule that writes no marker', () => {
    // Act
    const own = isOwnWrite(TRANSITIONS.requeue, { status: TaskStatus.QUEUED }, 'x');

    // Assess
    expect(own).toBe(false);
  });

  it('needs a record', () => {
    // Act
    const own = isOwnWrite(TRANSITIONS.claim, undefined, 'ours');

    // Assess
    expect(own).toBe(false);
  });
});

describe('Function: skipReason', () => {
  it('says superseded when the record belongs to another enqueue attempt, whatever its status', () => {
    // Act
    const reason = skipReason({ status: TaskStatus.QUEUED, enqueue_id: 'winner' }, 'loser', NOW_MS);

    // Assess
    expect(reason).toBe('superseded');
  });

  it.each<[TaskStatus, string]>([
    [TaskStatus.CANCELLED, 'cancelled'],
    [TaskStatus.SUCCEEDED, 'finished'],
    [TaskStatus.FAILED, 'finished'],
    [TaskStatus.RUNNING, 'running'],
  ])('says why a %s task of this enqueue is skipped', (status, expected) => {
    // Act
    const reason = skipReason({ status, enqueue_id: 'e1' }, 'e1', NOW_MS);

    // Assess
    expect(reason).toBe(expected);
  });

  it.each<[string, number | undefined, string]>([
    ['not due yet', NOW_MS + 1, 'waiting-retry'],
    ['due', NOW_MS, 'running'],
    ['absent', undefined, 'running'],
  ])('says why a RETRYING task whose retry time is %s is skipped', (_name, retryAt, expected) => {
    // Act
    const reason = skipReason(
      { status: TaskStatus.RETRYING, enqueue_id: 'e1', ...(retryAt !== undefined && { retry_at: retryAt }) },
      'e1',
      NOW_MS,
    );

    // Assess
    expect(reason).toBe(expected);
  });
});

/** The rules that write on the current async attempt while its agent reports in time. */
const HELD_RULES = [
  TRANSITIONS.adopt,
  TRANSITIONS.heartbeat,
  TRANSITIONS.completeSucceed,
  TRANSITIONS.completeRetry,
  TRANSITIONS.completeFail,
  TRANSITIONS.completeCancel,
];
/** The rules that record an async attempt as lost once its deadline passed. */
const EXPIRED_RULES = [TRANSITIONS.lapseRetry, TRANSITIONS.lapseFail, TRANSITIONS.lapseCancel];
const ASYNC_RULES = [...HELD_RULES, ...EXPIRED_RULES, TRANSITIONS.requestCancel];

/** Attempt 2 of an async agent, RUNNING with its deadline at `leaseUntil` (none when undefined). */
const runningAsync = (
  leaseUntil: number | undefined,
  fields: Partial<GuardedFields> = {},
): GuardedFields => ({
  status: TaskStatus.RUNNING,
  attempts: 2,
  enqueue_id: 'e1',
  agent_mode: 'async',
  ...(leaseUntil !== undefined && { lease_until: leaseUntil }),
  ...fields,
});

const permitsAt = (rule: TransitionRule, current: GuardedFields, attempt = 2): boolean =>
  permits(rule, current, { nowMs: NOW_MS, attempt, enqueueId: 'e1' });

describe('Function: permits (async attempts)', () => {
  const leases = [
    ['a millisecond away', NOW_MS + 1, 'held'],
    ['right now', NOW_MS, 'held'],
    ['a millisecond ago', NOW_MS - 1, 'expired'],
    ['missing', undefined, 'expired'],
  ] as const;

  it.each(HELD_RULES.flatMap((r) => leases.map(([name, at, lease]) => [r.name, name, lease, at] as const)))(
    '%s of an async attempt whose deadline is %s: allowed only while the lease is held (%s)',
    (name, _when, lease, at) => {
      // Act
      const allowed = permitsAt(TRANSITIONS[name], runningAsync(at));

      // Assess
      expect(allowed).toBe(lease === 'held');
    },
  );

  it.each(
    EXPIRED_RULES.flatMap((r) => leases.map(([name, at, lease]) => [r.name, name, lease, at] as const)),
  )(
    '%s of an async attempt whose deadline is %s: allowed only once the lease expired (%s)',
    (name, _when, lease, at) => {
      // Act
      const allowed = permitsAt(TRANSITIONS[name], runningAsync(at));

      // Assess
      expect(allowed).toBe(lease === 'expired');
    },
  );

  it.each(leases.map(([name, at]) => [name, at] as const))(
    'requestCancel of an async attempt whose deadline is %s: allowed, so that the lapse cancels',
    (_when, at) => {
      // Act
      const allowed = permitsAt(TRANSITIONS.requestCancel, runningAsync(at));

      // Assess
      expect(allowed).toBe(true);
    },
  );

  it.each(ASYNC_RULES.map((r) => [r.name, r] as const))(
    '%s refuses a sync attempt (no agent_mode), whatever its lease',
    (_name, rule) => {
      // Act
      const allowed = [NOW_MS + 1000, NOW_MS - 1000].map((at) =>
        permitsAt(rule, { status: TaskStatus.RUNNING, attempts: 2, enqueue_id: 'e1', lease_until: at }),
      );

      // Assess
      expect(allowed).toEqual([false, false]);
    },
  );

  it.each(
    ASYNC_RULES.flatMap((r) =>
      ALL_STATUSES.filter((s) => s !== TaskStatus.RUNNING).map((status) => [r.name, status, r] as const),
    ),
  )('%s refuses a %s task, though it carries the async fields of its last attempt', (_name, status, rule) => {
    // Act
    const allowed = [NOW_MS + 1000, NOW_MS - 1000].map((at) => permitsAt(rule, runningAsync(at, { status })));

    // Assess
    expect(allowed).toEqual([false, false]);
  });

  it.each(
    [...HELD_RULES, ...EXPIRED_RULES].flatMap((r) => [1, 3].map((attempt) => [r.name, attempt, r] as const)),
  )(
    '%s by attempt %i of a task at attempt 2 refuses: only the current attempt reports or lapses',
    (_name, attempt, rule) => {
      // Prepare
      const at = rule.lease === 'held' ? NOW_MS + 1000 : NOW_MS - 1000;

      // Act
      const allowed = permitsAt(rule, runningAsync(at), attempt);

      // Assess
      expect(allowed).toBe(false);
    },
  );

  it.each([
    ['expired a millisecond ago', NOW_MS - 1],
    ['missing', undefined],
  ])(
    'claim refuses an async attempt whose lease %s: the loss is recorded first, then the backoff',
    (_n, at) => {
      // Act
      const allowed = canClaim(runningAsync(at), NOW_MS);

      // Assess
      expect(allowed).toBe(false);
    },
  );

  it('claim still takes a sync attempt whose lease expired: its consumer died', () => {
    // Act
    const allowed = canClaim({ status: TaskStatus.RUNNING, lease_until: NOW_MS - 1 }, NOW_MS);

    // Assess
    expect(allowed).toBe(true);
  });

  it.each([
    ['abandon', TRANSITIONS.abandon],
    ['requeue', TRANSITIONS.requeue],
  ] as const)(
    '%s takes an async attempt whose lease expired, and not one whose lease holds',
    (_name, rule) => {
      // Prepare
      const facts = { nowMs: NOW_MS, enqueueId: 'e1', redriveGraceEnd: '2025-12-31T23:00:00.000Z' };

      // Act
      const allowed = [NOW_MS - 1, NOW_MS, NOW_MS + 1].map((at) => permits(rule, runningAsync(at), facts));

      // Assess
      expect(allowed).toEqual([true, false, false]);
    },
  );
});

describe('Function: asyncEndingRule', () => {
  it.each([
    [TaskStatus.SUCCEEDED, 'held', 'completeSucceed'],
    [TaskStatus.RETRYING, 'held', 'completeRetry'],
    [TaskStatus.FAILED, 'held', 'completeFail'],
    [TaskStatus.CANCELLED, 'held', 'completeCancel'],
    [TaskStatus.RETRYING, 'expired', 'lapseRetry'],
    [TaskStatus.FAILED, 'expired', 'lapseFail'],
    [TaskStatus.CANCELLED, 'expired', 'lapseCancel'],
  ] as const)('ends an async attempt as %s with its lease %s by the %s rule', (status, lease, name) => {
    // Act
    const rule = asyncEndingRule(status, lease);

    // Assess
    expect({ name: rule.name, to: rule.to }).toEqual({ name, to: status });
  });

  it.each([
    [TaskStatus.SUCCEEDED, 'expired'],
    [TaskStatus.RUNNING, 'held'],
    [TaskStatus.QUEUED, 'expired'],
  ] as const)('has no rule that ends an attempt as %s with its lease %s', (status, lease) => {
    // Act
    const find = () => asyncEndingRule(status, lease);

    // Assess
    expect(find).toThrow(`no rule ends an async attempt as ${status} with its lease ${lease}`);
  });
});

describe('Function: skipReason (async attempts)', () => {
  it.each([
    ['a millisecond away', NOW_MS + 1, 'running-async'],
    ['right now', NOW_MS, 'running-async'],
    ['a millisecond ago', NOW_MS - 1, 'lapsed'],
    ['missing', undefined, 'lapsed'],
  ])('says why a running async attempt whose deadline is %s is not claimed: %s', (_name, at, expected) => {
    // Act
    const reason = skipReason(runningAsync(at), 'e1', NOW_MS);

    // Assess
    expect(reason).toBe(expected);
  });

  it('says superseded for an async attempt of another enqueue', () => {
    // Act
    const reason = skipReason(runningAsync(NOW_MS - 1), 'e2', NOW_MS);

    // Assess
    expect(reason).toBe('superseded');
  });
});
