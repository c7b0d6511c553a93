/**
 * Tasks waiting for a limiter slot inside one consumer process (a Lambda execution environment), so that a slot
 * given back in this process goes straight to one of them (limits.ts `handOff`, one write) instead of waiting for a
 * waiting task's next delivery. No clock but timers, no AWS: process-delivery.ts decides who waits and for how long.
 *
 * - A waiting task is woken by a hand-off (an attempt of this process that held a slot of the counter it waits for
 *   gave it back), by its own timer (a rate limit's `retryAfterMs`, or the end of its wait), or by a nudge (a slot of
 *   its counter was given back here while no task waited yet, so it asks at once).
 * - Hand-offs go to the waiting high tasks first, then the low ones, each in the order they came.
 * - Waiting is not polling: a waiting task asks only when woken.
 */
import type { SlotRequest } from './limits';
import type { SlotGrant } from './ports';

/** Why a waiting task woke: a hand-off's outcome (decided by the one who handed it), or its turn to ask. */
export type WakeUp = { readonly kind: 'handed'; readonly grant: SlotGrant } | { readonly kind: 'ask' };

interface Waiter {
  /** The counter key it waits for. */
  readonly key: string;
  /** What the one handing it a slot asks for it. */
  readonly request: SlotRequest;
  readonly wake: (event: WakeUp) => void;
  /** Stops its timer: once taken, it wakes only with the outcome it is given, never lost to a timer. */
  readonly stopTimer: () => void;
}

/**
 * A waiting task taken out of the room by the one handing it a slot: its grant or refusal must be given, or nothing
 * (the hand-off failed: it asks for itself).
 */
export interface Taken {
  readonly request: SlotRequest;
  readonly give: (grant: SlotGrant | undefined) => void;
}

export class SlotWaits {
  /** The attempts of this process holding a slot, by counter key. */
  private readonly held = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  /** This process's attempts now hold a slot of each of `keys`. */
  public hold(keys: readonly string[]): void {
    for (const key of keys) this.held.set(key, (this.held.get(key) ?? 0) + 1);
  }

  /** One of this process's attempts no longer holds its slot of each of `keys`. */
  public unhold(keys: readonly string[]): void {
    for (const key of keys) {
      const n = (this.held.get(key) ?? 0) - 1;
      if (n > 0) this.held.set(key, n);
      else this.held.delete(key);
    }
  }

  /** Whether an attempt of this process holds a slot of `key`: its end may hand it over. */
  public holds(key: string): boolean {
    return (this.held.get(key) ?? 0) > 0;
  }

  /** Tasks waiting now. */
  public get size(): number {
    return this.waiters.length;
  }

  /** Waits for a hand-off of a slot of `key`, or for `askInMs` (then it is this task's turn to ask). */
  public wait(key: string, request: SlotRequest, askInMs: number): Promise<WakeUp> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        request,
        wake: (event: WakeUp) => {
          clearTimeout(timer);
          resolve(event);
        },
        stopTimer: () => clearTimeout(timer),
      };
      const timer = setTimeout(
        () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          resolve({ kind: 'ask' });
        },
        Math.max(0, askInMs),
      );
      this.waiters.push(waiter);
    });
  }

  /**
   * Takes the waiting task a slot of `keys` should go to (high first, then the oldest), or none. Its timer stops;
   * it wakes with the outcome the taker gives.
   */
  public take(keys: readonly string[]): Taken | undefined {
    const next = this.first(keys);
    if (!next) return undefined;
    return {
      request: next.request,
      give: (grant) => next.wake(grant ? { kind: 'handed', grant } : { kind: 'ask' }),
    };
  }

  /** The first waiting task for one of `keys` (high first), out of the room. */
  private first(keys: readonly string[]): Waiter | undefined {
    const matches = this.waiters.filter((w) => keys.includes(w.key));
    const next = matches.find((w) => w.request.priority === 'high') ?? matches[0];
    if (next) {
      this.waiters.splice(this.waiters.indexOf(next), 1);
      next.stopTimer();
    }
    return next;
  }

  /** A slot of `keys` was given back with no task waiting for it then: the first that waits now asks at once. */
  public nudge(keys: readonly string[]): void {
    this.first(keys)?.wake({ kind: 'ask' });
  }
}
