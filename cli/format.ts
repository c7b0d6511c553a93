/** Human-readable output. Machine output (`--json`) prints the API's documents unchanged. */
import type { ErrorDetail } from '../lambda/core/errors';
import type { TaskView } from '../lambda/core/task';
import type { SubmitResult } from './api-client';

function indent(text: string, by: string): string {
  return text.replace(/\n/g, `\n${by}`);
}

function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

/** One line that names the task and where it stands, e.g. for a spinner. */
export function taskHeadline(task: Pick<TaskView, 'task_id' | 'status' | 'attempts'>): string {
  return `task ${task.task_id} ${task.status} (${attempts(task.attempts)})`;
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

export function formatTask(task: TaskView): string {
  const pad = '            ';
  const lines = [
    `task ${task.task_id} ${task.status}`,
    `  type      ${task.type} (priority ${task.priority})`,
    `  attempts  ${task.attempts}`,
    `  created   ${task.created_at}`,
  ];
  if (task.started_at) lines.push(`  started   ${task.started_at}`);
  if (task.finished_at) lines.push(`  finished  ${task.finished_at}`);
  if (task.error) lines.push(`  error     ${task.error.code}: ${indent(task.error.message, pad)}`);
  if (task.result !== undefined)
    lines.push(`  result    ${indent(JSON.stringify(task.result, null, 2), pad)}`);
  return `${lines.join('\n')}\n`;
}

export function formatError(code: string, message: string, details?: readonly ErrorDetail[]): string {
  const lines = [`error: ${code}: ${message}`];
  for (const detail of details ?? []) lines.push(`  ${detail.path || '/'}: ${detail.message}`);
  return `${lines.join('\n')}\n`;
}
