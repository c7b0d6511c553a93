import type { TaskQueueLayout } from '../../../../local/dashboard/layout';
import { taskQueuesOf } from '../../../../local/dashboard/layout';
import type { HeldMessage } from '../../../../local/dashboard/sources';
import {
  filterProblem,
  selectTasks,
  type TaskListRow,
  taskMessages,
} from '../../../../local/dashboard/tasks';

const row = (
  id: string,
  type: string,
  priority: 'high' | 'low',
  status: string,
  created: string,
): TaskListRow =>
  ({
    task_id: id,
    type,
    priority,
    status,
    attempts: 1,
    created_at: created,
    updated_at: created,
    queue: 'Q',
  }) as TaskListRow;

describe('recent tasks', () => {
  const rows = [
    row('a', 'echo', 'high', 'SUCCEEDED', '2026-01-01T00:00:01Z'),
    row('b', 'echo', 'low', 'FAILED', '2026-01-01T00:00:03Z'),
    row('c', 'poison', 'low', 'FAILED', '2026-01-01T00:00:02Z'),
  ];

  it('filters by status, type and tier, newest first, up to the limit', () => {
    expect(selectTasks(rows, {}).tasks.map((t) => t.task_id)).toEqual(['b', 'c', 'a']);
    expect(selectTasks(rows, { status: 'FAILED' }).tasks.map((t) => t.task_id)).toEqual(['b', 'c']);
    expect(selectTasks(rows, { status: 'FAILED', type: 'poison' }).tasks.map((t) => t.task_id)).toEqual([
      'c',
    ]);
    expect(selectTasks(rows, { tier: 'high' }).tasks.map((t) => t.task_id)).toEqual(['a']);
    expect(selectTasks(rows, { limit: 1 })).toMatchObject({ matching: 3, tasks: [{ task_id: 'b' }] });
  });

  it('names a filter it cannot apply', () => {
    expect(filterProblem({ status: 'DONE' }, ['high', 'low'])).toMatch(/status must be one of QUEUED/);
    expect(filterProblem({ tier: 'medium' }, ['high', 'low'])).toMatch(/tier must be one of high, low/);
    expect(filterProblem({ limit: '0' }, ['high'])).toMatch(/limit/);
    expect(
      filterProblem({ status: 'FAILED', tier: 'low', limit: '10', type: 'anything' }, ['low']),
    ).toBeUndefined();
  });
});

describe('layout', () => {
  it('groups the consumers of each TaskQueue into its tiers', () => {
    const env = (tier: string, queue = 'Q') => ({
      TASKQ_FUNCTION_ROLE: 'consumer',
      QUEUE_URL: `http://h/000/${queue}-${tier}`,
      DEAD_LETTER_QUEUE_URL: `http://h/000/${queue}-${tier}-dlq`,
      TASK_TABLE_NAME: `${queue}-tasks`,
      LIMITS_TABLE_NAME: `${queue}-limits`,
      AGENTS: JSON.stringify({ echo: { kind: 'http', url: 'http://a', timeoutSeconds: 5 } }),
    });
    const layouts = taskQueuesOf([
      { path: 'App/TaskQueue/High/Consumer/Resource', env: env('high') },
      { path: 'App/TaskQueue/Low/Consumer/Resource', env: env('low') },
      { path: 'App/Other/Queue/High/Consumer/Resource', env: env('high', 'O') },
    ]);
    expect(layouts.map((l) => [l.queue, l.tableName, l.tiers.map((t) => t.tier)])).toEqual([
      ['TaskQueue', 'Q-tasks', ['high', 'low']],
      ['Other/Queue', 'O-tasks', ['high']],
    ]);
    expect(layouts[0]!.tiers[1]).toEqual({
      tier: 'low',
      queueUrl: 'http://h/000/Q-low',
      queueName: 'Q-low',
      deadLetterQueueUrl: 'http://h/000/Q-low-dlq',
      deadLetterQueueName: 'Q-low-dlq',
    });
    expect(Object.keys(layouts[0]!.agents)).toEqual(['echo']);
    expect(layouts[0]!.limitsTableName).toBe('Q-limits');
  });
});

describe('a task page shows its payload only while a queue holds its message', () => {
  const layout: TaskQueueLayout = {
    queue: 'Q',
    tableName: 't',
    tiers: [
      {
        tier: 'low',
        queueUrl: 'u',
        queueName: 'low',
        deadLetterQueueUrl: 'd',
        deadLetterQueueName: 'low-dlq',
      },
    ],
    agents: {},
  };
  const id = '11111111-2222-4333-8444-555555555555';
  const other = '99999999-2222-4333-8444-555555555555';
  const message = (body: object, messageId: string) => ({
    messageId,
    body: JSON.stringify(body),
    md5OfBody: '',
    messageAttributes: {},
    md5OfMessageAttributes: '',
    sentTimestamp: Date.parse('2026-01-01T00:00:00Z'),
    approximateReceiveCount: 2,
  });

  it('finds its own message and its deliveries', () => {
    const held: Record<string, HeldMessage[]> = {
      low: [
        { state: 'in flight', message: message({ task_id: id, payload: { n: 1 } }, 'm1') },
        { state: 'visible', message: message({ task_id: other, payload: { mention: id } }, 'm2') },
      ],
      'low-dlq': [
        { state: 'visible', message: message({ task_id: other, published_task_id: id, payload: {} }, 'm3') },
      ],
    };
    const found = taskMessages(id, layout, (name) => held[name] ?? []);
    expect(found).toEqual([
      {
        queue: 'Q',
        tier: 'low',
        kind: 'queue',
        state: 'in flight',
        message_id: 'm1',
        task_id: id,
        receive_count: 2,
        sent_at: '2026-01-01T00:00:00.000Z',
        payload: { n: 1 },
      },
      expect.objectContaining({ kind: 'dead-letter queue', message_id: 'm3', task_id: other }),
    ]);
    expect(taskMessages(id, layout, () => [])).toEqual([]);
  });
});
