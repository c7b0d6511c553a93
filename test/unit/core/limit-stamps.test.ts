/**
 * The rate log's stamps and the hand-off (lambda/core/limits.ts `rateWaitMs`, `restamp`, `handOff`), and the in-process
 * wait's bound (process-delivery.ts `inProcessWaitMs`). Pure: no clock, no table.
 */
import fc from 'fast-check';
import {
  type AgentRateLimit,
  agentCounterKey,
  type CounterState,
  EMPTY_COUNTER,
  handOff,
  LimitReason,
  RATE_CALL_HOP_MS,
  RATE_STAMP_TOLERANCE_MS,
  RATE_WINDOW_MARGIN_MS,
  rateWaitMs,
  restamp,
  type SlotRequest,
  tenantCounterKey,
} from '../../../lambda/core/limits';
import { IN_PROCESS_WAIT_RESERVE_MS, inProcessWaitMs } from '../../../lambda/core/process-delivery';

const NOW = 1_767_225_600_000;
const AGENT = agentCounterKey('limited');
const TENANT = tenantCounterKey('acme');
const RATE: AgentRateLimit = { requests: 2, perSeconds: 1 };
const WINDOW_MS = 1000 + RATE_WINDOW_MARGIN_MS;

const counter = (fields: Partial<CounterState> = {}): CounterState => ({
  ...EMPTY_COUNTER,
  version: 7,
  ...fields,
});

/** The most starts within any window of `windowMs` (half open, as the limiter counts). */
function mostInWindow(starts: readonly number[], windowMs: number): number {
  const s = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < s.length; j++) {
    while (s[j]! - s[i]! >= windowMs) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

describe('Constant: RATE_WINDOW_MARGIN_MS', () => {
  it('covers the stamp tolerance and the call hop, so that calls within them of their stamps keep the window', () => {
    // Assess
    expect(RATE_WINDOW_MARGIN_MS).toBe(RATE_STAMP_TOLERANCE_MS + RATE_CALL_HOP_MS);
    expect(RATE_CALL_HOP_MS).toBeGreaterThan(0);
  });
});

describe('Function: rateWaitMs', () => {
  it('fits a start when the window before it has room', () => {
    // Assess
    expect(rateWaitMs([NOW - 2000, NOW - 10], NOW, RATE)).toBe(0);
  });

  it('waits until the oldest start of a full window leaves it', () => {
    // Assess
    expect(rateWaitMs([NOW - 300, NOW - 100], NOW, RATE)).toBe(WINDOW_MS - 300);
  });

  it('checks the windows that hold later starts too', () => {
    // Prepare: room before NOW, but two starts stamped after it
    const starts = [NOW + 100, NOW + 200];

    // Assess: only once the first of the later two is a window behind does one more fit
    expect(rateWaitMs(starts, NOW, RATE)).toBe(100 + WINDOW_MS);
  });

  it('never leaves more than `requests` starts in a window, wherever the new one goes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 3 }),
        (offsets, at, requests) => {
          const rate = { requests, perSeconds: 1 };
          // A valid log: kept only while it holds the rule
          const log: number[] = [];
          for (const o of offsets) if (rateWaitMs(log, NOW + o, rate) === 0) log.push(NOW + o);
          const wait = rateWaitMs(log, NOW + at, rate);
          expect(mostInWindow([...log, NOW + at + wait], WINDOW_MS)).toBeLessThanOrEqual(requests);
          // And no earlier moment would do
          if (wait > 0) expect(rateWaitMs(log, NOW + at + wait - 1, rate)).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('Function: restamp', () => {
  it('moves a start to its call time, conditioned on the version read', () => {
    // Act
    const moved = restamp(counter({ starts: [NOW - 2000, NOW] }), NOW, NOW + 40, RATE);

    // Assess
    expect(moved).toEqual({ ok: true, next: counter({ starts: [NOW + 40], version: 8 }) });
  });

  it('refuses a move that would overfill a window with starts granted after it, and says how long to wait', () => {
    // Prepare: a start stamped at NOW, called late; one before it, and one granted since
    const state = counter({ starts: [NOW - 500, NOW, NOW + 200] });

    // Act: moved to NOW + 150 it would make 3 within 1 s (NOW - 500, NOW + 150, NOW + 200)
    const moved = restamp(state, NOW, NOW + 150, RATE);

    // Assess: it fits once NOW - 500 is a whole window behind it
    expect(moved).toEqual({ ok: false, waitMs: NOW - 500 + WINDOW_MS - (NOW + 150) });
  });

  it('adds a stamp the log no longer has', () => {
    // Act
    const moved = restamp(counter(), NOW, NOW + 30, RATE);

    // Assess
    expect(moved).toEqual({ ok: true, next: counter({ starts: [NOW + 30], version: 8 }) });
  });

  it('keeps every window within the limit once moved, or asks to wait (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 8 }),
        fc.nat({ max: 7 }),
        fc.integer({ min: 1, max: 500 }),
        (offsets, pick, late) => {
          const log: number[] = [];
          for (const o of [...offsets].sort((a, b) => a - b))
            if (rateWaitMs(log, NOW + o, RATE) === 0) log.push(NOW + o);
          if (!log.length) return;
          const from = log[pick % log.length]!;
          const moved = restamp(counter({ starts: log }), from, from + late, RATE);
          if (moved.ok) expect(mostInWindow(moved.next.starts, WINDOW_MS)).toBeLessThanOrEqual(RATE.requests);
          else {
            const again = restamp(counter({ starts: log }), from, from + late + moved.waitMs, RATE);
            expect(again.ok).toBe(true);
          }
        },
      ),
    );
  });
});

describe('Function: handOff', () => {
  const request = (fields: Partial<SlotRequest> = {}): SlotRequest => ({
    holder: 'waiter',
    priority: 'low',
    nowMs: NOW,
    holdUntilMs: NOW + 60_000,
    wakeUpMs: 5000,
    agent: { key: AGENT, limits: { maxConcurrency: 1 } },
    ...fields,
  });
  const held = { keys: [AGENT], holder: 'done' };

  it('gives the slot back and grants it to the waiting task in one write on the version read', () => {
    // Act
    const { decision, writes } = handOff(
      held,
      request(),
      new Map([[AGENT, counter({ holders: { done: NOW + 9000 } })]]),
    );

    // Assess
    expect(decision).toMatchObject({
      granted: true,
      slots: { keys: [AGENT], holder: 'waiter' },
      agentInUse: 1,
    });
    expect(writes).toEqual([
      { key: AGENT, expectedVersion: 7, next: counter({ holders: { waiter: NOW + 60_000 }, version: 8 }) },
    ]);
  });

  it('only gives the slot back when a high task waits elsewhere and the waiting task is low', () => {
    // Act
    const { decision, writes } = handOff(
      held,
      request(),
      new Map([[AGENT, counter({ holders: { done: NOW + 9000 }, highUntil: NOW + 3000 })]]),
    );

    // Assess
    expect(decision).toMatchObject({ granted: false, reason: LimitReason.AgentConcurrencyLimit });
    expect(writes).toEqual([
      { key: AGENT, expectedVersion: 7, next: counter({ holders: {}, highUntil: NOW + 3000, version: 8 }) },
    ]);
  });

  it('gives the slot back and says when the rate allows the next start, when the rate window is full', () => {
    // Act
    const { decision, writes } = handOff(
      held,
      request({ agent: { key: AGENT, limits: { maxConcurrency: 1, rateLimit: RATE } } }),
      new Map([[AGENT, counter({ holders: { done: NOW + 9000 }, starts: [NOW - 500, NOW - 100] })]]),
    );

    // Assess
    expect(decision).toMatchObject({
      granted: false,
      reason: LimitReason.AgentRateLimit,
      retryAfterMs: WINDOW_MS - 500,
    });
    expect(writes).toEqual([
      {
        key: AGENT,
        expectedVersion: 7,
        next: counter({ holders: {}, starts: [NOW - 500, NOW - 100], version: 8 }),
      },
    ]);
  });

  it("writes the tenant's counter too, all on the versions read", () => {
    // Act
    const { decision, writes } = handOff(
      { keys: [AGENT, TENANT], holder: 'done' },
      request({ tenant: { key: TENANT, maxConcurrency: 1 } }),
      new Map([
        [AGENT, counter({ holders: { done: NOW + 9000 } })],
        [TENANT, counter({ holders: { done: NOW + 9000 }, version: 2 })],
      ]),
    );

    // Assess
    expect(decision.granted).toBe(true);
    expect(
      writes.map((w) => [w.key, w.expectedVersion, w.next.version, Object.keys(w.next.holders)]),
    ).toEqual([
      [AGENT, 7, 8, ['waiter']],
      [TENANT, 2, 3, ['waiter']],
    ]);
  });
});

describe('Function: inProcessWaitMs', () => {
  it('waits at most the wake-up interval', () => {
    // Assess
    expect(inProcessWaitMs(5000, 120_000, 60_000)).toBe(5000);
  });

  it('never waits into the time its own agent call and the reserve need', () => {
    // Assess
    expect(inProcessWaitMs(5000, 60_000 + IN_PROCESS_WAIT_RESERVE_MS + 1200, 60_000)).toBe(1200);
    expect(inProcessWaitMs(5000, 60_000, 60_000)).toBe(0);
  });
});
