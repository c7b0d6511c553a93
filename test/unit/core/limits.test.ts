/**
 * The limiter's rules (lambda/core/limits.ts): who may start, what the grant or the refusal writes, how a slot
 * moves, and how long a waiting task stays away. Pure: no clock, no table.
 */
import fc from 'fast-check';
import {
  type AgentLimitConfig,
  agentCounterKey,
  type CounterState,
  counterIsFree,
  decide,
  EMPTY_COUNTER,
  HIGH_MARK_WAKE_UPS,
  LimitReason,
  liveHolders,
  moveHolder,
  RATE_WINDOW_MARGIN_MS,
  type SlotRequest,
  tenantCounterKey,
  waitDelaySeconds,
} from '../../../lambda/core/limits';
import { InMemoryLimiter } from '../support/in-memory';

const NOW = 1_767_225_600_000;
const WAKE_UP_MS = 5_000;
const HOLD_UNTIL = NOW + 60_000;
const AGENT = agentCounterKey('limited');
const TENANT = tenantCounterKey('acme');

/** A low task asking, as holder `t1`, for a slot of an agent limited to 2 at once, at NOW. */
function ask(
  fields: Partial<SlotRequest> = {},
  limits: AgentLimitConfig = { maxConcurrency: 2 },
): SlotRequest {
  return {
    holder: 't1',
    priority: 'low',
    nowMs: NOW,
    holdUntilMs: HOLD_UNTIL,
    wakeUpMs: WAKE_UP_MS,
    agent: { key: AGENT, limits },
    ...fields,
  };
}

function counter(fields: Partial<CounterState> = {}): CounterState {
  return { ...EMPTY_COUNTER, version: 3, ...fields };
}

const read = (counters: Record<string, CounterState> = {}) => new Map(Object.entries(counters));

describe('Function: decide', () => {
  describe('the agent concurrency limit', () => {
    it('grants a slot of a counter never written, as its first version', () => {
      // Act
      const decision = decide(ask(), read());

      // Assess
      expect(decision).toEqual({
        granted: true,
        writes: [
          { key: AGENT, expectedVersion: 0, next: { holders: { t1: HOLD_UNTIL }, starts: [], version: 1 } },
        ],
        slots: { keys: [AGENT], holder: 't1' },
        agentInUse: 1,
      });
    });

    it('grants the last free slot, conditioned on the version read', () => {
      // Act
      const decision = decide(ask(), read({ [AGENT]: counter({ holders: { other: NOW + 1_000 } }) }));

      // Assess
      expect(decision).toEqual({
        granted: true,
        writes: [
          {
            key: AGENT,
            expectedVersion: 3,
            next: { holders: { other: NOW + 1_000, t1: HOLD_UNTIL }, starts: [], version: 4 },
          },
        ],
        slots: { keys: [AGENT], holder: 't1' },
        agentInUse: 2,
      });
    });

    it('refuses when maxConcurrency live holders hold the slots, and a low task writes nothing', () => {
      // Act
      const decision = decide(ask(), read({ [AGENT]: counter({ holders: { a: NOW + 1, b: NOW + 1 } }) }));

      // Assess: a holder whose time is now still holds; no retry time, since a holder may end any moment
      expect(decision).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit, writes: [] });
    });

    it("does not count holders whose time has passed (a crashed holder's slot comes back), and drops them", () => {
      // Act
      const decision = decide(
        ask(),
        read({ [AGENT]: counter({ holders: { a: NOW - 1, b: NOW - 60_000 } }) }),
      );

      // Assess
      expect(decision).toMatchObject({
        granted: true,
        writes: [{ next: { holders: { t1: HOLD_UNTIL } } }],
        agentInUse: 1,
      });
    });

    it('lets a holder that holds a live slot keep it, however full the counter, and never shortens it', () => {
      // Prepare: the limiter asks again for a holder whose grant it wrote, after a lost answer
      const holders = { t1: HOLD_UNTIL + 5_000, other: NOW + 1_000 };

      // Act
      const decision = decide(ask(), read({ [AGENT]: counter({ holders }) }));

      // Assess
      expect(decision).toMatchObject({
        granted: true,
        writes: [{ next: { holders: { t1: HOLD_UNTIL + 5_000, other: NOW + 1_000 } } }],
        agentInUse: 2,
      });
    });

    it("moves a held slot's time on to the new hold", () => {
      // Act
      const decision = decide(ask(), read({ [AGENT]: counter({ holders: { t1: NOW + 10 } }) }));

      // Assess
      expect(decision).toMatchObject({ granted: true, writes: [{ next: { holders: { t1: HOLD_UNTIL } } }] });
    });

    it('treats a holder whose slot ran out as a newcomer', () => {
      // Act
      const decision = decide(
        ask(),
        read({ [AGENT]: counter({ holders: { t1: NOW, a: NOW + 1, b: NOW + 1 } }) }),
      );

      // Assess
      expect(decision).toMatchObject({ granted: false, reason: LimitReason.AgentConcurrencyLimit });
    });
  });

  describe('the agent rate limit', () => {
    const rate: AgentLimitConfig = { rateLimit: { requests: 2, perSeconds: 1 } };
    const windowMs = 1_000 + RATE_WINDOW_MARGIN_MS;

    it('counts a start for per plus the margin', () => {
      // Act: the older start is still inside per + the margin, though outside per
      const older = NOW - 1_000 - RATE_WINDOW_MARGIN_MS / 2;
      const decision = decide(ask({}, rate), read({ [AGENT]: counter({ starts: [older, NOW - 10] }) }));

      // Assess: it leaves the window half a margin from now
      expect(decision).toEqual({
        granted: false,
        reason: LimitReason.AgentRateLimit,
        retryAfterMs: RATE_WINDOW_MARGIN_MS / 2,
        writes: [],
      });
    });

    it.each([
      ['just inside the window still counts', false, NOW - windowMs + 1],
      ['at its edge no longer counts', true, NOW - windowMs],
    ])('a start %s (granted: %s)', (_name, granted, oldest) => {
      // Act
      const decision = decide(ask({}, rate), read({ [AGENT]: counter({ starts: [oldest, NOW - 10] }) }));

      // Assess
      expect(decision.granted).toBe(granted);
    });

    it('logs the start and drops those that left the window', () => {
      // Act
      const decision = decide(
        ask({}, rate),
        read({ [AGENT]: counter({ starts: [NOW - 5_000, NOW - windowMs, NOW - 10] }) }),
      );

      // Assess
      expect(decision).toEqual({
        granted: true,
        writes: [
          { key: AGENT, expectedVersion: 3, next: { holders: {}, starts: [NOW - 10, NOW], version: 4 } },
        ],
        slots: { keys: [], holder: 't1' },
        start: { key: AGENT, atMs: NOW, rate: rate.rateLimit },
      });
    });

    it('stamps a start `stampLeadMs` after its grant, and checks the rate at the stamp', () => {
      // Prepare: the window is full now, and its older start leaves it 30 ms from now
      const starts = [NOW - windowMs + 30, NOW - 10];

      // Act
      const early = decide(ask({ stampLeadMs: 20 }, rate), read({ [AGENT]: counter({ starts }) }));
      const led = decide(ask({ stampLeadMs: 40 }, rate), read({ [AGENT]: counter({ starts }) }));

      // Assess: a stamp 20 ms ahead still falls in the full window, and its wait counts from the stamp
      expect(early).toMatchObject({ granted: false, reason: LimitReason.AgentRateLimit, retryAfterMs: 10 });
      // 40 ms ahead it does not: the older start has left that window by then (it stays in the log, still live
      // now), and the new one is logged at the stamp
      expect(led).toEqual({
        granted: true,
        writes: [
          {
            key: AGENT,
            expectedVersion: 3,
            next: { holders: {}, starts: [...starts, NOW + 40], version: 4 },
          },
        ],
        slots: { keys: [], holder: 't1' },
        start: { key: AGENT, atMs: NOW + 40, rate: rate.rateLimit },
      });
    });

    it('counts a start stamped ahead by another consumer against every window that holds it', () => {
      // Prepare: one start now, one stamped 300 ms ahead
      const starts = [NOW, NOW + 300];

      // Act: an ask stamped 100 ms ahead falls between them, in a window that already holds both
      const decision = decide(ask({ stampLeadMs: 100 }, rate), read({ [AGENT]: counter({ starts }) }));

      // Assess
      expect(decision).toMatchObject({ granted: false, reason: LimitReason.AgentRateLimit });
    });

    it('a rate-only agent holds no slot: nothing to give back, no slots in use', () => {
      // Act
      const decision = decide(ask({}, rate), read({ [AGENT]: counter({ holders: { stale: NOW + 9_000 } }) }));

      // Assess
      expect(decision).toMatchObject({
        granted: true,
        slots: { keys: [], holder: 't1' },
        writes: [{ next: { holders: {} } }],
      });
      expect(decision).not.toHaveProperty('agentInUse');
    });

    it('waits for the start that must leave the window when more than `requests` are logged', () => {
      // Prepare: three starts logged (the limit was lowered since)
      const starts = [NOW - 900, NOW - 800, NOW - 100];

      // Act
      const decision = decide(ask({}, rate), read({ [AGENT]: counter({ starts }) }));

      // Assess: after 300 ms only one start is left in the window
      expect(decision).toMatchObject({ granted: false, retryAfterMs: -800 + windowMs });
    });

    it('counts a holder that keeps its slot against the rate too: every grant starts an agent call', () => {
      // Prepare
      const limits = { maxConcurrency: 2, rateLimit: { requests: 1, perSeconds: 1 } };
      const state = counter({ holders: { t1: HOLD_UNTIL }, starts: [NOW - 500] });

      // Act
      const decision = decide(ask({}, limits), read({ [AGENT]: state }));

      // Assess
      expect(decision).toEqual({
        granted: false,
        reason: LimitReason.AgentRateLimit,
        retryAfterMs: 500 + RATE_WINDOW_MARGIN_MS,
        writes: [],
      });
    });

    it('checks the concurrency before the rate, and logs a start only with a grant', () => {
      // Prepare
      const limits = { maxConcurrency: 1, rateLimit: { requests: 1, perSeconds: 1 } };
      const full = counter({ holders: { other: NOW + 1 }, starts: [NOW - 10] });

      // Act
      const refused = decide(ask({}, limits), read({ [AGENT]: full }));
      const granted = decide(ask({}, limits), read({ [AGENT]: counter() }));

      // Assess
      expect(refused).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit, writes: [] });
      expect(granted).toMatchObject({
        granted: true,
        writes: [{ next: { holders: { t1: HOLD_UNTIL }, starts: [NOW] } }],
        slots: { keys: [AGENT], holder: 't1' },
        agentInUse: 1,
      });
    });
  });

  describe('the tenant cap', () => {
    const tenant = { key: TENANT, maxConcurrency: 1 };

    it('grants a tenant slot alone when the agent has no limits', () => {
      // Act
      const decision = decide(ask({ agent: undefined, tenant }), read());

      // Assess
      expect(decision).toEqual({
        granted: true,
        writes: [
          { key: TENANT, expectedVersion: 0, next: { holders: { t1: HOLD_UNTIL }, starts: [], version: 1 } },
        ],
        slots: { keys: [TENANT], holder: 't1' },
      });
    });

    it.each(['low', 'high'] as const)(
      'refuses a %s task at the cap, and writes nothing (no high mark: the agent is not what holds it)',
      (priority) => {
        // Act
        const decision = decide(
          ask({ priority, tenant }),
          read({ [TENANT]: counter({ holders: { other: NOW + 1 } }) }),
        );

        // Assess
        expect(decision).toEqual({ granted: false, reason: LimitReason.TenantConcurrencyLimit, writes: [] });
      },
    );

    it('lets a holder of a tenant slot keep it at the cap', () => {
      // Act
      const decision = decide(
        ask({ agent: undefined, tenant }),
        read({ [TENANT]: counter({ holders: { t1: NOW + 1 } }) }),
      );

      // Assess
      expect(decision).toMatchObject({ granted: true, slots: { keys: [TENANT], holder: 't1' } });
    });

    it('does not count tenant holders whose time has passed', () => {
      // Act
      const decision = decide(
        ask({ agent: undefined, tenant }),
        read({ [TENANT]: counter({ holders: { other: NOW - 1 } }) }),
      );

      // Assess
      expect(decision).toMatchObject({ granted: true, writes: [{ next: { holders: { t1: HOLD_UNTIL } } }] });
    });

    it('grants an agent slot and a tenant slot together: two writes, all or none', () => {
      // Act
      const decision = decide(
        ask({ tenant: { key: TENANT, maxConcurrency: 3 } }),
        read({ [TENANT]: counter({ version: 7, holders: { other: NOW + 1 } }) }),
      );

      // Assess
      expect(decision).toEqual({
        granted: true,
        writes: [
          { key: AGENT, expectedVersion: 0, next: { holders: { t1: HOLD_UNTIL }, starts: [], version: 1 } },
          {
            key: TENANT,
            expectedVersion: 7,
            next: { holders: { other: NOW + 1, t1: HOLD_UNTIL }, starts: [], version: 8 },
          },
        ],
        slots: { keys: [AGENT, TENANT], holder: 't1' },
        agentInUse: 1,
      });
    });

    it('takes no tenant slot when the agent refuses', () => {
      // Act
      const decision = decide(
        ask({ tenant }),
        read({ [AGENT]: counter({ holders: { a: NOW + 1, b: NOW + 1 } }) }),
      );

      // Assess
      expect(decision).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit, writes: [] });
    });
  });

  describe('high before low', () => {
    const full = counter({ holders: { a: NOW + 1_000, b: NOW + 1_000, gone: NOW - 1 }, starts: [] });

    it('a refused high task marks the agent counter for HIGH_MARK_WAKE_UPS wake-ups, dropping what ran out', () => {
      // Act
      const decision = decide(ask({ priority: 'high' }), read({ [AGENT]: full }));

      // Assess
      expect(decision).toEqual({
        granted: false,
        reason: LimitReason.AgentConcurrencyLimit,
        writes: [
          {
            key: AGENT,
            expectedVersion: 3,
            next: {
              holders: { a: NOW + 1_000, b: NOW + 1_000 },
              starts: [],
              highUntil: NOW + HIGH_MARK_WAKE_UPS * WAKE_UP_MS,
              version: 4,
            },
          },
        ],
      });
    });

    it('a high task refused by the rate marks it too, and is told when to ask again', () => {
      // Act
      const decision = decide(
        ask({ priority: 'high' }, { rateLimit: { requests: 1, perSeconds: 1 } }),
        read({ [AGENT]: counter({ starts: [NOW - RATE_WINDOW_MARGIN_MS] }) }),
      );

      // Assess
      expect(decision).toMatchObject({
        granted: false,
        reason: LimitReason.AgentRateLimit,
        retryAfterMs: 1_000,
        writes: [{ next: { highUntil: NOW + HIGH_MARK_WAKE_UPS * WAKE_UP_MS } }],
      });
    });

    it.each([
      ['written more than one wake-up ago', 1, NOW + (HIGH_MARK_WAKE_UPS - 1) * WAKE_UP_MS - 1],
      ['written one wake-up ago', 0, NOW + (HIGH_MARK_WAKE_UPS - 1) * WAKE_UP_MS],
      ['written just now', 0, NOW + HIGH_MARK_WAKE_UPS * WAKE_UP_MS],
    ])('renews a mark %s: %i writes', (_name, writes, highUntil) => {
      // Act
      const decision = decide(ask({ priority: 'high' }), read({ [AGENT]: { ...full, highUntil } }));

      // Assess
      expect(decision.writes).toHaveLength(writes);
    });

    it.each([
      ['a concurrency limit', { maxConcurrency: 5 }, LimitReason.AgentConcurrencyLimit],
      ['only a rate limit', { rateLimit: { requests: 5, perSeconds: 1 } }, LimitReason.AgentRateLimit],
    ])(
      'refuses a low task while the mark is live, with free room, for an agent with %s',
      (_name, limits, reason) => {
        // Act
        const decision = decide(ask({}, limits), read({ [AGENT]: counter({ highUntil: NOW + 1 }) }));

        // Assess
        expect(decision).toEqual({ granted: false, reason, writes: [] });
      },
    );

    it('lets low tasks start again once the mark is not in the future', () => {
      // Act
      const decision = decide(ask(), read({ [AGENT]: counter({ highUntil: NOW }) }));

      // Assess: the grant keeps the mark as it was
      expect(decision).toMatchObject({ granted: true, writes: [{ next: { highUntil: NOW } }] });
    });

    it('lets a high task start while the mark is live', () => {
      // Act
      const decision = decide(ask({ priority: 'high' }), read({ [AGENT]: counter({ highUntil: NOW + 1 }) }));

      // Assess
      expect(decision.granted).toBe(true);
    });

    it('lets a low holder that already holds its slot keep it while the mark is live', () => {
      // Act
      const decision = decide(
        ask(),
        read({ [AGENT]: counter({ highUntil: NOW + 1, holders: { t1: NOW + 1 } }) }),
      );

      // Assess
      expect(decision.granted).toBe(true);
    });
  });
});

describe('Function: moveHolder', () => {
  const state = counter({
    holders: { t1: NOW + 1_000, other: NOW + 2_000, gone: NOW - 1 },
    starts: [NOW - 5],
  });

  it('gives the slot back, dropping the holders that ran out, as the next version', () => {
    // Act
    const next = moveHolder(state, 't1', { release: true }, NOW);

    // Assess
    expect(next).toEqual({ holders: { other: NOW + 2_000 }, starts: [NOW - 5], version: 4 });
  });

  it('moves the slot on to a later time', () => {
    // Act
    const next = moveHolder(state, 't1', { untilMs: NOW + 30_000 }, NOW);

    // Assess
    expect(next).toEqual({
      holders: { t1: NOW + 30_000, other: NOW + 2_000 },
      starts: [NOW - 5],
      version: 4,
    });
  });

  it.each([
    ['a release by a task that holds no slot', 'stranger', { release: true } as const],
    ['an extension by a task that holds no slot', 'stranger', { untilMs: NOW + 30_000 }],
    ['an extension to the time it holds already', 't1', { untilMs: NOW + 1_000 }],
    ['an extension to an earlier time', 't1', { untilMs: NOW + 500 }],
  ])('writes nothing for %s', (_name, holder, change) => {
    // Act
    const next = moveHolder(state, holder, change, NOW);

    // Assess
    expect(next).toBeUndefined();
  });

  it('extends a slot whose time had passed too: its agent may still be working, so the limiter counts it again', () => {
    // Act
    const next = moveHolder(state, 'gone', { untilMs: NOW + 30_000 }, NOW);

    // Assess
    expect(next && liveHolders(next, NOW)).toEqual({
      t1: NOW + 1_000,
      other: NOW + 2_000,
      gone: NOW + 30_000,
    });
  });
});

describe('Function: counterIsFree', () => {
  it.each([
    ['no holder', {}, true],
    ['holders whose time has passed', { a: NOW - 1 }, true],
    ['a holder whose time is now (free at that time)', { a: NOW }, true],
    ['a holder whose time is a millisecond away', { a: NOW + 1 }, false],
    ['a live holder', { a: NOW - 1, b: NOW + 1 }, false],
  ])('says whether a counter with %s is free: %s', (_name, holders, free) => {
    // Act
    const isFree = counterIsFree(counter({ holders }), NOW);

    // Assess
    expect(isFree).toBe(free);
  });
});

describe('Function: waitDelaySeconds', () => {
  const top = () => 1 - Number.EPSILON;
  const bottom = () => 0;

  it.each([
    [0, 1, 1],
    [1, 1, 2],
    [2, 2, 4],
    [3, 3, 5],
    [30, 3, 5],
    [5_000, 3, 5],
  ])(
    'after %i waits in a row, waits between %i and %i s (doubling from 1 s, up to the wake-up)',
    (waits, low, high) => {
      // Act
      const range = [
        waitDelaySeconds(waits, 5, undefined, bottom),
        waitDelaySeconds(waits, 5, undefined, top),
      ];

      // Assess
      expect(range).toEqual([low, high]);
    },
  );

  it('spreads the delays of a burst over the jitter range', () => {
    // Act: the range after two waits is [2, 4]
    const delays = [0, 0.34, 0.67, 0.99].map((r) => waitDelaySeconds(2, 5, undefined, () => r));

    // Assess
    expect(delays).toEqual([2, 3, 4, 4]);
  });

  it.each([
    ['a rate limit frees a start in 2.5 s', 2_500, 3],
    ['a moment from now', 1, 1],
    ['already', 0, 1],
    ['past the wake-up', 60_000, 5],
  ])('asks no sooner than the rate allows, up to the wake-up: %s', (_name, retryAfterMs, delay) => {
    // Act
    const seconds = waitDelaySeconds(0, 5, retryAfterMs, bottom);

    // Assess
    expect(seconds).toBe(delay);
  });

  it('never waits less than 1 s, nor more than the wake-up (whole seconds, as SQS takes them)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100 }),
        fc.integer({ min: 1, max: 900 }),
        fc.option(fc.nat({ max: 10_000_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (waits, wakeUp, retryAfterMs, r) => {
          const seconds = waitDelaySeconds(waits, wakeUp, retryAfterMs, () => r);
          const ceiling = Math.min(wakeUp, 2 ** waits);
          const due = Math.min(wakeUp, Math.ceil((retryAfterMs ?? 0) / 1000));
          expect(Number.isInteger(seconds)).toBe(true);
          expect(seconds).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(ceiling / 2), due));
          expect(seconds).toBeLessThanOrEqual(Math.max(ceiling, due));
        },
      ),
    );
  });
});

describe('Properties: InMemoryLimiter (decide and moveHolder, applied)', () => {
  /** One step of a run: a task asks, gives back, or holds on; or time passes. */
  type Step =
    | { readonly op: 'acquire'; readonly task: number; readonly high: boolean; readonly holdMs: number }
    | { readonly op: 'release'; readonly task: number }
    | { readonly op: 'extend'; readonly task: number; readonly byMs: number }
    | { readonly op: 'wait'; readonly ms: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      op: fc.constant('acquire' as const),
      task: fc.nat({ max: 11 }),
      high: fc.boolean(),
      holdMs: fc.integer({ min: 1, max: 2_000 }),
    }),
    fc.record({ op: fc.constant('release' as const), task: fc.nat({ max: 11 }) }),
    fc.record({
      op: fc.constant('extend' as const),
      task: fc.nat({ max: 11 }),
      byMs: fc.integer({ min: 1, max: 5_000 }),
    }),
    // Time passes in small steps and in steps near the windows' edges, where an off-by-a-margin shows.
    fc.record({
      op: fc.constant('wait' as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 1_500 }), fc.constantFrom(1, 50, 99, 100, 101, 900, 950, 1_000)),
    }),
  );

  it('never lets more tasks run than maxConcurrency, nor more than `requests` start within any `per`', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { minLength: 40, maxLength: 150 }),
        async (maxConcurrency, requests, perSeconds, steps) => {
          const limiter = new InMemoryLimiter();
          const limits = { maxConcurrency, rateLimit: { requests, perSeconds } };
          let nowMs = NOW;
          /** Until when each task runs, as the consumer sees it: from its grant to its release or its time. */
          const running = new Map<string, number>();
          const starts: number[] = [];
          for (const s of steps) {
            const holder = `t${'task' in s ? s.task : 0}`;
            const now = new Date(nowMs);
            if (s.op === 'wait') nowMs += s.ms;
            else if (s.op === 'release') {
              await limiter.release({ keys: [AGENT], holder }, now);
              running.delete(holder);
            } else if (s.op === 'extend') {
              // The consumer extends the slots of an attempt it holds (an AgentTimeout, a heartbeat), before their
              // time: a sync claim's lease is twice the consumer's timeout, and a heartbeat needs a live deadline.
              if (!((running.get(holder) ?? -1) > nowMs)) continue;
              await limiter.extend({ keys: [AGENT], holder }, nowMs + s.byMs, now);
              running.set(holder, Math.max(running.get(holder)!, nowMs + s.byMs));
            } else {
              const grant = await limiter.acquire(
                ask(
                  { holder, priority: s.high ? 'high' : 'low', nowMs, holdUntilMs: nowMs + s.holdMs },
                  limits,
                ),
              );
              if (grant.granted) {
                const until = running.get(holder) ?? 0;
                running.set(holder, Math.max(until > nowMs ? until : 0, nowMs + s.holdMs));
                starts.push(nowMs);
              }
            }
            const runningNow = [...running.values()].filter((until) => until > nowMs).length;
            expect(runningNow).toBeLessThanOrEqual(maxConcurrency);
          }
          for (const at of starts) {
            const inWindow = starts.filter((t) => t > at - perSeconds * 1000 && t <= at).length;
            expect(inWindow).toBeLessThanOrEqual(requests);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never lets one tenant run more than its cap, whatever agents its tasks use', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { minLength: 20, maxLength: 100 }),
        async (cap, steps) => {
          const limiter = new InMemoryLimiter();
          let nowMs = NOW;
          const running = new Map<string, number>();
          for (const s of steps) {
            const holder = `t${'task' in s ? s.task : 0}`;
            const slots = { keys: [TENANT], holder };
            if (s.op === 'wait') nowMs += s.ms;
            else if (s.op === 'release') {
              await limiter.release(slots, new Date(nowMs));
              running.delete(holder);
            } else if (s.op === 'extend') {
              if (!((running.get(holder) ?? -1) > nowMs)) continue;
              await limiter.extend(slots, nowMs + s.byMs, new Date(nowMs));
              running.set(holder, Math.max(running.get(holder)!, nowMs + s.byMs));
            } else {
              const grant = await limiter.acquire(
                ask(
                  {
                    holder,
                    nowMs,
                    holdUntilMs: nowMs + s.holdMs,
                    // Half the tasks use an agent without limits: the tenant's cap holds across agents.
                    ...(s.task % 2 === 0 && { agent: undefined }),
                    tenant: { key: TENANT, maxConcurrency: cap },
                  },
                  { maxConcurrency: 1_000 },
                ),
              );
              if (grant.granted) {
                const until = running.get(holder) ?? 0;
                running.set(holder, Math.max(until > nowMs ? until : 0, nowMs + s.holdMs));
              }
            }
            expect([...running.values()].filter((until) => until > nowMs).length).toBeLessThanOrEqual(cap);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
