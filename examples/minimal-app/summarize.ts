/**
 * The `summarize` agent: a Lambda function that the queue invokes with the task
 * (`{ task_id, type, payload, attempt, deadline }`) and whose return value is the task's result.
 */
interface Task {
  readonly task_id: string;
  readonly payload: { readonly text?: unknown };
}

export const handler = async (task: Task) => {
  const text = typeof task.payload.text === 'string' ? task.payload.text.trim() : '';
  const words = text.split(/\s+/).filter((word) => word !== '');
  const firstSentence = text.split(/(?<=[.!?])\s+/)[0] ?? '';
  return { words: words.length, summary: firstSentence };
};
