import { TaskStatus } from '../../../lambda/core/task';
import {
  CANCELLABLE_STATUSES,
  CLAIMABLE_STATUSES,
  canClaim,
  isCancellable,
  isTerminal,
  skipReason,
  TERMINAL_STATUSES,
} from '../../../lambda/core/transitions';

const NOW_MS = Date.parse('2026-01-01T00:00:00Z');
const ALL_STATUSES = Object.values(TaskStatus);

describe('Function: canClaim', () => {
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

describe('Function: isCancellable', () => {
  it.each(ALL_STATUSES)('says whether a %s task may be cancelled', (status) => {
    // Act
    const cancellable = isCancellable(status);

    // Assess
    expect(cancellable).toBe(status === 'QUEUED' || status === 'RETRYING');
  });
});

describe('Constant: status sets', () => {
  it('never lets a finished task be claimed or cancelled', () => {
    // Act
    const overlap = TERMINAL_STATUSES.filter(
      (s) => CLAIMABLE_STATUSES.includes(s) || CANCELLABLE_STATUSES.includes(s),
    );

    // Assess
    expect(overlap).toEqual([]);
  });
});

describe('Function: skipReason', () => {
  it('says superseded when the record belongs to another enqueue attempt, whatever its status', () => {
    // Act
    const reason = skipReason({ status: TaskStatus.QUEUED, enqueue_id: 'winner' }, 'loser');

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
    const reason = skipReason({ status, enqueue_id: 'e1' }, 'e1');

    // Assess
    expect(reason).toBe(expected);
  });
});
