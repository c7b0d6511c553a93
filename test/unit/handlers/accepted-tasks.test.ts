import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { TaskRecord } from '../../../lambda/core/task';
import { context, streamRecord } from '../support/events';

// The handler reads its configuration at module load, so set it before requiring the handler.
process.env.AWS_REGION = 'eu-west-1';
process.env.LOG_LEVEL = 'INFO';
const { handler } =
  require('../../../lambda/handlers/accepted-tasks') as typeof import('../../../lambda/handlers/accepted-tasks');

const taskId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function task(n: number, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    task_id: taskId(n),
    type: 'echo',
    priority: 'high',
    status: 'QUEUED',
    attempts: 0,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const created = (n: number, overrides: Partial<TaskRecord> = {}) =>
  streamRecord(`seq-${n}`, 'INSERT', undefined, task(n, overrides));

describe('accepted-tasks handler: TasksAccepted from the task table stream', () => {
  let stdout: jest.SpyInstance;

  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockReturnValue(true);
  });

  afterEach(() => {
    stdout.mockRestore();
  });

  /** The lines of the invocation, parsed. */
  const lines = () =>
    stdout.mock.calls
      .flatMap(([text]) => String(text).split('\n'))
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('counts each created task once by tier and task type, in one EMF line per tier and type, in one write', async () => {
    // Prepare
    const records = [
      created(1),
      created(2),
      created(3, { priority: 'low', type: 'sleep' }),
      created(4),
      // A published task counts under its topic, as POST /tasks took it.
      created(5, { type: 'demo.fanout', subscribers: ['echo', 'sleep'] }),
    ];

    // Act
    await handler({ Records: records } as DynamoDBStreamEvent, context);

    // Assess
    expect(stdout).toHaveBeenCalledTimes(1);
    const counts = lines().map((l) => [l.Tier, l.TaskType, l.TasksAccepted]);
    expect(counts).toEqual([
      ['high', 'echo', 3],
      ['low', 'sleep', 1],
      ['high', 'demo.fanout', 1],
    ]);
    expect(lines()[0]).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'AgentTaskQueue',
            Dimensions: [['Tier', 'TaskType'], ['Tier']],
            Metrics: [{ Name: 'TasksAccepted', Unit: 'Count' }],
          },
        ],
      },
    });
  });

  it('does not count updates, removals, or the deliveries a fan-out creates', async () => {
    // Prepare
    const records = [
      streamRecord('seq-1', 'MODIFY', task(1), task(1, { status: 'RUNNING', attempts: 1 })),
      streamRecord('seq-2', 'REMOVE', task(2, { status: 'SUCCEEDED' }), undefined),
      created(3, { type: 'echo', topic: 'demo.fanout', published_task_id: taskId(5) }),
    ];

    // Act
    await handler({ Records: records } as DynamoDBStreamEvent, context);

    // Assess: nothing to count, nothing written at INFO
    expect(stdout).not.toHaveBeenCalled();
  });
});
