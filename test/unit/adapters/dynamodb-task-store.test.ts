import {
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
import type { TaskRecord } from '../../../lambda/core/task';
import { TRANSITIONS } from '../../../lambda/core/transitions';
import * as fixtures from '../../support/fixtures';

const ddb = mockClient(DynamoDBClient);
const store = new DynamoTaskStore(new DynamoDBClient({ region: 'eu-west-1' }), 'tasks');

const { TASK_ID } = fixtures;
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
      expect(result).toEqual({ claimed: true, attempt: 4, attemptsBase: 0 });
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
      expect(result).toEqual({ claimed: true, attempt: 7, attemptsBase: 5 });
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
        / REMOVE lease_until, #error$/,
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
});
