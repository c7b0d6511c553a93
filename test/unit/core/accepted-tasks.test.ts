import { acceptedTask } from '../../../lambda/core/accepted-tasks';

describe('acceptedTask: which writes of the task table are accepted tasks', () => {
  const queued = { type: 'echo', priority: 'low' as const };

  it('is the created record: no old image, a new one', () => {
    expect(acceptedTask(undefined, queued)).toEqual({ tier: 'low', type: 'echo' });
  });

  it('is nothing for an update, a removal or a delivery of a published task', () => {
    expect(acceptedTask(queued, { ...queued })).toBeUndefined();
    expect(acceptedTask(queued, undefined)).toBeUndefined();
    expect(acceptedTask(undefined, { ...queued, published_task_id: 'p-1' })).toBeUndefined();
  });

  it('is nothing for a created item that is not a task record (no tier or type)', () => {
    expect(acceptedTask(undefined, { type: 'echo', priority: 'urgent' as never })).toBeUndefined();
    expect(acceptedTask(undefined, { priority: 'high' } as never)).toBeUndefined();
  });
});
