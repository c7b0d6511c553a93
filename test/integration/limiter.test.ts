/**
 * DynamoLimiter against DynamoDB Local: the rules of lambda/core/limits.ts written as conditional puts and
 * transactions on a real table, so that concurrent asks cannot both take the last slot, an agent slot and a
 * tenant slot are taken together or not at all, and what the adapter stores reads back as the rules expect.
 * Every test uses counter keys of its own, so the table is shared.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { COUNTER_KEY, DynamoLimiter } from '../../lambda/adapters/dynamodb-limiter';
import {
  type AgentLimitConfig,
  agentCounterKey,
  counterIsFree,
  LimitReason,
  liveHolders,
  RATE_WINDOW_MARGIN_MS,
  type SlotRequest,
  tenantCounterKey,
} from '../../lambda/core/limits';
import type { DynamoEmulator } from '../../local/emulators';
import { suiteDynamoDb } from './support/shared-dynamodb';

// The JVM of DynamoDB Local takes seconds to start on a busy machine.
jest.setTimeout(180_000);

const WAKE_UP_MS = 5_000;
const HOLD_MS = 60_000;

let dynamo: DynamoEmulator | undefined;
let client: DynamoDBClient | undefined;
let tableName: string;
let limiter: DynamoLimiter;

beforeAll(async () => {
  // Tables under names of this suite's own: the shared DynamoDB Local serves.
  dynamo = await suiteDynamoDb();
  client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // As the stack's limits table: one item per counter, keyed by `counter`.
  tableName = `limits-${randomUUID().slice(0, 8)}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: COUNTER_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: COUNTER_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  limiter = new DynamoLimiter(client, tableName);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

/**
 * A client of the test's DynamoDB Local that counts the writes refused on their condition (each is billed), and runs
 * `before` ahead of every command it sends.
 */
function clientCountingLostWrites(before?: (commandName: string) => Promise<void>) {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamo!.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let lost = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      await before?.(context.commandName ?? '');
      try {
        return await next(args);
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') lost += 1;
        throw error;
      }
    },
    { step: 'initialize', name: 'countLostWrites' },
  );
  return { client, lost: () => lost };
}

/** Counter keys no other test uses. */
function freshKeys() {
  const id = randomUUID().slice(0, 8);
  return { agent: agentCounterKey(`agent-${id}`), tenant: tenantCounterKey(`tenant-${id}`) };
}

/** An ask at the current time, held for a minute. */
function ask(
  holder: string,
  fields: {
    agent?: { key: string; limits: AgentLimitConfig };
    tenant?: { key: string; maxConcurrency: number };
    priority?: 'high' | 'low';
  },
): SlotRequest {
  const nowMs = Date.now();
  return {
    holder,
    priority: fields.priority ?? 'low',
    nowMs,
    holdUntilMs: nowMs + HOLD_MS,
    wakeUpMs: WAKE_UP_MS,
    ...(fields.agent && { agent: fields.agent }),
    ...(fields.tenant && { tenant: fields.tenant }),
  };
}

async function counter(key: string) {
  return (await limiter.counters()).get(key);
}

/** Writes a counter item as the adapter stores it, for states a test cannot wait for (old starts, dead holders). */
async function seed(
  key: string,
  item: { holders?: Record<string, number>; starts?: number[]; version: number },
) {
  await client!.send(
    new PutItemCommand({
      TableName: tableName,
      Item: marshall({ [COUNTER_KEY]: key, holders: {}, starts: [], ...item }),
    }),
  );
}

describe('Class: DynamoLimiter on DynamoDB Local', () => {
  it('grants up to maxConcurrency, then refuses', async () => {
    // Prepare
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 3 } };

    // Act
    const grants = [];
    for (const holder of ['a', 'b', 'c', 'd'])
      grants.push(await limiter.acquire(ask(holder, { agent: limits })));

    // Assess
    expect(grants).toEqual([
      { granted: true, slots: { keys: [agent], holder: 'a' }, agentInUse: 1 },
      { granted: true, slots: { keys: [agent], holder: 'b' }, agentInUse: 2 },
      { granted: true, slots: { keys: [agent], holder: 'c' }, agentInUse: 3 },
      { granted: false, reason: LimitReason.AgentConcurrencyLimit },
    ]);
    expect(Object.keys((await counter(agent))!.holders).sort()).toEqual(['a', 'b', 'c']);
  });

  it('grants exactly maxConcurrency of many asks made at once by many consumers: the version condition holds', async () => {
    // Prepare: five consumers (limiters of their own, as separate Lambda environments), four asks each
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 3 } };
    const consumers = Array.from({ length: 5 }, () => new DynamoLimiter(client!, tableName));
    const holders = Array.from({ length: 20 }, (_, i) => `h${i}`);

    // Act
    const grants = await Promise.all(
      holders.map((holder, i) => consumers[i % consumers.length]!.acquire(ask(holder, { agent: limits }))),
    );

    // Assess: the three granted are the three the counter holds, and no grant was lost to a race
    const granted = holders.filter((_, i) => grants[i]!.granted);
    expect(granted).toHaveLength(3);
    const stored = (await counter(agent))!;
    expect(Object.keys(stored.holders).sort()).toEqual([...granted].sort());
    expect(stored.version).toBe(3);
  });

  it('asks in turn within one consumer, so that a batch asking at once loses no conditional write', async () => {
    // Prepare: count the writes DynamoDB refuses on their condition
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 3 } };
    const counting = clientCountingLostWrites();
    const consumer = new DynamoLimiter(counting.client, tableName);

    // Act: a batch of ten asks at once
    const grants = await Promise.all(
      Array.from({ length: 10 }, (_, i) => consumer.acquire(ask(`b${i}`, { agent: limits }))),
    );

    // Assess
    expect(grants.filter((g) => g.granted)).toHaveLength(3);
    expect(counting.lost()).toBe(0);
    counting.client.destroy();
  });

  it('decides a batch of asks on one read of a full counter', async () => {
    // Prepare: the one slot taken by another consumer; a consumer whose requests are counted
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 1 } };
    await limiter.acquire(ask('other', { agent: limits }));
    const sent: string[] = [];
    const counting = clientCountingLostWrites(async (name) => {
      sent.push(name);
    });
    const consumer = new DynamoLimiter(counting.client, tableName);

    // Act: a batch of ten asks at once
    const grants = await Promise.all(
      Array.from({ length: 10 }, (_, i) => consumer.acquire(ask(`b${i}`, { agent: limits }))),
    );

    // Assess: all refused, on the one read the first ask made
    expect(grants.every((g) => !g.granted && g.reason === LimitReason.AgentConcurrencyLimit)).toBe(true);
    expect(sent).toEqual(['GetItemCommand']);
    counting.client.destroy();
  });

  it('never decides an ask on a state read before the ask was made', async () => {
    // Prepare: this consumer takes the one slot (and remembers the counter full); another gives it back
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 1 } };
    const consumer = new DynamoLimiter(client!, tableName);
    const first = await consumer.acquire(ask('a', { agent: limits }));
    if (!first.granted) throw new Error('the test could not take its slot');
    await new DynamoLimiter(client!, tableName).release(first.slots, new Date());

    // Act
    const next = await consumer.acquire(ask('b', { agent: limits }));

    // Assess: the slot given back elsewhere is seen
    expect(next).toMatchObject({ granted: true, slots: { holder: 'b' } });
  });

  it('reads a counter before handing a slot over once a write to it lost a race here', async () => {
    // Prepare: this consumer's hand-off of a slot loses its first write to another consumer's grant
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 3 } };
    const counting = clientCountingLostWrites();
    const consumer = new DynamoLimiter(counting.client, tableName);
    const other = new DynamoLimiter(client!, tableName);
    const a = await consumer.acquire(ask('a', { agent: limits }));
    await other.acquire(ask('o1', { agent: limits }));
    if (!a.granted) throw new Error('the test could not take its slot');
    const b = await consumer.handOff(a.slots, ask('b', { agent: limits }));
    expect(counting.lost()).toBe(1);
    await other.acquire(ask('o2', { agent: limits }));
    if (!b.grant.granted) throw new Error('the test could not hand its slot over');

    // Act: the next hand-off, while the counter counts as contended
    await consumer.handOff(b.grant.slots, ask('c', { agent: limits }));

    // Assess: it read first, and lost no write
    expect(counting.lost()).toBe(1);
    expect(Object.keys((await counter(agent))!.holders).sort()).toEqual(['c', 'o1', 'o2']);
    counting.client.destroy();
  });

  it('gives a slot back in one write with no read, though the counter moved on since this consumer saw it', async () => {
    // Prepare: another consumer took a slot after this one
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 2 } };
    const sent: string[] = [];
    const counting = clientCountingLostWrites(async (name) => {
      sent.push(name);
    });
    const consumer = new DynamoLimiter(counting.client, tableName);
    const a = await consumer.acquire(ask('a', { agent: limits }));
    await new DynamoLimiter(client!, tableName).acquire(ask('o', { agent: limits }));
    if (!a.granted) throw new Error('the test could not take its slot');
    sent.length = 0;

    // Act: the release, then the same release again (retried)
    const inUse = await consumer.release(a.slots, new Date());
    const released = (await counter(agent))!;
    const again = await consumer.release(a.slots, new Date());

    // Assess: one UpdateItem each, no read; the second finds nothing to give back and changes nothing
    expect(sent).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    expect(inUse).toEqual(new Map([[agent, 1]]));
    expect(again).toEqual(new Map([[agent, 1]]));
    expect(Object.keys(released.holders)).toEqual(['o']);
    expect(await counter(agent)).toEqual(released);
    counting.client.destroy();
  });

  it('makes a write decided on the counter before a release lose its race: the slot given back stays free', async () => {
    // Prepare: another consumer remembers the counter with this one's slot taken
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 2 } };
    const other = new DynamoLimiter(client!, tableName);
    const a = await limiter.acquire(ask('a', { agent: limits }));
    const o = await other.acquire(ask('o', { agent: limits }));
    if (!a.granted || !o.granted) throw new Error('the test could not take the slots');

    // Act: this one gives its slot back; the other hands its own over on what it remembers
    await limiter.release(a.slots, new Date());
    const handed = await other.handOff(o.slots, ask('p', { agent: limits }));

    // Assess: the hand-off was written on the counter as the release left it, not over it
    expect(handed.grant).toMatchObject({ granted: true, agentInUse: 1 });
    expect(Object.keys((await counter(agent))!.holders)).toEqual(['p']);
  });

  it('takes an agent slot and a tenant slot in one transaction', async () => {
    // Prepare
    const { agent, tenant } = freshKeys();

    // Act
    const grant = await limiter.acquire(
      ask('a', {
        agent: { key: agent, limits: { maxConcurrency: 5 } },
        tenant: { key: tenant, maxConcurrency: 1 },
      }),
    );

    // Assess
    expect(grant).toEqual({ granted: true, slots: { keys: [agent, tenant], holder: 'a' }, agentInUse: 1 });
    expect(Object.keys((await counter(agent))!.holders)).toEqual(['a']);
    expect(Object.keys((await counter(tenant))!.holders)).toEqual(['a']);
  });

  it('takes both slots or neither when many asks of one tenant race through different agents', async () => {
    // Prepare: one agent type per ask, so that only the tenant's counter is shared
    const { tenant } = freshKeys();
    const asks = Array.from({ length: 10 }, (_, i) => ({ holder: `h${i}`, agent: freshKeys().agent }));

    // Act
    const grants = await Promise.all(
      asks.map(({ holder, agent }) =>
        limiter.acquire(
          ask(holder, {
            agent: { key: agent, limits: { maxConcurrency: 5 } },
            tenant: { key: tenant, maxConcurrency: 2 },
          }),
        ),
      ),
    );

    // Assess
    const counters = await limiter.counters();
    const granted = asks.filter((_, i) => grants[i]!.granted).map((a) => a.holder);
    expect(granted).toHaveLength(2);
    expect(Object.keys(counters.get(tenant)!.holders).sort()).toEqual([...granted].sort());
    for (const { holder, agent } of asks) {
      const agentHolders = Object.keys(counters.get(agent)?.holders ?? {});
      expect({ holder, agentHolders }).toEqual({
        holder,
        agentHolders: granted.includes(holder) ? [holder] : [],
      });
    }
  });

  it('writes nothing when the tenant is at its cap', async () => {
    // Prepare
    const { agent, tenant } = freshKeys();
    const fields = {
      agent: { key: agent, limits: { maxConcurrency: 5 } },
      tenant: { key: tenant, maxConcurrency: 1 },
    };
    await limiter.acquire(ask('a', fields));
    const before = await limiter.counters();

    // Act
    const grant = await limiter.acquire(ask('b', fields));

    // Assess
    expect(grant).toEqual({ granted: false, reason: LimitReason.TenantConcurrencyLimit });
    const after = await limiter.counters();
    expect([after.get(agent), after.get(tenant)]).toEqual([before.get(agent), before.get(tenant)]);
  });

  it('gives a slot back, and moves its time on, writing only when something changes', async () => {
    // Prepare
    const { agent, tenant } = freshKeys();
    const fields = {
      agent: { key: agent, limits: { maxConcurrency: 5 } },
      tenant: { key: tenant, maxConcurrency: 5 },
    };
    const a = await limiter.acquire(ask('a', fields));
    const b = await limiter.acquire(ask('b', fields));
    if (!a.granted || !b.granted) throw new Error('the test could not take its slots');
    const later = Date.now() + 10 * HOLD_MS;

    // Act
    await limiter.extend(a.slots, later, new Date());
    const extended = await counter(agent);
    await limiter.extend(a.slots, later - 1, new Date());
    const unchanged = await counter(agent);
    const inUse = await limiter.release(b.slots, new Date());
    const afterRelease = await limiter.counters();
    const again = await limiter.release(b.slots, new Date());

    // Assess
    expect(extended!.holders.a).toBe(later);
    expect(unchanged).toEqual(extended);
    expect(inUse).toEqual(
      new Map([
        [agent, 1],
        [tenant, 1],
      ]),
    );
    expect(Object.keys(afterRelease.get(agent)!.holders)).toEqual(['a']);
    expect(Object.keys(afterRelease.get(tenant)!.holders)).toEqual(['a']);
    expect(again).toEqual(
      new Map([
        [agent, 1],
        [tenant, 1],
      ]),
    );
    expect((await counter(agent))!.version).toBe(afterRelease.get(agent)!.version);
  });

  it('counts starts over the rate window and says when one more fits', async () => {
    // Prepare
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { rateLimit: { requests: 2, perSeconds: 60 } } };

    // Act
    const grants = [];
    for (const holder of ['a', 'b', 'c']) grants.push(await limiter.acquire(ask(holder, { agent: limits })));

    // Assess: a rate-only agent holds no slot, and the third start waits about a window (with its margin)
    expect(grants.slice(0, 2)).toMatchObject([
      { granted: true, slots: { keys: [], holder: 'a' }, start: { key: agent } },
      { granted: true, slots: { keys: [], holder: 'b' }, start: { key: agent } },
    ]);
    expect(grants[2]).toMatchObject({ granted: false, reason: LimitReason.AgentRateLimit });
    const retryAfterMs = (grants[2] as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000 + RATE_WINDOW_MARGIN_MS);
    expect((await counter(agent))!.starts).toHaveLength(2);
  });

  it('lets a start that left the window go, and drops it from the stored log', async () => {
    // Prepare: two starts, one well out of a one-second window
    const { agent } = freshKeys();
    const nowMs = Date.now();
    await seed(agent, { starts: [nowMs - 5_000, nowMs - 100], version: 4 });
    const limits = { key: agent, limits: { rateLimit: { requests: 2, perSeconds: 1 } } };

    // Act
    const grant = await limiter.acquire(ask('a', { agent: limits }));

    // Assess
    expect(grant.granted).toBe(true);
    const stored = (await counter(agent))!;
    expect(stored.starts).toHaveLength(2);
    expect(stored.starts[0]).toBe(nowMs - 100);
    expect(stored.version).toBe(5);
  });

  it("gives a crashed holder's slot to the next ask once its time has passed", async () => {
    // Prepare
    const { agent } = freshKeys();
    await seed(agent, { holders: { crashed: Date.now() - 1 }, version: 1 });

    // Act
    const grant = await limiter.acquire(ask('a', { agent: { key: agent, limits: { maxConcurrency: 1 } } }));

    // Assess
    expect(grant).toMatchObject({ granted: true, agentInUse: 1 });
    expect(Object.keys((await counter(agent))!.holders)).toEqual(['a']);
  });

  it('marks the counter for a refused high task, and refuses low tasks while the mark lasts', async () => {
    // Prepare
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 1 } };
    const first = await limiter.acquire(ask('a', { agent: limits }));
    if (!first.granted) throw new Error('the test could not take its slot');

    // Act
    const high = await limiter.acquire(ask('high', { agent: limits, priority: 'high' }));
    const marked = (await counter(agent))!;
    await limiter.release(first.slots, new Date());
    const low = await limiter.acquire(ask('low', { agent: limits }));

    // Assess
    expect(high).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit });
    expect(marked.highUntil).toBeGreaterThan(Date.now() + WAKE_UP_MS);
    expect(low).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit });
  });

  it("writes a refused high task's mark even when another consumer's write got to the counter first", async () => {
    // Prepare: a slot held by another consumer, which writes the counter (moving its slot's time) right before the
    // high task's mark goes out, so the mark's condition fails once
    const { agent } = freshKeys();
    const limits = { key: agent, limits: { maxConcurrency: 1 } };
    const other = new DynamoLimiter(client!, tableName);
    const held = await other.acquire(ask('a', { agent: limits }));
    if (!held.granted) throw new Error('the test could not take its slot');
    let raced = false;
    const racing = clientCountingLostWrites(async (command) => {
      if (command === 'PutItemCommand' && !raced) {
        raced = true;
        await other.extend(held.slots, Date.now() + 2 * HOLD_MS, new Date());
      }
    });

    // Act
    const high = await new DynamoLimiter(racing.client, tableName).acquire(
      ask('high', { agent: limits, priority: 'high' }),
    );

    // Assess: its first write lost, and it wrote the mark on the counter as the other consumer left it
    expect(high).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit });
    expect(racing.lost()).toBe(1);
    const stored = (await counter(agent))!;
    expect(stored.highUntil).toBeGreaterThan(Date.now() + WAKE_UP_MS);
    expect(stored.holders.a).toBeGreaterThan(Date.now() + HOLD_MS);
    racing.client.destroy();
  });

  it('stores an expiry past the last holder, so that an idle counter leaves the table by TTL', async () => {
    // Prepare
    const { agent } = freshKeys();
    const request = ask('a', { agent: { key: agent, limits: { maxConcurrency: 1 } } });

    // Act
    await limiter.acquire(request);

    // Assess
    const out = await client!.send(
      new GetItemCommand({ TableName: tableName, Key: marshall({ [COUNTER_KEY]: agent }) }),
    );
    const item = unmarshall(out.Item!);
    expect(item.expires_at).toBeGreaterThan(Math.ceil(request.holdUntilMs / 1000));
  });

  it('lists every counter, each free once its holders are gone', async () => {
    // Prepare
    const { agent, tenant } = freshKeys();
    const fields = {
      agent: { key: agent, limits: { maxConcurrency: 2 } },
      tenant: { key: tenant, maxConcurrency: 2 },
    };
    const grant = await limiter.acquire(ask('a', fields));
    if (!grant.granted) throw new Error('the test could not take its slots');

    // Act
    const held = await limiter.counters();
    await limiter.release(grant.slots, new Date());
    const released = await limiter.counters();

    // Assess
    const now = Date.now();
    expect([counterIsFree(held.get(agent)!, now), counterIsFree(held.get(tenant)!, now)]).toEqual([
      false,
      false,
    ]);
    expect([counterIsFree(released.get(agent)!, now), counterIsFree(released.get(tenant)!, now)]).toEqual([
      true,
      true,
    ]);
    expect(liveHolders(released.get(agent)!, now)).toEqual({});
  });

  describe('hand-off and restamp', () => {
    /** A limiter on a client that counts its requests by command. */
    function countingLimiter() {
      const counting = new DynamoDBClient({
        region: 'us-east-1',
        endpoint: dynamo!.endpoint,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const calls: string[] = [];
      counting.middlewareStack.add(
        (next, context) => async (args) => {
          calls.push(context.commandName ?? '?');
          return next(args);
        },
        { step: 'initialize', name: 'countCalls' },
      );
      return { limiter: new DynamoLimiter(counting, tableName), calls, close: () => counting.destroy() };
    }

    it('hands a slot from one holder to another in one write, without a read when its state is current', async () => {
      // Prepare
      const { agent } = freshKeys();
      const limits = { key: agent, limits: { maxConcurrency: 1 } };
      const consumer = countingLimiter();
      const first = await consumer.limiter.acquire(ask('a', { agent: limits }));
      if (!first.granted) throw new Error('the test could not take its slot');
      consumer.calls.length = 0;

      // Act
      const handed = await consumer.limiter.handOff(first.slots, ask('b', { agent: limits }));

      // Assess
      expect(handed.grant).toEqual({ granted: true, slots: { keys: [agent], holder: 'b' }, agentInUse: 1 });
      expect(handed.inUse).toEqual(new Map([[agent, 0]]));
      expect(consumer.calls).toEqual(['PutItemCommand']);
      const stored = (await counter(agent))!;
      expect(Object.keys(stored.holders)).toEqual(['b']);
      expect(stored.version).toBe(2);
      consumer.close();
    });

    it('reads again and still hands over when another consumer wrote the counter since', async () => {
      // Prepare: two slots, one taken by this consumer, one by another after it
      const { agent } = freshKeys();
      const limits = { key: agent, limits: { maxConcurrency: 2 } };
      const mine = await limiter.acquire(ask('a', { agent: limits }));
      if (!mine.granted) throw new Error('the test could not take its slot');
      await new DynamoLimiter(client!, tableName).acquire(ask('other', { agent: limits }));

      // Act
      const handed = await limiter.handOff(mine.slots, ask('b', { agent: limits }));

      // Assess
      expect(handed.grant).toMatchObject({ granted: true, agentInUse: 2 });
      expect(Object.keys((await counter(agent))!.holders).sort()).toEqual(['b', 'other']);
    });

    it('gives the slot back without granting it to a low task while a high task waits elsewhere', async () => {
      // Prepare
      const { agent } = freshKeys();
      const limits = { key: agent, limits: { maxConcurrency: 1 } };
      const mine = await limiter.acquire(ask('a', { agent: limits }));
      if (!mine.granted) throw new Error('the test could not take its slot');
      await new DynamoLimiter(client!, tableName).acquire(ask('high', { agent: limits, priority: 'high' }));

      // Act
      const handed = await limiter.handOff(mine.slots, ask('low', { agent: limits }));

      // Assess
      expect(handed.grant).toEqual({ granted: false, reason: LimitReason.AgentConcurrencyLimit });
      expect((await counter(agent))!.holders).toEqual({});
    });

    it('moves a late start to its call time, in place of its old stamp', async () => {
      // Prepare: 2 starts per 60 s; the first granted, the second too
      const { agent } = freshKeys();
      const rate = { requests: 2, perSeconds: 60 };
      const limits = { key: agent, limits: { rateLimit: rate } };
      const first = await limiter.acquire(ask('a', { agent: limits }));
      if (!first.granted || !first.start) throw new Error('the test could not start');

      // Act
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stamped = await limiter.restamp(first.start);

      // Assess: the log holds the new stamp in place of the old one
      expect(stamped).toBeGreaterThanOrEqual(first.start.atMs + 50);
      expect((await counter(agent))!.starts).toEqual([stamped]);
      expect(Date.now() - stamped).toBeLessThan(1000);
    });
  });
});
