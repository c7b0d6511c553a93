/** The anchor: a finished task the fuzz plants first, so that requests can conflict with it. */
import type { TaskStatus } from '../../lambda/core/task';
import { isTerminal } from '../../lambda/core/transitions';
import { ECHO_TYPE, JSON_CT, object } from './request';
import { send } from './wire';

/** The anchor task: requests that reuse its idempotency key or cancel it must get 409. */
export interface Anchor {
  readonly taskId: string;
  readonly idempotencyKey: string;
}

/** Submits the anchor task (a replay if it exists already) and waits until it has finished. */
export async function plantAnchor(apiUrl: string, seed: number, withinMs = 60_000): Promise<Anchor> {
  const idempotencyKey = `fuzz-anchor-${seed}`;
  const res = await send(apiUrl, {
    kind: 'anchor',
    method: 'POST',
    path: '/tasks',
    headers: [JSON_CT, ['Idempotency-Key', idempotencyKey]],
    body: Buffer.from(
      object([
        ['type', JSON.stringify(ECHO_TYPE)],
        ['payload', '{"fuzz":"anchor"}'],
      ]),
    ),
  });
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`the anchor task got ${res.status}: ${res.body}`);
  const taskId = (JSON.parse(res.body) as { task_id: string }).task_id;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const task = await send(apiUrl, { kind: 'anchor', method: 'GET', path: `/tasks/${taskId}`, headers: [] });
    const { status } = JSON.parse(task.body) as { status?: TaskStatus };
    if (status !== undefined && isTerminal(status)) return { taskId, idempotencyKey };
    if (Date.now() > deadline)
      throw new Error(`the anchor task ${taskId} was still ${status} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
