import { randomBytes } from 'node:crypto';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { conditionOf } from '../../../lambda/adapters/dynamodb-condition';
import { DynamoTaskStore } from '../../../lambda/adapters/dynamodb-task-store';
import { DEFLATE_MARKER } from '../../../lambda/adapters/result-codec';
import type { ResultObjects } from '../../../lambda/adapters/s3-result-objects';
import { parseExactJson } from '../../../lambda/core/json-text';
import { itemBytes } from '../../../lambda/core/record-size';
import type { TaskRecord } from '../../../lambda/core/task';
import { TRANSITIONS } from '../../../lambda/core/transitions';
import * as fixtures from '../../support/fixtures';

const ddb = mockClient(DynamoDBClient);
const store = new DynamoTaskStore(new DynamoDBClient({ region: 'eu-west-1' }), 'tasks');

const { TASK_ID } = fixtures;
const PUBLISHED_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const NOW = new Date('2026-01-01T00:00:00.000Z');

const envelope = fixtures.envelope();

const record: TaskRecord = {
  task_id: TASK_ID,
  type: 'echo',
  priority: 'low',
  status: 'QUEUED',
  attempts: 0,
  created_at: envelope.created_at,
  updated_at: envelope.created_at,
  request_hash: 'hash',
  enqueue_id: 'e1',
};

/**
 * DynamoDB rejects an expression whose placeholders and attribute maps disagree (an unused value or name,
 * or an undefined one) with a ValidationException; a mock does not, so check it here.
 */
function expectConsistentPlaceholders(input: UpdateItemCommandInput): void {
  const text = [input.ConditionExpression, input.UpdateExpression].join(' ');
  const used = (prefix: string) => new Set(text.match(new RegExp(`${prefix}[A-Za-z0-9_]+`, 'g')));
  expect(new Set(Object.keys(input.ExpressionAttributeValues ?? {}))).toEqual(used(':'));
  expect(new Set(Object.keys(input.ExpressionAttributeNames ?? {}))).toEqual(used('#'));
}

function lastUpdate(): UpdateItemCommandInput {
  return ddb.commandCalls(UpdateItemCommand).at(-1)!.args[0].input;
}

describe('Class: DynamoTaskStore', () => {
  afterEach(() => {
    ddb.reset();
  });

  describe('Method: create', () => {
    it('returns the existing record from a failed attribute_not_exists put', async () => {
      // Prepare
      ddb.on(PutItemCommand).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: marshall({ ...record, status: 'SUCCEEDED', result: '{"a":1}' }),
        }),
      );

      // Act
      const result = await store.create(record);

      // Assess
      expect(result).toEqual({
        created: false,
        existing: { ...record, status: 'SUCCEEDED', result: { a: 1 } },
      });
    });

    it('rethrows any other failure', async () => {
      // Prepare
      ddb.on(PutItemCommand).rejects(new Error('throttled'));

      // Act
      const result = store.create(record);

      // Assess
      await expect(result).rejects.toThrow('throttled');
    });
  });

  describe('Method: claim', () => {
    it('returns the attempt number DynamoDB incremented, with consistent placeholders', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...record, attempts: 4, status: 'RUNNING' }) });

      // Act
      const result = await store.claim(envelope, NOW, 30);

      // Assess
      expect(result).toEqual({
        claimed: true,
        attempt: 4,
        attemptsBase: 0,
        // What the success write weighs to choose its result's form (result-storage.ts).
        recordBytes: itemBytes({ ...record, attempts: 4, status: 'RUNNING' }),
      });
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      // The whole record, since `attempts_base` is not among the attributes the claim writes.
      expect(input.ReturnValues).toBe('ALL_NEW');
      expect(unmarshall(input.ExpressionAttributeValues!)).toMatchObject({
        ':nowMs': NOW.getTime(),
        ':lease': NOW.getTime() + 30_000,
        ':type': 'echo',
        ':priority': 'low',
        ':created': envelope.created_at,
        ':hash': 'hash',
      });
    });

    it("returns the record's attempts_base, which bounds the attempts after a redrive", async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({
        Attributes: marshall({ ...record, attempts: 7, attempts_base: 5, status: 'RUNNING' }),
      });

      // Act
      const result = await store.claim(envelope, NOW, 30);

      // Assess
      expect(result).toMatchObject({ claimed: true, attempt: 7, attemptsBase: 5 });
    });

    it('records the slots it holds and removes waiting, with consistent placeholders', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...record, attempts: 1, status: 'RUNNING' }) });

      // Act
      await store.claim(envelope, NOW, 30, undefined, { keys: ['agent#echo', 'tenant#acme'], holder: 'h/1' });

      // Assess
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      const [set, remove] = input.UpdateExpression!.split(' REMOVE ');
      expect(set).toMatch(/\bslots = :slots\b/);
      expect(unmarshall(input.ExpressionAttributeValues!)[':slots']).toEqual({
        keys: ['agent#echo', 'tenant#acme'],
        holder: 'h/1',
      });
      expect(remove!.split(/,\s*/)).toEqual(expect.arrayContaining(['waiting']));
      expect(remove!.split(/,\s*/)).not.toEqual(expect.arrayContaining(['slots']));
    });

    it('without slots, removes the slots and the waiting an earlier attempt or wait left', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...record, attempts: 1, status: 'RUNNING' }) });

      // Act
      await store.claim(envelope, NOW, 30);

      // Assess
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(input.UpdateExpression!.split(' REMOVE ')[0]).not.toMatch(/\bslots\b/);
      expect(input.UpdateExpression!.split(' REMOVE ')[1]!.split(/,\s*/)).toEqual(
        expect.arrayContaining(['waiting', 'slots']),
      );
    });

    it('returns the current record when the conditional claim fails', async () => {
      // Prepare
      const current = { ...record, status: 'CANCELLED' };
      ddb
        .on(UpdateItemCommand)
        .rejects(
          new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item: marshall(current) }),
        );

      // Act
      const result = await store.claim(envelope, NOW, 30);

      // Assess
      expect(result).toEqual({ claimed: false, current });
    });
  });

  describe('Method: wait', () => {
    const waiting = { reason: 'AgentConcurrencyLimit', since: NOW.toISOString() } as const;

    it.each([
      ['QUEUED', TRANSITIONS.waitQueued],
      ['RETRYING', TRANSITIONS.waitRetrying],
    ] as const)('writes waiting on a %s task under the rule of that status', async (status, rule) => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      const written = await store.wait(TASK_ID, status, 'e1', waiting, NOW);

      // Assess
      expect(written).toBe(true);
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(input.ConditionExpression).toBe(
        conditionOf(rule, { nowMs: NOW.getTime(), enqueueId: 'e1' }).ConditionExpression,
      );
      expect(input.UpdateExpression).toBe('SET waiting = :waiting');
      expect(unmarshall(input.ExpressionAttributeValues!)).toMatchObject({
        ':waiting': waiting,
        ':eid': 'e1',
      });
    });

    it('reports a task that no longer waits in that status as false', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

      // Act
      const written = await store.wait(TASK_ID, 'QUEUED', 'e1', waiting, NOW);

      // Assess
      expect(written).toBe(false);
    });
  });

  describe('Methods: succeed, retry, fail', () => {
    it.each([
      // A success also clears the error an earlier attempt left.
      [
        'succeed',
        () => store.succeed(TASK_ID, 2, { answer: [1] }, NOW, 99),
        'SUCCEEDED',
        / REMOVE lease_until, #error, #result_z, #result_object$/,
      ],
      [
        'retry',
        () => store.retry(TASK_ID, 2, { code: 'E', message: 'm' }, NOW, 5_000),
        'RETRYING',
        / REMOVE lease_until$/,
      ],
      [
        'fail',
        () => store.fail(TASK_ID, 2, { code: 'E', message: 'm' }, NOW, 99),
        'FAILED',
        / REMOVE lease_until$/,
      ],
    ] as const)('%s writes only while attempt 2 holds the claim', async (name, act, status, removes) => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      const settled = await act();

      // Assess
      expect(settled).toBe(true);
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(input.ConditionExpression).toBe(
        conditionOf(TRANSITIONS[name], { nowMs: 0, attempt: 2 }).ConditionExpression,
      );
      expect(unmarshall(input.ExpressionAttributeValues!)).toMatchObject({
        ':running': 'RUNNING',
        ':attempt': 2,
        ':next': status,
      });
      expect(input.UpdateExpression).toMatch(removes);
    });

    it('stores the result as a JSON string, so that any JSON round-trips', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await store.succeed(TASK_ID, 1, { '': 1e300, nested: [null, { x: '' }] }, NOW, 99);

      // Assess
      expect(unmarshall(lastUpdate().ExpressionAttributeValues!)[':result']).toBe(
        JSON.stringify({ '': 1e300, nested: [null, { x: '' }] }),
      );
    });

    it('reads a stored result back with every number literal as the agent sent it', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({
        Item: marshall({ ...record, status: 'SUCCEEDED', result: '{"n":9007199254740993,"big":1e400}' }),
      });

      // Act
      const found = await store.get(TASK_ID);

      // Assess
      expect(JSON.stringify(found?.result)).toBe('{"n":9007199254740993,"big":1e400}');
    });

    it('reports a lost claim as false', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

      // Act
      const settled = await store.fail(TASK_ID, 1, { code: 'E', message: 'm' }, NOW, 99);

      // Assess
      expect(settled).toBe(false);
    });

    it('rethrows any other failure', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(new Error('throttled'));

      // Act
      const settled = store.retry(TASK_ID, 1, { code: 'E', message: 'm' }, NOW, 5_000);

      // Assess
      await expect(settled).rejects.toThrow('throttled');
    });
  });

  describe('Result storage', () => {
    /** A bucket in memory, which records the order of its puts among the table's writes. */
    function bucket() {
      const objects = new Map<string, string>();
      const order: string[] = [];
      const results: ResultObjects = {
        put: async (key, text) => {
          order.push(`put ${key}`);
          objects.set(key, text);
        },
        get: async (key) => {
          const text = objects.get(key);
          if (text === undefined) throw new Error(`no object ${key}`);
          return text;
        },
      };
      return { objects, order, results };
    }
    const exactText =
      '{"n":9007199254740993,"big":1e400,"text":"' + 'a summary of what was found. '.repeat(40) + '"}';

    it('keeps a result whose record fits one write unit as text, and removes the other forms', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await store.succeed(TASK_ID, 1, { ok: true }, NOW, 99, 400);

      // Assess
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(unmarshall(input.ExpressionAttributeValues!)[':result']).toBe('{"ok":true}');
      expect(input.UpdateExpression).toMatch(/ REMOVE lease_until, #error, #result_z, #result_object$/);
    });

    it('compresses a 1 KB result into result_z when that saves a write unit, and reads it back digit for digit', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});
      const result = parseExactJson(exactText);

      // Act
      await store.succeed(TASK_ID, 1, result, NOW, 99, 400);
      const input = lastUpdate();
      const written = input.ExpressionAttributeValues![':result_z'];
      ddb.on(GetItemCommand).resolves({
        Item: { ...marshall({ ...record, status: 'SUCCEEDED' }), result_z: written! },
      });
      const found = await store.get(TASK_ID);

      // Assess
      expectConsistentPlaceholders(input);
      expect(written?.B).toBeInstanceOf(Uint8Array);
      // Deflated (result-codec.ts): its bytes already take the fewest units, so brotli need not run
      expect(written!.B![0]).toBe(DEFLATE_MARKER);
      expect(input.UpdateExpression).toMatch(/ REMOVE lease_until, #error, #result, #result_object$/);
      expect(400 + 'result_z'.length + written!.B!.byteLength).toBeLessThanOrEqual(1024);
      expect(Buffer.byteLength(exactText)).toBeGreaterThan(1024 - 400);
      expect(JSON.stringify(found?.result)).toBe(exactText);
      expect(found).not.toHaveProperty('result_z');
    });

    it('stores the text when the compressed form would take as many write units', async () => {
      // Prepare: 300 hex digits (4 bits of entropy a byte) in a 2,100-byte record: 3 units as text, and as
      // compressed
      ddb.on(UpdateItemCommand).resolves({});
      const hex = { id: randomBytes(150).toString('hex') };

      // Act
      await store.succeed(TASK_ID, 1, hex, NOW, 99, 2100);

      // Assess
      expect(unmarshall(lastUpdate().ExpressionAttributeValues!)[':result']).toBe(JSON.stringify(hex));
    });

    it('puts a result over 9 write units in the bucket before the write that points to it', async () => {
      // Prepare: 20 KB of text that does not compress (random hex)
      const { objects, order, results } = bucket();
      const withBucket = new DynamoTaskStore(new DynamoDBClient({ region: 'eu-west-1' }), 'tasks', {
        results,
      });
      ddb.on(UpdateItemCommand).callsFake(() => {
        order.push('update');
        return {};
      });
      const big = { data: randomBytes(10_000).toString('hex') };

      // Act
      await withBucket.succeed(TASK_ID, 2, big, NOW, 99, 400);

      // Assess
      const key = unmarshall(lastUpdate().ExpressionAttributeValues!)[':result_object'] as string;
      expect(key).toMatch(new RegExp(`^results/${TASK_ID}/2-[0-9a-f-]{36}\\.json$`));
      expect(order).toEqual([`put ${key}`, 'update']);
      expect(objects.get(key)).toBe(JSON.stringify(big));
      expect(lastUpdate().UpdateExpression).toMatch(/ REMOVE lease_until, #error, #result, #result_z$/);
    });

    it('keeps a large result in its record without a bucket', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});
      const big = { data: randomBytes(10_000).toString('hex') };

      // Act
      await store.succeed(TASK_ID, 1, big, NOW, 99, 400);

      // Assess
      expect(unmarshall(lastUpdate().ExpressionAttributeValues!)).not.toHaveProperty(':result_object');
    });

    it('reads a result back from the bucket only when asked, exactly', async () => {
      // Prepare
      const { objects, results } = bucket();
      const withBucket = new DynamoTaskStore(new DynamoDBClient({ region: 'eu-west-1' }), 'tasks', {
        results,
      });
      const key = `results/${TASK_ID}/1-x.json`;
      objects.set(key, exactText);
      ddb.on(GetItemCommand).resolves({
        Item: marshall({ ...record, status: 'SUCCEEDED', result_object: key }),
      });

      // Act
      const found = await withBucket.get(TASK_ID);
      const loaded = await withBucket.loadResult(found!);

      // Assess
      expect(found).not.toHaveProperty('result');
      expect(found?.result_object).toBe(key);
      expect(JSON.stringify(loaded.result)).toBe(exactText);
      expect(await withBucket.loadResult({ ...record, result: 1 })).toEqual({ ...record, result: 1 });
    });

    it("answers an async completion's record with the result it wrote, without reading the bucket", async () => {
      // Prepare
      const { results } = bucket();
      const get = jest.spyOn(results, 'get');
      const withBucket = new DynamoTaskStore(new DynamoDBClient({ region: 'eu-west-1' }), 'tasks', {
        results,
      });
      ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => ({
        Attributes: {
          ...marshall({ ...record, status: 'SUCCEEDED', attempts: 1 }),
          result_object: input.ExpressionAttributeValues![':result_object']!,
        },
      }));
      const big = { data: randomBytes(10_000).toString('hex') };

      // Act
      const written = await withBucket.finishAsync(
        TASK_ID,
        1,
        { status: 'SUCCEEDED', result: big, expiresAt: 99, recordBytes: 700 },
        NOW,
        'held',
      );

      // Assess
      expect(written?.result).toEqual(big);
      expect(written?.result_object).toMatch(/^results\//);
      expect(get).not.toHaveBeenCalled();
    });
  });

  describe('Method: abandon', () => {
    const error = { code: 'DeadLettered', message: 'm' };
    const opts = { redriveGraceSeconds: 60, expiresAt: 99 };

    it('fails only a stranded task, with placeholders DynamoDB accepts', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      const abandoned = await store.abandon({ taskId: TASK_ID, enqueueId: 'e1' }, error, NOW, opts);

      // Assess
      expect(abandoned).toBe(true);
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(input.ConditionExpression).toContain('#status IN (:queued, :retrying)');
      expect(input.ConditionExpression).toContain('lease_until < :nowMs');
      expect(unmarshall(input.ExpressionAttributeValues!)).toMatchObject({
        ':queued': 'QUEUED',
        ':retrying': 'RETRYING',
        ':failed': 'FAILED',
        ':graceEnd': '2025-12-31T23:59:00.000Z',
        ':exp': 99,
      });
    });

    it("fails only the task whose enqueue_id is the letter's (or a record without one)", async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await store.abandon({ taskId: TASK_ID, enqueueId: 'e1' }, error, NOW, opts);

      // Assess
      const input = lastUpdate();
      expect(input.ConditionExpression).toContain('(attribute_not_exists(enqueue_id) OR enqueue_id = :eid)');
      expect(unmarshall(input.ExpressionAttributeValues!)[':eid']).toBe('e1');
    });

    it('matches a letter without an enqueue_id only to a record without one', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await store.abandon({ taskId: TASK_ID }, error, NOW, opts);

      // Assess
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(input.ConditionExpression).toContain(
        'attribute_exists(task_id) AND attribute_not_exists(enqueue_id) AND',
      );
    });

    it('leaves a task redriven within the grace period alone, whatever its status', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await store.abandon({ taskId: TASK_ID, enqueueId: 'e1' }, error, NOW, opts);

      // Assess: the grace is a conjunct of the whole condition, not of the QUEUED case only
      expect(lastUpdate().ConditionExpression).toMatch(
        /^attribute_exists\(task_id\) AND .* AND \(attribute_not_exists\(redriven_at\) OR redriven_at < :graceEnd\) AND \(#status IN /,
      );
    });

    it('returns false when the task is not stranded', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

      // Act
      const abandoned = await store.abandon({ taskId: TASK_ID, enqueueId: 'e1' }, error, NOW, opts);

      // Assess
      expect(abandoned).toBe(false);
    });
  });

  describe('Method: cancel', () => {
    it('uses consistent placeholders', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...record, status: 'CANCELLED' }) });

      // Act
      const result = await store.cancel(TASK_ID, NOW, 99);

      // Assess
      expect(result.cancelled?.status).toBe('CANCELLED');
      expectConsistentPlaceholders(lastUpdate());
    });
  });

  describe('Method: claim, a delivery of a published task', () => {
    it('keeps its topic and published task id on the record, with consistent placeholders', async () => {
      // Prepare
      const delivery = { ...envelope, topic: 'demo.fanout', published_task_id: PUBLISHED_ID };
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...record, attempts: 1, status: 'RUNNING' }) });

      // Act
      await store.claim(delivery, NOW, 30);

      // Assess
      const input = lastUpdate();
      expectConsistentPlaceholders(input);
      expect(input.UpdateExpression).toContain('topic = if_not_exists(topic, :topic)');
      expect(input.UpdateExpression).toContain('published_task_id = if_not_exists(published_task_id, :pid)');
      expect(unmarshall(input.ExpressionAttributeValues!)).toMatchObject({
        ':topic': 'demo.fanout',
        ':pid': PUBLISHED_ID,
      });
    });

    it('writes neither for a task that is not a delivery', async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .resolves({ Attributes: marshall({ ...record, attempts: 1, status: 'RUNNING' }) });

      // Act
      await store.claim(envelope, NOW, 30);

      // Assess
      const input = lastUpdate();
      expect(input.UpdateExpression).not.toContain('topic');
      expect(input.UpdateExpression).not.toContain('published_task_id');
    });
  });

  describe('Method: getMany', () => {
    const ids = (n: number) =>
      Array.from({ length: n }, (_, i) => `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`);
    const item = (taskId: string) => marshall({ ...record, task_id: taskId, result: '{"n":1}' });
    const keysOf = (call: number) =>
      ddb
        .commandCalls(BatchGetItemCommand)
        [call]!.args[0].input.RequestItems!.tasks!.Keys!.map((k) => unmarshall(k).task_id as string);

    it('reads the records by id with consistent reads, and returns those that exist, results parsed', async () => {
      // Prepare
      const [a, b] = ids(2);
      ddb.on(BatchGetItemCommand).resolves({ Responses: { tasks: [item(a!)] } });

      // Act
      const found = await store.getMany([a!, b!]);

      // Assess
      expect([...found.keys()]).toEqual([a]);
      expect(found.get(a!)).toMatchObject({ task_id: a, status: 'QUEUED', result: { n: 1 } });
      const input = ddb.commandCalls(BatchGetItemCommand)[0]!.args[0].input;
      expect(input.RequestItems?.tasks?.ConsistentRead).toBe(true);
      expect(keysOf(0)).toEqual([a, b]);
    });

    it('asks again for the keys DynamoDB left unprocessed, and only those', async () => {
      // Prepare
      const [a, b, c] = ids(3);
      ddb
        .on(BatchGetItemCommand)
        .resolvesOnce({
          Responses: { tasks: [item(a!)] },
          UnprocessedKeys: { tasks: { Keys: [marshall({ task_id: b }), marshall({ task_id: c })] } },
        })
        .resolves({ Responses: { tasks: [item(b!), item(c!)] } });

      // Act
      const found = await store.getMany([a!, b!, c!]);

      // Assess
      expect([...found.keys()].sort()).toEqual([a, b, c]);
      expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(2);
      expect(keysOf(1)).toEqual([b, c]);
    });

    it('splits more than 100 ids into calls of at most 100 keys', async () => {
      // Prepare
      const all = ids(230);
      ddb.on(BatchGetItemCommand).callsFake((input: { RequestItems: { tasks: { Keys: never[] } } }) => ({
        Responses: { tasks: input.RequestItems.tasks.Keys.map((k) => item(unmarshall(k).task_id as string)) },
      }));

      // Act
      const found = await store.getMany(all);

      // Assess
      expect([0, 1, 2].map((i) => keysOf(i).length)).toEqual([100, 100, 30]);
      expect(found.size).toBe(230);
    });

    it('makes no call for no ids', async () => {
      // Act
      const found = await store.getMany([]);

      // Assess
      expect(found.size).toBe(0);
      expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(0);
    });

    it('throws when DynamoDB fails', async () => {
      // Prepare
      ddb.on(BatchGetItemCommand).rejects(new Error('throttled'));

      // Act / Assess
      await expect(store.getMany(ids(1))).rejects.toThrow('throttled');
    });
  });
});
