import type { Resend, TierQueue } from '../../../lambda/core/ports';
import { ResendBatch } from '../../../lambda/core/resend-batch';

/** A tier queue that records its re-sends and answers them when told to. */
function recordingQueue() {
  const calls: Array<{ op: 'resend' | 'resendAll'; delays: number[] }> = [];
  let answerAll: (resends: readonly Resend[]) => Array<Error | undefined> = (r) => r.map(() => undefined);
  const queue: TierQueue = {
    changeVisibility: async () => {},
    deadLetter: async () => {},
    sendAll: async () => {},
    resend: async (_message, delaySeconds) => {
      calls.push({ op: 'resend', delays: [delaySeconds] });
    },
    resendAll: async (resends) => {
      calls.push({ op: 'resendAll', delays: resends.map((r) => r.delaySeconds) });
      return answerAll(resends);
    },
  };
  return { queue, calls, answer: (f: typeof answerAll) => (answerAll = f) };
}

const message = (n: number) => ({ body: `{"n":${n}}`, attributes: { task_id: `t-${n}` } });
const settled = (p: Promise<unknown>) =>
  p.then(
    () => 'sent',
    (error: Error) => `failed: ${error.message}`,
  );

describe('Class: ResendBatch', () => {
  it('sends the re-sends of every delivery in one call once all of them asked', async () => {
    // Prepare
    const { queue, calls } = recordingQueue();
    const batch = new ResendBatch(queue, 3, 60_000);
    const deliveries = [batch.delivery(), batch.delivery(), batch.delivery()];

    // Act
    const sends = deliveries.map((d, i) => settled(d.queue.resend(message(i), i + 3)));
    const results = await Promise.all(sends);

    // Assess
    expect(results).toEqual(['sent', 'sent', 'sent']);
    expect(calls).toEqual([{ op: 'resendAll', delays: [3, 4, 5] }]);
  });

  it('holds the re-sends until the deliveries that did not ask have ended', async () => {
    // Prepare
    const { queue, calls } = recordingQueue();
    const batch = new ResendBatch(queue, 3, 60_000);
    const [a, b, c] = [batch.delivery(), batch.delivery(), batch.delivery()];

    // Act
    const sends = Promise.all([
      settled(a.queue.resend(message(0), 1)),
      settled(b.queue.resend(message(1), 2)),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = [...calls];
    c.ended();
    const results = await sends;

    // Assess
    expect(before).toEqual([]);
    expect(results).toEqual(['sent', 'sent']);
    expect(calls).toEqual([{ op: 'resendAll', delays: [1, 2] }]);
  });

  it('sends what it holds after its longest hold, while another delivery is still under way', async () => {
    // Prepare
    const { queue, calls } = recordingQueue();
    const batch = new ResendBatch(queue, 3, 30);
    const [a, b] = [batch.delivery(), batch.delivery(), batch.delivery()];

    // Act: the third delivery never ends
    const results = await Promise.all([
      settled(a!.queue.resend(message(0), 1)),
      settled(b!.queue.resend(message(1), 2)),
    ]);

    // Assess
    expect(results).toEqual(['sent', 'sent']);
    expect(calls).toEqual([{ op: 'resendAll', delays: [1, 2] }]);
  });

  it('sends a lone re-send as one SendMessage, at once when no other delivery is under way', async () => {
    // Prepare
    const { queue, calls } = recordingQueue();
    const batch = new ResendBatch(queue, 2, 60_000);
    const [a, b] = [batch.delivery(), batch.delivery()];

    // Act
    b.ended();
    const result = await settled(a.queue.resend(message(0), 4));

    // Assess
    expect(result).toBe('sent');
    expect(calls).toEqual([{ op: 'resend', delays: [4] }]);
  });

  it('fails only the deliveries whose entries SQS did not take', async () => {
    // Prepare
    const { queue, answer } = recordingQueue();
    answer((resends) => resends.map((r) => (r.delaySeconds === 2 ? new Error('refused') : undefined)));
    const batch = new ResendBatch(queue, 3, 60_000);
    const deliveries = [batch.delivery(), batch.delivery(), batch.delivery()];

    // Act
    const results = await Promise.all(deliveries.map((d, i) => settled(d.queue.resend(message(i), i + 1))));

    // Assess
    expect(results).toEqual(['sent', 'failed: refused', 'sent']);
  });

  it('counts a delivery that ended after asking only once', async () => {
    // Prepare
    const { queue, calls } = recordingQueue();
    const batch = new ResendBatch(queue, 3, 60_000);
    const [a, b, c] = [batch.delivery(), batch.delivery(), batch.delivery()];
    const first = settled(a.queue.resend(message(0), 1));

    // Act: a's end must not stand in for c's
    a.ended();
    const second = settled(b.queue.resend(message(1), 2));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = [...calls];
    c.ended();
    const results = await Promise.all([first, second]);

    // Assess
    expect(before).toEqual([]);
    expect(results).toEqual(['sent', 'sent']);
    expect(calls).toEqual([{ op: 'resendAll', delays: [1, 2] }]);
  });
});
