import {
  type CallbackAnchor,
  callbackAnchorProblem,
  FUZZ_PROGRESS_MARK,
} from '../../../chaos/fuzz/callback-anchor';
import { TaskStatus } from '../../../lambda/core/task';

const anchor: CallbackAnchor = { taskId: '3f1c2a4e-0000-4000-8000-000000000001', attempts: 1 };
const running = {
  status: TaskStatus.RUNNING,
  attempts: 1,
  heartbeat_at: '2026-01-01T00:00:00.000Z',
  progress: { percent: 12, message: 'echoing: 1000 of 1800000 ms' },
};

describe('Function: callbackAnchorProblem', () => {
  it('passes a task still RUNNING in its first attempt with its own progress', () => {
    // Act & Assess
    expect(callbackAnchorProblem(anchor, running)).toBeUndefined();
  });

  it.each([TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.RETRYING, TaskStatus.CANCELLED])(
    'flags a task that is %s',
    (status) => {
      // Act & Assess
      expect(callbackAnchorProblem(anchor, { ...running, status })).toBe(`is ${status}, not RUNNING`);
    },
  );

  it('flags a task in another attempt', () => {
    // Act & Assess
    expect(callbackAnchorProblem(anchor, { ...running, attempts: 2 })).toBe('is in attempt 2, not 1');
  });

  it('flags a cancel request', () => {
    // Act & Assess
    expect(callbackAnchorProblem(anchor, { ...running, cancel_requested: true })).toMatch(/cancel_requested/);
  });

  it('flags an error', () => {
    // Act & Assess
    expect(
      callbackAnchorProblem(anchor, { ...running, error: { code: 'HeartbeatTimeout', message: 'lost' } }),
    ).toMatch(/HeartbeatTimeout/);
  });

  it('flags progress the fuzz sent', () => {
    // Act & Assess
    expect(
      callbackAnchorProblem(anchor, { ...running, progress: { message: `${FUZZ_PROGRESS_MARK} hi` } }),
    ).toMatch(/the fuzz's progress/);
  });
});
