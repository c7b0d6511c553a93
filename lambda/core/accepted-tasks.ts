import { PRIORITIES, type Priority, type TaskRecord } from './task';

/**
 * Which committed writes of the task table are tasks that `POST /tasks` accepted: the count behind the
 * `TasksAccepted` metric.
 *
 * A task is accepted once, when its record is created: the write with no old image. The conditional create makes
 * that one write per task, whichever writer made it (a replay of an idempotency key creates nothing, so it is not
 * counted again). A published task counts once, under its topic, as `POST /tasks` took it; the deliveries that its
 * fan-out creates (`published_task_id`) are not tasks a client submitted, and do not count.
 */
export interface AcceptedTask {
  readonly tier: Priority;
  readonly type: string;
}

type Written = Pick<TaskRecord, 'type' | 'priority' | 'published_task_id'>;

/** The task a write accepted, or undefined for every other write (an update, a removal, a delivery). */
export function acceptedTask(
  oldRecord: Written | undefined,
  newRecord: Written | undefined,
): AcceptedTask | undefined {
  if (oldRecord !== undefined || newRecord === undefined) return undefined;
  if (newRecord.published_task_id !== undefined) return undefined;
  if (
    typeof newRecord.type !== 'string' ||
    !(PRIORITIES as readonly unknown[]).includes(newRecord.priority)
  ) {
    return undefined;
  }
  return { tier: newRecord.priority, type: newRecord.type };
}
