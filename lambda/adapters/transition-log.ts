/**
 * The consumer's log of task transitions: one line per transition, `task <transition>`, with the task's ids,
 * tier, attempt and error code (never its payload or result).
 *
 * A claim and the end of its attempt in the same invocation make one INFO line, the end's, which carries the
 * claim's fields too (`queue_wait_ms`, `agent_slots_in_use`): a task that succeeds first time costs one line in
 * the consumer's log, not two. The claim line itself is DEBUG then. A claim whose attempt this invocation does
 * not end (the delivery threw before its outcome was written) is logged at INFO when the invocation ends
 * (`flush`), so that every claim shows at INFO one way or the other.
 */
import type { TransitionEvent } from '../core/process-delivery';
import type { Logger } from './logger';

/** The transitions that end the attempt a claim began, as far as this invocation is concerned. */
const ENDS_ATTEMPT: ReadonlySet<TransitionEvent['transition']> = new Set([
  'succeeded',
  'failed',
  'retrying',
  'claim-lost',
  'handed-off',
]);

type Fields = Omit<TransitionEvent, 'transition'>;

export class TransitionLog {
  /** The claims of this invocation whose attempt has not ended yet, by task id and attempt. */
  private readonly claims = new Map<string, Fields>();

  public constructor(private readonly logger: Logger) {}

  public record(event: TransitionEvent): void {
    const { transition, ...fields } = event;
    const key = `${fields.task_id}#${fields.attempt}`;
    if (transition === 'claimed') {
      this.claims.set(key, fields);
      this.logger.debug('task claimed', fields);
      return;
    }
    const claim = ENDS_ATTEMPT.has(transition) ? this.claims.get(key) : undefined;
    if (claim) this.claims.delete(key);
    this.logger.info(`task ${transition}`, claim ? { ...claim, ...fields } : fields);
  }

  /** Logs at INFO the claims whose attempt this invocation did not end. Call when the invocation ends. */
  public flush(): void {
    for (const fields of this.claims.values()) this.logger.info('task claimed', fields);
    this.claims.clear();
  }
}
