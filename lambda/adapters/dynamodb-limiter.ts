/**
 * The limiter's counters in DynamoDB: one item per counter key (lambda/core/limits.ts), read with a consistent
 * read and written whole, conditioned on the version read. Two counters (an agent's and a tenant's) are granted
 * together in one transaction. A write that loses a race reads again and decides again. A release alone decides
 * nothing: it removes its holder in place (`giveBack`), with no read and no race to lose. A state this limiter read
 * or wrote is used again without a read where it is recent enough to be the truth (`remembered`); a write
 * decided on an old one only loses its race.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type CounterState,
  type CounterWrite,
  decide,
  type HeldSlots,
  handOff,
  LimitReason,
  liveHolders,
  moveHolder,
  RATE_STAMP_TOLERANCE_MS,
  type RateStart,
  restamp,
  type SlotChange,
  type SlotDecision,
  type SlotRequest,
} from '../core/limits';
import type { Limiter, SlotGrant } from '../core/ports';

/** The table's partition key. */
export const COUNTER_KEY = 'counter';

/** An idle counter (no live holder) is removed by TTL this long after its last holder's time. */
const IDLE_RETENTION_SECONDS = 86_400;

/** How long after a lost race on a counter an extension, hand-off or restamp reads it before writing. */
const CONTENDED_MS = 1000;

/** Reads and writes of one decision, before the limiter gives up on a contended counter (and the task waits). */
const MAX_TRIES = 8;

/**
 * Reads and writes of one hand-off, extension or restamp before the limiter gives up. Far more than an ask's: a
 * hand-off that gives up leaves its slot taken until its lease runs out (minutes), which a burst of asks must not
 * cause.
 */
const MAX_MOVE_TRIES = 40;

interface CounterItem {
  readonly counter: string;
  readonly holders?: Record<string, number>;
  readonly starts?: number[];
  readonly high_until?: number;
  readonly version?: number;
}

function toState(item: CounterItem | undefined): CounterState | undefined {
  if (!item) return undefined;
  return {
    holders: item.holders ?? {},
    starts: item.starts ?? [],
    ...(item.high_until !== undefined && { highUntil: item.high_until }),
    version: item.version ?? 0,
  };
}

/** Whether an error is a lost race: a conditional write, or a transaction, refused by its condition. */
function lostRace(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some(
      (r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict',
    )
  );
}

/** A random pause before the next try, growing with the tries (up to about 50 ms). */
const pause = (tries = 1) =>
  new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 * tries) + Math.random() * 10));

export class DynamoLimiter implements Limiter {
  public constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * The last state of each counter this limiter read or wrote, with the tick (of `tick`) at which that read or
   * write began: the state is the counter's as it stood after every ask made before that tick.
   */
  private readonly latest = new Map<string, { readonly state: CounterState; readonly asOf: number }>();

  /** This limiter's clock of asks: it moves on when an ask is made (`acquire`). */
  private tick = 0;

  /**
   * When each counter last lost a race here (epoch ms). Within CONTENDED_MS of that, an extension, hand-off or
   * restamp reads the counter before it writes: its remembered state is likely another consumer's old news, and a write
   * refused on its condition is billed as one that succeeds.
   */
  private readonly lostAt = new Map<string, number>();

  private async read(key: string): Promise<CounterState | undefined> {
    const asOf = this.tick;
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ [COUNTER_KEY]: key }),
        ConsistentRead: true,
      }),
    );
    const state = toState(out.Item ? (unmarshall(out.Item) as CounterItem) : undefined);
    if (state) this.latest.set(key, { state, asOf });
    else this.latest.delete(key);
    return state;
  }

  /**
   * The remembered state, when it is fit to decide on without a read:
   * - for an ask made at tick `askedAt`, when it is no older than the ask (read or written since: a batch's asks,
   *   made together and answered in turn, share one read while the counter is full);
   * - for an extension, hand-off or restamp (no `askedAt`), unless a write to the counter lost a race here within
   *   CONTENDED_MS.
   * A write decided on it is still conditioned on its version: an old state only loses its race.
   */
  private remembered(key: string, askedAt?: number): CounterState | undefined {
    const latest = this.latest.get(key);
    if (!latest) return undefined;
    if (askedAt !== undefined) return latest.asOf >= askedAt ? latest.state : undefined;
    const contended = Date.now() - (this.lostAt.get(key) ?? Number.NEGATIVE_INFINITY) < CONTENDED_MS;
    return contended ? undefined : latest.state;
  }

  /** The remembered state on a first try when it is fit (`remembered`), else a fresh read. */
  private state(key: string, tries: number, askedAt?: number): Promise<CounterState | undefined> {
    const remembered = tries === 1 ? this.remembered(key, askedAt) : undefined;
    return remembered ? Promise.resolve(remembered) : this.read(key);
  }

  private put(write: CounterWrite, nowMs: number): PutItemCommandInput {
    const { next } = write;
    const lastHold = Math.max(nowMs, ...Object.values(next.holders), next.highUntil ?? 0);
    return {
      TableName: this.tableName,
      Item: marshall(
        {
          [COUNTER_KEY]: write.key,
          holders: next.holders,
          starts: [...next.starts],
          ...(next.highUntil !== undefined && { high_until: next.highUntil }),
          version: next.version,
          expires_at: Math.ceil(lastHold / 1000) + IDLE_RETENTION_SECONDS,
        },
        { removeUndefinedValues: true },
      ),
      ConditionExpression: write.expectedVersion === 0 ? 'attribute_not_exists(#key)' : '#version = :version',
      ExpressionAttributeNames: (write.expectedVersion === 0
        ? { '#key': COUNTER_KEY }
        : { '#version': 'version' }) as Record<string, string>,
      ...(write.expectedVersion !== 0 && {
        ExpressionAttributeValues: marshall({ ':version': write.expectedVersion }),
      }),
    };
  }

  /** Writes all of `writes` or none; false when one lost a race. */
  private async write(writes: readonly CounterWrite[], nowMs: number): Promise<boolean> {
    const asOf = this.tick;
    try {
      if (writes.length === 1) {
        await this.client.send(new PutItemCommand(this.put(writes[0]!, nowMs)));
      } else if (writes.length > 1) {
        await this.client.send(
          new TransactWriteItemsCommand({ TransactItems: writes.map((w) => ({ Put: this.put(w, nowMs) })) }),
        );
      }
      for (const w of writes) this.latest.set(w.key, { state: w.next, asOf });
      return true;
    } catch (error) {
      if (lostRace(error)) {
        for (const w of writes) {
          this.latest.delete(w.key);
          this.lostAt.set(w.key, Date.now());
        }
        return false;
      }
      throw error;
    }
  }

  /**
   * The asks of this process in flight, by the counter they contend for (the agent's, else the tenant's). A
   * consumer asks for a whole batch at once; in turn, the first takes the free slot and the others find it taken,
   * instead of all writing and all but one losing (a lost conditional write is billed too). The others decide on the
   * state the first read or wrote, since it is no older than they are (`remembered`): a batch of waiting tasks
   * costs one read of a full counter, not one each.
   */
  private readonly inTurn = new Map<string, Promise<unknown>>();

  public acquire(request: SlotRequest): Promise<SlotGrant> {
    const key = request.agent?.key ?? request.tenant?.key ?? '';
    const previous = this.inTurn.get(key) ?? Promise.resolve();
    const askedAt = ++this.tick;
    const ask = previous.catch(() => {}).then(() => this.ask(request, askedAt));
    this.inTurn.set(key, ask);
    const forget = () => {
      if (this.inTurn.get(key) === ask) this.inTurn.delete(key);
    };
    ask.then(forget, forget);
    return ask;
  }

  private async ask(request: SlotRequest, askedAt: number): Promise<SlotGrant> {
    const keys = [request.agent?.key, request.tenant?.key].filter((k): k is string => k !== undefined);
    for (let tries = 1; ; tries++) {
      const states = await Promise.all(keys.map((key) => this.state(key, tries, askedAt)));
      // The clock is read once the counters are in: a start is stamped as near its grant's write as can be, so
      // that a slow read does not date it earlier than the call it allows.
      const nowMs = Date.now();
      const decision = decide(
        { ...request, nowMs, holdUntilMs: request.holdUntilMs + (nowMs - request.nowMs) },
        new Map(keys.map((key, i) => [key, states[i]])),
      );
      if (!decision.granted) {
        // A waiting high task's mark: when another write got there first, decided again on what it wrote (the
        // mark is what keeps low tasks out, so it is not left to the next ask).
        if (!(await this.write(decision.writes, nowMs)) && tries < MAX_TRIES) {
          await pause();
          continue;
        }
        return {
          granted: false,
          reason: decision.reason,
          ...(decision.retryAfterMs !== undefined && { retryAfterMs: decision.retryAfterMs }),
        };
      }
      if (await this.write(decision.writes, nowMs)) return toGrant(decision);
      if (tries >= MAX_TRIES) {
        // Contended past reason: the task waits and asks again, as if the limit were reached.
        return { granted: false, reason: firstReason(request) };
      }
      await pause();
    }
  }

  private async move(key: string, holder: string, change: SlotChange, now: Date): Promise<number> {
    for (let tries = 1; ; tries++) {
      const remembered = tries === 1 ? this.remembered(key) : undefined;
      const state = remembered ?? (await this.read(key));
      const nowMs = now.getTime();
      if (!state) return 0;
      const next = moveHolder(state, holder, change, nowMs);
      // Nothing to write by the remembered state: make sure with a read.
      if (!next && remembered) {
        this.latest.delete(key);
        continue;
      }
      if (!next) return Object.keys(liveHolders(state, nowMs)).length;
      if (await this.write([{ key, expectedVersion: state.version, next }], nowMs)) {
        return Object.keys(liveHolders(next, nowMs)).length;
      }
      if (tries >= MAX_MOVE_TRIES) throw new Error(`the limiter counter ${key} is too contended to update`);
      await pause(tries);
    }
  }

  public async release(slots: HeldSlots, now: Date): Promise<ReadonlyMap<string, number>> {
    const inUse = await Promise.all(slots.keys.map((key) => this.giveBack(key, slots.holder, now.getTime())));
    return new Map(slots.keys.map((key, i) => [key, inUse[i]!]));
  }

  /**
   * Gives `holder`'s slot of `key` back in one UpdateItem that needs no read and never loses a race: it removes the
   * holder, if it is there, and moves the version on, so that a write decided on the state before it loses its race
   * (as against any other write). Nothing else of the counter is read or decided, so it cannot be wrong about it;
   * the holders whose time has passed stay until the next write of the whole counter. Returns the slots in use
   * after it (before it, when the holder was not there: a retried release).
   */
  private async giveBack(key: string, holder: string, nowMs: number): Promise<number> {
    const asOf = this.tick;
    const known = (item: Record<string, AttributeValue> | undefined): number => {
      const state = toState(item ? (unmarshall(item) as CounterItem) : undefined);
      if (state) this.latest.set(key, { state, asOf });
      else this.latest.delete(key);
      return state ? Object.keys(liveHolders(state, nowMs)).length : 0;
    };
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ [COUNTER_KEY]: key }),
          UpdateExpression: 'REMOVE #holders.#holder SET #version = #version + :one',
          ConditionExpression: 'attribute_exists(#holders.#holder)',
          ExpressionAttributeNames: { '#holders': 'holders', '#holder': holder, '#version': 'version' },
          ExpressionAttributeValues: marshall({ ':one': 1 }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return known(out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return known(error.Item);
      throw error;
    }
  }

  public async extend(slots: HeldSlots, untilMs: number, now: Date): Promise<void> {
    await Promise.all(slots.keys.map((key) => this.move(key, slots.holder, { untilMs }, now)));
  }

  public async keepUntil(slots: HeldSlots, untilMs: number, now: Date): Promise<void> {
    await Promise.all(slots.keys.map((key) => this.move(key, slots.holder, { untilMs, exactly: true }, now)));
  }

  public async handOff(
    slots: HeldSlots,
    request: SlotRequest,
  ): Promise<{ inUse: ReadonlyMap<string, number>; grant: SlotGrant }> {
    const keys = [...new Set([...slots.keys, request.agent?.key, request.tenant?.key])].filter(
      (k): k is string => k !== undefined,
    );
    for (let tries = 1; ; tries++) {
      const states = await Promise.all(keys.map((key) => this.state(key, tries)));
      const nowMs = Date.now();
      const { decision, writes } = handOff(
        slots,
        { ...request, nowMs, holdUntilMs: request.holdUntilMs + (nowMs - request.nowMs) },
        new Map(keys.map((key, i) => [key, states[i]])),
      );
      if (await this.write(writes, nowMs)) {
        const inUse = new Map(
          slots.keys.map((key) => {
            const state = writes.find((w) => w.key === key)?.next ?? states[keys.indexOf(key)];
            const holders = state ? liveHolders(state, nowMs) : {};
            // The slots in use once this attempt's is given back: the waiting task's counts as the next grant's.
            return [key, Object.keys(holders).filter((h) => h !== request.holder).length] as const;
          }),
        );
        return {
          inUse,
          grant: decision.granted
            ? toGrant(decision)
            : {
                granted: false,
                reason: decision.reason,
                ...(decision.retryAfterMs !== undefined && { retryAfterMs: decision.retryAfterMs }),
              },
        };
      }
      if (tries >= MAX_MOVE_TRIES)
        throw new Error('the limiter counters are too contended to hand a slot over');
      await pause(tries);
    }
  }

  public async restamp(start: RateStart): Promise<number> {
    // Stamped this far ahead of the clock: about the write's own time, so that the call goes at its stamp.
    let leadMs = 0;
    for (let tries = 1; ; tries++) {
      const state = (await this.state(start.key, tries)) ?? { holders: {}, starts: [], version: 0 };
      const t0 = Date.now();
      const toMs = t0 + leadMs;
      const moved = restamp(state, start.atMs, toMs, start.rate);
      if (!moved.ok) {
        await new Promise((resolve) => setTimeout(resolve, moved.waitMs));
        continue;
      }
      const written = await this.write(
        [{ key: start.key, expectedVersion: state.version, next: moved.next }],
        t0,
      );
      const late = Date.now() - toMs;
      if (written && late <= RATE_STAMP_TOLERANCE_MS) return toMs;
      if (written) {
        // The write took longer than the tolerance: the stamp is moved again, further ahead.
        start = { ...start, atMs: toMs };
        leadMs = Math.min(1000, Date.now() - t0 + RATE_STAMP_TOLERANCE_MS / 2);
      }
      if (tries >= MAX_MOVE_TRIES)
        throw new Error(`the limiter counter ${start.key} is too contended to restamp`);
      if (!written) await pause(tries);
    }
  }

  /** Every counter, by key (the chaos run's end check, and `taskq`'s view of the limits). */
  public async counters(): Promise<Map<string, CounterState>> {
    const counters = new Map<string, CounterState>();
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ...(start && { ExclusiveStartKey: start as never }),
        }),
      );
      for (const raw of out.Items ?? []) {
        const item = unmarshall(raw) as CounterItem;
        counters.set(item.counter, toState(item)!);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return counters;
  }
}

function toGrant(decision: SlotDecision & { granted: true }): SlotGrant {
  return {
    granted: true,
    slots: decision.slots,
    ...(decision.agentInUse !== undefined && { agentInUse: decision.agentInUse }),
    ...(decision.start && { start: decision.start }),
  };
}

/** The reason a contended ask waits under: the agent's first limit, or the tenant's cap. */
function firstReason(request: SlotRequest): LimitReason {
  if (request.agent?.limits.maxConcurrency !== undefined) return LimitReason.AgentConcurrencyLimit;
  if (request.agent?.limits.rateLimit !== undefined) return LimitReason.AgentRateLimit;
  return LimitReason.TenantConcurrencyLimit;
}
