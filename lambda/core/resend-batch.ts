/**
 * The re-sends of one consumer invocation, gathered into SendMessageBatch calls (TierQueue `resendAll`). A task
 * waiting for a limit is sent again with a delay each time it asks (process-delivery.ts), and the tasks of one
 * batch that wait tend to ask together: one call for all of them costs one SQS request, not one each.
 *
 * The batch holds a re-send until every delivery of the invocation still under way is waiting on its own
 * re-send, or for at most `maxHoldMs` after the first one it holds: a delivery whose agent runs for minutes does
 * not hold back the others. A waiting task's delay is whole seconds, so the hold changes little of when it asks
 * again. Each delivery's `resend` settles as its own entry did: a message SQS refused fails only its delivery.
 */
import type { Resend, TierQueue } from './ports';

/** The longest a re-send is held for the invocation's other deliveries. */
export const RESEND_HOLD_MS = 50;

export class ResendBatch {
  private deciding: number;
  private held: Array<{ readonly resend: Resend; readonly settle: (error: Error | undefined) => void }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `deliveries`: how many deliveries the invocation runs; each must take one `delivery()`. */
  public constructor(
    private readonly queue: TierQueue,
    deliveries: number,
    private readonly maxHoldMs = RESEND_HOLD_MS,
  ) {
    this.deciding = deliveries;
  }

  /**
   * One delivery's view of the tier queue, its `resend` gathered here, and `ended`, to call once the delivery has
   * settled, whatever its outcome.
   */
  public delivery(): { readonly queue: TierQueue; readonly ended: () => void } {
    const inner = this.queue;
    // Whether this delivery is counted as decided: by its (first) re-send, or by its end.
    let decided = false;
    const queue: TierQueue = {
      changeVisibility: (receiptHandle, seconds) => inner.changeVisibility(receiptHandle, seconds),
      deadLetter: (body, error, taskId, groupId) => inner.deadLetter(body, error, taskId, groupId),
      sendAll: (messages) => inner.sendAll(messages),
      resendAll: (resends) => inner.resendAll(resends),
      resend: (message, delaySeconds) => {
        if (decided) return inner.resend(message, delaySeconds);
        decided = true;
        return this.hold({ message, delaySeconds });
      },
    };
    const ended = () => {
      if (decided) return;
      decided = true;
      this.decided();
    };
    return { queue, ended };
  }

  private hold(resend: Resend): Promise<void> {
    return new Promise((resolve, reject) => {
      this.held.push({ resend, settle: (error) => (error ? reject(error) : resolve()) });
      this.decided();
      if (this.held.length > 0) this.timer ??= setTimeout(() => this.send(), this.maxHoldMs);
    });
  }

  private decided(): void {
    this.deciding -= 1;
    if (this.deciding <= 0 && this.held.length > 0) this.send();
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    this.held = [];
    if (held.length === 1) {
      const [only] = held;
      this.queue.resend(only!.resend.message, only!.resend.delaySeconds).then(
        () => only!.settle(undefined),
        (error: unknown) => only!.settle(error as Error),
      );
      return;
    }
    this.queue.resendAll(held.map((h) => h.resend)).then(
      (answers) => {
        for (const [i, h] of held.entries()) h.settle(answers[i]);
      },
      (error: unknown) => {
        for (const h of held) h.settle(error as Error);
      },
    );
  }
}
