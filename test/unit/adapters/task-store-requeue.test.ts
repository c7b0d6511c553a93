/**
 * `requeue`, the table write behind `taskq dlq redrive`: the DynamoDB adapter and the in-memory fake that
 * follows the same rules, and how it keeps the dead-letter sweep away from a redriven task.
 */
import { UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { sweepDeadLetters } from '../../../lambda/core/sweep';
import type { TaskRecord } from '../../../lambda/core/task';
import { conditionFailed, mockedTaskStore } from '../../support/fixtures';
import { InMemoryTaskStore } from '../support/in-memory';

const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const NOW = new Date('2026-03-01T12:00:00.000Z');

const failed: TaskRecord = {
  task_id: TASK_ID,
  type: 'echo',
  priority: 'low',
  status: 'FAILED',
  attempts: 5,
  created_at: '2026-03-01T11:00:00.000Z',
  updated_at: '2026-03-01T11:30:00.000Z',
  finished_at: '2026-03-01T11:30:00.000Z',
  expires_at: 1_800_000_000,
  error: { code: 'Timeout', message: 'the agent did not answer within 30 s' },
};

describe('Class: DynamoTaskStore', () => {
  const { ddb, store } = mockedTaskStore();

  describe('Method: requeue', () => {
    it('uses every placeholder it defines, and only those', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...failed, status: 'QUEUED' }) });

      // Act
      await store.requeue(TASK_ID, NOW);

      // Assess: DynamoDB rejects an expression whose placeholders and maps disagree; a mock does not.
      const input: UpdateItemCommandInput = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
      const text = `${input.ConditionExpression} ${input.UpdateExpression}`;
      const used = (prefix: string) => new Set(text.match(new RegExp(`${prefix}[A-Za-z0-9_]+`, 'g')));
      expect(new Set(Object.keys(input.ExpressionAttributeValues ?? {}))).toEqual(used(':'));
      expect(new Set(Object.keys(input.ExpressionAttributeNames ?? {}))).toEqual(used('#'));
    });

    it('leaves only from FAILED, RETRYING or RUNNING with an expired lease, and keeps attempts and error', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...failed, status: 'QUEUED' }) });

      // Act
      await store.requeue(TASK_ID, NOW);

      // Assess: the values, not the placeholder names, so that the expression may be built another way
      const input: UpdateItemCommandInput = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
      const values = Object.values(unmarshall(input.ExpressionAttributeValues ?? {}));
      expect(values).toEqual(
        expect.arrayContaining(['FAILED', 'RETRYING', 'RUNNING', 'QUEUED', NOW.getTime()]),
      );
      expect(values).not.toEqual(expect.arrayContaining(['SUCCEEDED']));
      expect(values).not.toEqual(expect.arrayContaining(['CANCELLED']));
      expect(input.ConditionExpression).toMatch(/lease_until < :\w+/);
      const [set, remove] = input.UpdateExpression!.split(' REMOVE ');
      expect(set).not.toMatch(/\b(attempts|error) =/);
      expect(remove!.split(', ')).not.toEqual(expect.arrayContaining(['attempts']));
      expect(remove!.split(', ')).not.toEqual(expect.arrayContaining(['error']));
    });

    it('records the attempts so far as attempts_base, from which the retries start again', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...failed, status: 'QUEUED' }) });

      // Act
      await store.requeue(TASK_ID, NOW);

      // Assess
      const input: UpdateItemCommandInput = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
      expect(input.UpdateExpression).toMatch(/\battempts_base = attempts\b/);
    });

    it('removes what a waiting task and its last attempt held: waiting and slots', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...failed, status: 'QUEUED' }) });

      // Act
      await store.requeue(TASK_ID, NOW);

      // Assess
      const input: UpdateItemCommandInput = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
      const removed = input.UpdateExpression!.split(' REMOVE ')[1]!.split(', ');
      expect(removed).toEqual(expect.arrayContaining(['waiting', 'slots']));
    });

    it('returns the requeued record', async () => {
      // Prepare
      const requeued = { ...failed, status: 'QUEUED', redriven_at: NOW.toISOString(), redrive_count: 1 };
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall(requeued) });

      // Act
      const result = await store.requeue(TASK_ID, NOW);

      // Assess
      expect(result).toEqual({ requeued: true, record: requeued });
    });

    it('returns the record as it was when the condition fails', async () => {
      // Prepare
      const running: TaskRecord = { ...failed, status: 'RUNNING', lease_until: NOW.getTime() + 60_000 };
      ddb.on(UpdateItemCommand).rejects(conditionFailed(running));

      // Act
      const result = await store.requeue(TASK_ID, NOW);

      // Assess
      expect(result).toEqual({ requeued: false, current: running });
    });

    it('returns no record when there is none', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(conditionFailed());

      // Act
      const result = await store.requeue(TASK_ID, NOW);

      // Assess
      expect(result).toEqual({ requeued: false, current: undefined });
    });
  });
});

describe('Class: InMemoryTaskStore', () => {
  describe('Method: requeue', () => {
    it('sets a FAILED task back to QUEUED and keeps its attempts and error', async () => {
      // Prepare
      const store = new InMemoryTaskStore([failed]);

      // Act
      const result = await store.requeue(TASK_ID, NOW);

      // Assess
      const { finished_at: _f, expires_at: _e, ...kept } = failed;
      const expected = {
        ...kept,
        attempts_base: 5,
        status: 'QUEUED',
        updated_at: NOW.toISOString(),
        redriven_at: NOW.toISOString(),
        redrive_count: 1,
      };
      expect(result).toEqual({ requeued: true, record: expected });
      expect(store.records.get(TASK_ID)).toEqual(expected);
    });

    it('counts every redrive', async () => {
      // Prepare
      const store = new InMemoryTaskStore([{ ...failed, redrive_count: 2 }]);

      // Act
      await store.requeue(TASK_ID, NOW);

      // Assess
      expect(store.records.get(TASK_ID)!.redrive_count).toBe(3);
    });

    it.each([
      ['RETRYING', {}],
      ['RUNNING whose lease expired', { status: 'RUNNING', lease_until: NOW.getTime() - 1 }],
    ] as const)('requeues a task that is %s', async (status, fields) => {
      // Prepare
      const store = new InMemoryTaskStore([
        { ...failed, status: status === 'RETRYING' ? 'RETRYING' : 'RUNNING', ...fields },
      ]);

      // Act
      const result = await store.requeue(TASK_ID, NOW);

      // Assess
      expect(result.requeued).toBe(true);
      expect(store.records.get(TASK_ID)!.lease_until).toBeUndefined();
    });

    it.each([
      ['SUCCEEDED', {}],
      ['CANCELLED', {}],
      ['QUEUED', {}],
      ['RUNNING', { lease_until: NOW.getTime() + 60_000 }],
    ] as const)('leaves a %s task as it is', async (status, fields) => {
      // Prepare
      const record: TaskRecord = { ...failed, status, ...fields };
      const store = new InMemoryTaskStore([record]);

      // Act
      const result = await store.requeue(TASK_ID, NOW);

      // Assess
      expect(result).toEqual({ requeued: false, current: record });
      expect(store.records.get(TASK_ID)).toBe(record);
    });

    it('keeps the dead-letter sweep away until the redrive grace has passed', async () => {
      // Prepare
      const store = new InMemoryTaskStore([failed]);
      await store.requeue(TASK_ID, NOW);
      const letters = [{ body: JSON.stringify({ task_id: TASK_ID }) }];
      const settings = { redriveGraceSeconds: 900, retentionSeconds: 86_400 };

      // Act
      const withinGrace = await sweepDeadLetters(letters, {
        store,
        settings,
        now: () => new Date(NOW.getTime() + 899_000),
      });
      const afterGrace = await sweepDeadLetters(letters, {
        store,
        settings,
        now: () => new Date(NOW.getTime() + 901_000),
      });

      // Assess
      expect(withinGrace).toBe(0);
      expect(afterGrace).toBe(1);
    });
  });
});
