/** Human-readable output. Machine output (`--json`) prints the API's documents unchanged. */
import { Format } from 'cli-progress';
import type { ErrorDetail } from '../lambda/core/errors';
import type { SubmitResult, TaskDetails, TaskProgressView } from './api-client';

const BAR_SIZE = 20;
const BAR_OPTIONS = {
  barsize: BAR_SIZE,
  barCompleteString: '#'.repeat(BAR_SIZE),
  barIncompleteString: '-'.repeat(BAR_SIZE),
  barGlue: '',
};

function indent(text: string, by: string): string {
  return text.replace(/\n/g, `\n${by}`);
}

function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

/**
 * An async agent's progress on one line: a bar drawn by cli-progress's formatter (the library of the terminal
 * progress bars, progress.ts) when it reported a percentage, then its message: `[########------------] 40% step 4`.
 */
export function formatProgress(progress: TaskProgressView): string {
  const parts: string[] = [];
  const { percent, message } = progress;
  if (typeof percent === 'number' && Number.isFinite(percent)) {
    const clamped = Math.min(100, Math.max(0, percent));
    parts.push(`[${Format.BarFormat(clamped / 100, BAR_OPTIONS)}] ${Math.floor(clamped)}%`);
  }
  if (typeof message === 'string' && message !== '') parts.push(message.replace(/\s+/g, ' '));
  return parts.join(' ');
}

/**
 * One line that names the task and where it stands, e.g. for a spinner; a running async task adds its progress
 * bar and whether cancellation was requested.
 */
export function taskHeadline(
  task: Pick<TaskDetails, 'task_id' | 'status' | 'attempts' | 'progress' | 'cancel_requested' | 'waiting'>,
): string {
  const progress = task.progress ? formatProgress(task.progress) : '';
  return [
    `task ${task.task_id} ${task.status} (${attempts(task.attempts)})`,
    ...(task.waiting ? [`waiting: ${task.waiting.reason}`] : []),
    ...(progress ? [progress] : []),
    ...(task.cancel_requested ? ['(cancel requested)'] : []),
  ].join(' ');
}

export function formatSubmitted(result: SubmitResult): string {
  const { task } = result;
  const lines = [
    `task ${task.task_id} ${task.status}`,
    `  type      ${task.type} (priority ${task.priority})`,
    `  created   ${task.created_at}`,
  ];
  if (result.replayed)
    lines.push('  note      the idempotency key named this existing task; nothing new was queued');
  return `${lines.join('\n')}\n`;
}

export function formatTask(task: TaskDetails): string {
  const pad = '            ';
  const lines = [
    `task ${task.task_id} ${task.status}`,
    `  type      ${task.type} (priority ${task.priority})`,
    `  attempts  ${task.attempts}`,
    `  created   ${task.created_at}`,
  ];
  if (task.tenant_id) lines.splice(2, 0, `  tenant    ${task.tenant_id}`);
  if (task.published_task_id)
    lines.push(`  topic     ${task.topic ?? '-'} (a delivery of published task ${task.published_task_id})`);
  else if (task.deliveries) lines.push(`  topic     ${task.topic ?? task.type} (published)`);
  if (task.waiting)
    lines.push(`  waiting   ${task.waiting.reason} since ${task.waiting.since} (held back by a limit)`);
  if (task.started_at) lines.push(`  started   ${task.started_at}`);
  if (task.finished_at) lines.push(`  finished  ${task.finished_at}`);
  if (task.progress) lines.push(`  progress  ${formatProgress(task.progress)}`);
  if (task.heartbeat_at) lines.push(`  heartbeat ${task.heartbeat_at}`);
  if (task.deadline) lines.push(`  deadline  ${task.deadline} (lost unless a heartbeat comes first)`);
  if (task.cancel_requested) lines.push('  cancel    requested; the agent is told at its next heartbeat');
  if (task.error) lines.push(`  error     ${task.error.code}: ${indent(task.error.message, pad)}`);
  if (task.result !== undefined)
    lines.push(`  result    ${indent(JSON.stringify(task.result, null, 2), pad)}`);
  if (task.deliveries) lines.push(...deliveryLines(task.deliveries));
  return `${lines.join('\n')}\n`;
}

/**
 * A published task's deliveries, one per subscriber: its status, attempts and last error, then its own task id
 * (for `taskq status`, and what `taskq dlq` names).
 */
function deliveryLines(deliveries: NonNullable<TaskDetails['deliveries']>): string[] {
  const entries = Object.entries(deliveries);
  const width = Math.max(...entries.map(([subscriber]) => subscriber.length));
  const lines = ['  deliveries'];
  for (const [subscriber, d] of entries) {
    lines.push(
      `    ${subscriber.padEnd(width)}  ${d.status.padEnd(9)}  ${attempts(d.attempts)}` +
        (d.error ? `  ${d.error.code}: ${d.error.message.replace(/\s+/g, ' ')}` : ''),
    );
    lines.push(`    ${' '.repeat(width)}  task ${d.task_id}`);
  }
  return lines;
}

export function formatError(code: string, message: string, details?: readonly ErrorDetail[]): string {
  const lines = [`error: ${code}: ${message}`];
  for (const detail of details ?? []) lines.push(`  ${detail.path || '/'}: ${detail.message}`);
  return `${lines.join('\n')}\n`;
}
