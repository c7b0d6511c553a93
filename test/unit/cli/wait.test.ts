import { ApiError, NetworkError } from '../../../cli/api-client';
import { waitForTask } from '../../../cli/wait';
import type { TaskStatus, TaskView } from '../../../lambda/core/task';

const view = (status: TaskStatus): TaskView => ({
  task_id: 't-1',
  type: 'echo',
  priority: 'low',
  status,
  attempts: 1,
  created_at: '2026-11-28T08:00:00.000Z',
  updated_at: '2026-11-28T08:00:00.000Z',
});

/** A client whose GETs answer from a list: a view, or an error to throw. */
function scripted(answers: readonly (TaskView | Error)[]) {
  let calls = 0;
  return {
    get: jest.fn(async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    }),
  };
}

describe('Function: waitForTask', () => {
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };

  afterEach(() => {
    sleeps.length = 0;
  });

  it('resolves with the task when it reaches a terminal status', async () => {
    // Prepare
    const client = scripted([view('QUEUED'), view('RUNNING'), view('FAILED')]);
    const seen: TaskStatus[] = [];

    // Act
    const task = await waitForTask(client, 't-1', { sleep, onPoll: (t) => seen.push(t.status) });

    // Assess
    expect(task.status).toBe('FAILED');
    expect(seen).toEqual(['QUEUED', 'RUNNING']);
    expect(client.get).toHaveBeenCalledTimes(3);
  });

  it('grows the pause between polls up to maxIntervalMs when the task takes a while', async () => {
    // Prepare
    const client = scripted([...Array.from({ length: 6 }, () => view('RUNNING')), view('SUCCEEDED')]);

    // Act
    await waitForTask(client, 't-1', { sleep, intervalMs: 100, maxIntervalMs: 300 });

    // Assess
    expect(sleeps).toEqual([100, 150, 225, 300, 300, 300]);
  });

  it('keeps polling when a poll fails transiently', async () => {
    // Prepare
    const unavailable = new ApiError(503, 'ServiceUnavailable', 'try again');
    const client = scripted([unavailable, new NetworkError('Timeout', 'slow'), view('SUCCEEDED')]);

    // Act
    const task = await waitForTask(client, 't-1', { sleep });

    // Assess
    expect(task.status).toBe('SUCCEEDED');
  });

  it('throws when transient failures outnumber maxConsecutiveErrors', async () => {
    // Prepare
    const client = scripted([new ApiError(503, 'ServiceUnavailable', 'down')]);

    // Act
    const waiting = waitForTask(client, 't-1', { sleep, maxConsecutiveErrors: 2 });

    // Assess
    await expect(waiting).rejects.toMatchObject({ code: 'ServiceUnavailable' });
    expect(client.get).toHaveBeenCalledTimes(3);
  });

  it('keeps polling a RUNNING task for as long as it runs when no timeout is given', async () => {
    // Prepare: 500 polls of a running task (heartbeats), then its end
    const client = scripted([...Array.from({ length: 500 }, () => view('RUNNING')), view('SUCCEEDED')]);

    // Act
    const task = await waitForTask(client, 't-1', { sleep });

    // Assess
    expect(task.status).toBe('SUCCEEDED');
    expect(client.get).toHaveBeenCalledTimes(501);
  });

  it('throws WaitTimeout, naming the status it last saw, once timeoutMs has passed', async () => {
    // Prepare: a clock that moves one second a reading
    const client = scripted([view('RUNNING')]);
    let ms = 0;
    const now = () => {
      ms += 1000;
      return ms;
    };

    // Act
    const waiting = waitForTask(client, 't-1', { sleep, now, timeoutMs: 10_000, intervalMs: 100 });

    // Assess
    await expect(waiting).rejects.toMatchObject({
      code: 'WaitTimeout',
      message: expect.stringContaining('still RUNNING'),
    });
    expect(client.get.mock.calls.length).toBeGreaterThan(1);
  });

  it('throws at once when the API answers 404', async () => {
    // Prepare
    const client = scripted([new ApiError(404, 'NotFound', 'no such task'), view('SUCCEEDED')]);

    // Act
    const waiting = waitForTask(client, 't-1', { sleep });

    // Assess
    await expect(waiting).rejects.toMatchObject({ code: 'NotFound' });
    expect(client.get).toHaveBeenCalledTimes(1);
  });
});
