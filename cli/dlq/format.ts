/** Output of the DLQ commands: a table for people, plain documents for `--json`. */
import type { TaskError } from '../../lambda/core/task';
import type { ListedDeadLetter, ListedTier, PurgeTierResult, RedriveTierResult } from './operations';

/** One dead letter as `dlq list --json` prints it. */
export interface DeadLetterRow {
  readonly tier: string;
  readonly message_id: string;
  readonly task_id: string | null;
  readonly type: string | null;
  /** The topic of a published task's message (a delivery, or a publish message not yet fanned out); else null. */
  readonly topic: string | null;
  /** A delivery: the subscriber (agent type) it is for; else null. */
  readonly subscriber: string | null;
  /** A delivery: the published task it belongs to (GET /tasks/{it} shows every delivery); else null. */
  readonly published_task_id: string | null;
  /** The task's status in the table; null when the table has no record of it. */
  readonly status: string | null;
  /** Attempts from the task record; the message's receive count when there is no record. */
  readonly attempts: number;
  readonly receive_count: number;
  readonly error: TaskError | null;
  readonly sent_at: string | null;
  readonly age_seconds: number | null;
}

export function toRow(tier: string, { message, record }: ListedDeadLetter, now: Date): DeadLetterRow {
  return {
    tier,
    message_id: message.messageId,
    task_id: message.taskId ?? null,
    type: record?.type ?? message.type ?? null,
    topic: message.topic ?? null,
    subscriber: message.subscriber ?? null,
    published_task_id: message.publishedTaskId ?? null,
    status: record?.status ?? null,
    attempts: record?.attempts ?? message.receiveCount,
    receive_count: message.receiveCount,
    error: record?.error ?? message.error ?? null,
    sent_at: message.sentAt?.toISOString() ?? null,
    age_seconds: message.sentAt
      ? Math.max(0, Math.floor((now.getTime() - message.sentAt.getTime()) / 1000))
      : null,
  };
}

/** `42s`, `7m`, `3h`, `12d`: the largest unit that fits. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

const ERROR_WIDTH = 60;

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function formatList(tiers: readonly ListedTier[], rows: readonly DeadLetterRow[]): string {
  const summary = tiers
    .map((t) =>
      t.approximateCount > t.letters.length
        ? `${t.tier}: showing ${t.letters.length} of about ${t.approximateCount} dead letters`
        : `${t.tier}: ${t.letters.length} dead letter${t.letters.length === 1 ? '' : 's'}`,
    )
    .join('\n');
  if (rows.length === 0) return `${summary}\n`;
  // Columns for published tasks only when some message is one: the topic, the subscriber (a publish message not
  // fanned out is for all of them) and the published task.
  const published = rows.some((r) => r.topic !== null);
  const topicCells = (r: DeadLetterRow) =>
    published
      ? [r.topic ?? '-', r.topic === null ? '-' : (r.subscriber ?? '(all)'), r.published_task_id ?? '-']
      : [];
  const body = table(
    [
      'TIER',
      'TASK ID',
      'TYPE',
      ...(published ? ['TOPIC', 'SUBSCRIBER', 'PUBLISHED TASK'] : []),
      'STATUS',
      'ATTEMPTS',
      'AGE',
      'LAST ERROR',
    ],
    rows.map((r) => [
      r.tier,
      r.task_id ?? '-',
      r.type ?? '-',
      ...topicCells(r),
      r.status ?? '-',
      String(r.attempts),
      formatAge(r.age_seconds),
      r.error ? oneLine(`${r.error.code}: ${r.error.message}`, ERROR_WIDTH) : '-',
    ]),
  );
  return `${body}${summary}\n`;
}

export function formatRedrive(results: readonly RedriveTierResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.messages === 0) {
      lines.push(
        r.task_id !== undefined
          ? `${r.tier}: no dead letter of task ${r.task_id}; nothing to redrive`
          : `${r.tier}: the dead-letter queue is empty; nothing to redrive`,
      );
      continue;
    }
    lines.push(
      `${r.tier}: ${r.messages} message(s); ${r.requeued.length} task(s) set back to QUEUED, ${r.skipped.length} left as they were`,
    );
    for (const s of r.skipped)
      lines.push(`  ${s.task_id}: ${s.status ? `${s.status}, not requeued` : 'no record in the task table'}`);
    if (r.move)
      lines.push(
        `  moved ${r.move.moved} message(s) back to ${r.source_queue_url}: ${r.move.status}` +
          (r.move.method === 'copy' ? ' (copied by the CLI: the endpoint has no message move tasks)' : ''),
      );
  }
  return `${lines.join('\n')}\n`;
}

export function formatPurge(results: readonly PurgeTierResult[]): string {
  return `${results
    .map(
      (r) =>
        `${r.tier}: purged ${r.dead_letter_queue_url} (${r.messages} message(s))` +
        (r.failed_tasks > 0 ? `; ${r.failed_tasks} task(s) that were not finished are now FAILED` : ''),
    )
    .join('\n')}\n`;
}
