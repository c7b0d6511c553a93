/** How `taskq events` prints: one line per event (or one JSON document per line with `--json`), and counts. */
import type { TaskEventBody } from '../../lambda/core/task-events';
import type { ReplayResult } from './replay';

/** `2026-01-01T00:00:00.000Z task.failed 1b2c… type=echo priority=high attempts=3 error=AgentError: …` */
export function formatEvent(body: Partial<TaskEventBody>): string {
  const parts = [
    body.occurred_at ?? '-',
    body.event ?? '?',
    body.task_id ?? '?',
    `type=${body.type ?? '?'}`,
    ...(body.subscriber !== undefined ? [`subscriber=${body.subscriber}`] : []),
    `priority=${body.priority ?? '?'}`,
    ...(body.tenant_id !== undefined ? [`tenant=${body.tenant_id}`] : []),
    `attempts=${body.attempts ?? '?'}`,
    ...(body.error ? [`error=${body.error.code}: ${body.error.message}`] : []),
  ];
  return `${parts.join(' ')}\n`;
}

export function formatReplay(result: ReplayResult): string {
  const lines = [
    `replayed ${result.published} event(s) from ${result.messages} message(s) of the unpublished-events queue`,
    `  event bodies: ${result.eventMessages}; stream ranges: ${result.streamRanges} (${result.streamEvents} event(s) derived)`,
  ];
  if (result.kept > 0)
    lines.push(
      `  ${result.kept} message(s) kept in the queue (${result.keptReasons.join('; ')}): run replay again later`,
    );
  return `${lines.join('\n')}\n`;
}
