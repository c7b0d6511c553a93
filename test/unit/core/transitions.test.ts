import { TaskStatus } from '../../../lambda/core/task';
import {
  type GuardedFields,
  isOwnWrite,
  isTerminal,
  permits,
  redriveGraceEnd,
  skipReason,
  TERMINAL_STATUSES,
  TRANSITIONS,
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
