import { checkEventCoverage, checkPublishedTask, expectedPublishedStatus } from '../../../chaos/event-checks';
import { TaskStatus, type TaskView } from '../../../lambda/core/task';
import type { TaskEventBody } from '../../../lambda/core/task-events';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const P = '33333333-3333-4333-8333-333333333333';

const event = (eventId: string): TaskEventBody => {
  const [taskId, status, attempts] = eventId.split(':');
  return {
    schema_version: 1,
    event: `task.${status!.toLowerCase()}` as TaskEventBody['event'],
    event_id: eventId,
    task_id: taskId!,
    type: 'echo',
    priority: 'low',
    status: status as TaskStatus,
    attempts: Number(attempts),
    occurred_at: '2026-01-01T00:00:00.000Z',
  };
};
const transition = (recordId: string, status: TaskStatus, attempts: number) => ({
  recordId,
  status,
  attempts,
  label: `task ${recordId}`,
});

describe('Function: checkEventCoverage', () => {
  it('passes when every terminal transition has its event, duplicates and redrive counts aside', () => {
    // Act
    const result = checkEventCoverage(
      [transition(T1, TaskStatus.SUCCEEDED, 1), transition(T2, TaskStatus.FAILED, 4)],
      [event(`${T1}:SUCCEEDED:1:0`), event(`${T1}:SUCCEEDED:1:0`), event(`${T2}:FAILED:4:0`)],
    );

    // Assess
    expect(result).toEqual({ violations: [], missing: 0, distinct: 2 });
  });

  it('names a transition without its event, and one whose event has other attempts', () => {
    // Act
    const result = checkEventCoverage(
      [transition(T1, TaskStatus.SUCCEEDED, 2), transition(T2, TaskStatus.CANCELLED, 0)],
      [event(`${T1}:SUCCEEDED:1:0`)],
    );

    // Assess
    expect(result.missing).toBe(2);
    expect(result.violations).toEqual([
      `task ${T1} ended SUCCEEDED after 2 attempts, but no event says so`,
      `task ${T2} ended CANCELLED after 0 attempts, but no event says so`,
      `task ${T1} ended SUCCEEDED after 2 attempts, but an event says SUCCEEDED after 1`,
    ]);
  });

  it('names an event of a terminal status the task does not have, even beside its own event', () => {
    // Act
    const result = checkEventCoverage(
      [transition(T1, TaskStatus.SUCCEEDED, 1)],
      [event(`${T1}:SUCCEEDED:1:0`), event(`${T1}:FAILED:1:0`), event(`${T2}:FAILED:1:0`)],
    );

    // Assess: T2 is no task of the run, and is ignored
    expect(result.violations).toEqual([
      `task ${T1} ended SUCCEEDED after 1 attempts, but an event says FAILED after 1`,
    ]);
  });
});

describe('Function: expectedPublishedStatus', () => {
  it.each([
    [['SUCCEEDED', 'FAILED'], 'FAILED'],
    [['SUCCEEDED', 'CANCELLED'], 'SUCCEEDED'],
    [['CANCELLED', 'CANCELLED'], 'CANCELLED'],
    [['SUCCEEDED', 'RUNNING'], 'RUNNING'],
    [['FAILED', 'RETRYING'], 'RETRYING'],
    [['RETRYING', 'RUNNING'], 'RUNNING'],
    [['QUEUED', 'SUCCEEDED'], 'QUEUED'],
  ])('derives %j as %s', (statuses, expected) => {
    expect(expectedPublishedStatus(statuses)).toBe(expected);
  });
});

describe('Function: checkPublishedTask', () => {
  const delivery = (status: TaskStatus, attempts: number) =>
    ({ task_id: T1, type: 'echo', priority: 'low', status, attempts }) as TaskView;
  const published = (status: TaskStatus, attempts: number, deliveries: Record<string, TaskView>) =>
    ({
      task_id: P,
      type: 'chaos.fanout',
      priority: 'low',
      status,
      attempts,
      deliveries: Object.fromEntries(
        Object.entries(deliveries).map(([s, d]) => [
          s,
          { task_id: d.task_id, status: d.status, attempts: d.attempts },
        ]),
      ),
    }) as TaskView;

  it('passes a published task whose status and attempts follow its deliveries', () => {
    // Prepare
    const echo = delivery(TaskStatus.SUCCEEDED, 1);
    const flaky = delivery(TaskStatus.FAILED, 4);

    // Act
    const violations = checkPublishedTask(
      P,
      published(TaskStatus.FAILED, 5, { echo, flaky }),
      ['echo', 'flaky'],
      new Map([
        ['echo', echo],
        ['flaky', flaky],
      ]),
    );

    // Assess
    expect(violations).toEqual([]);
  });

  it('names a wrong derived status, a wrong attempt sum, a lost delivery and a view that disagrees', () => {
    // Prepare
    const echo = delivery(TaskStatus.SUCCEEDED, 1);
    const flaky = delivery(TaskStatus.FAILED, 4);

    // Act
    const violations = checkPublishedTask(
      P,
      published(TaskStatus.SUCCEEDED, 4, { echo, flaky }),
      ['echo', 'flaky'],
      new Map([
        ['echo', delivery(TaskStatus.SUCCEEDED, 2)],
        ['flaky', undefined],
      ]),
    );

    // Assess
    expect(violations).toEqual([
      `published task ${P} shows its echo delivery SUCCEEDED after 1 attempts, but the delivery is SUCCEEDED after 2`,
      `published task ${P} has no record of its flaky delivery (a lost delivery)`,
      `published task ${P} is SUCCEEDED, but its deliveries (SUCCEEDED, FAILED) make it FAILED`,
      `published task ${P} counts 4 attempts, its deliveries 5`,
    ]);
  });
});
