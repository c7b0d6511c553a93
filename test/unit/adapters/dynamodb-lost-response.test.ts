/**
 * A write that DynamoDB committed but whose response was lost: the SDK retries it, and the retry fails its
 * condition against our own write. The store must read that as the success it was.
 */
import { Readable } from 'node:stream';
import { DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoTaskStore } from '../../../lambda/adapters/dynamodb-task-store';
import type { TaskRecord } from '../../../lambda/core/task';
import * as fixtures from '../../support/fixtures';

const { TASK_ID } = fixtures;
const NOW = new Date('2026-01-01T00:00:00.000Z');

const envelope = fixtures.envelope();

const queued: TaskRecord = {
  task_id: TASK_ID,
  type: 'echo',
  priority: 'low',
  status: 'QUEUED',
  attempts: 2,
  created_at: envelope.created_at,
  updated_at: envelope.created_at,
  request_hash: 'hash',
  enqueue_id: 'e1',
  // Redriven once after its first attempt: the claim's answer carries it (retry-policy.ts `isLastAttempt`).
  attempts_base: 1,
};

const values = (input: UpdateItemCommandInput) => unmarshall(input.ExpressionAttributeValues!);

/** What the table holds after this cancel or claim was applied to `queued`. */
function applied(input: UpdateItemCommandInput): TaskRecord {
  const v = values(input);
  return v[':cancelled'] !== undefined
    ? { ...queued, status: 'CANCELLED', cancel_id: v[':cid'], updated_at: v[':now'], expires_at: v[':exp'] }
    : {
        ...queued,
        status: 'RUNNING',
        attempts: queued.attempts + 1,
        claim_id: v[':cid'],
        lease_until: v[':lease'],
        updated_at: v[':now'],
      };
}

const { conditionFailed } = fixtures;

describe('Class: DynamoTaskStore, when a committed write loses its response', () => {
  describe('as the SDK sees it (aws-sdk-client-mock)', () => {
    // This client only: the block below needs a client whose send is real.
    const { ddb, store } = fixtures.mockedTaskStore();

    it('cancel: a condition failure on our own cancellation is a cancellation', async () => {
      // Prepare: the retry finds the item as our first, committed, attempt left it
      ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
        throw conditionFailed(applied(input));
      });

      // Act
      const result = await store.cancel(TASK_ID, NOW, 99);

      // Assess
      expect(result.cancelled?.status).toBe('CANCELLED');
    });

    it("cancel: a condition failure on someone else's cancellation is not ours", async () => {
      // Prepare
      ddb
        .on(UpdateItemCommand)
        .rejects(conditionFailed({ ...queued, status: 'CANCELLED', cancel_id: 'other' }));

      // Act
      const result = await store.cancel(TASK_ID, NOW, 99);

      // Assess
      expect(result).toEqual({ current: { ...queued, status: 'CANCELLED', cancel_id: 'other' } });
    });

    it('claim: a condition failure on our own claim is the claim, with its attempt', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
        throw conditionFailed(applied(input));
      });

      // Act
      const result = await store.claim(envelope, NOW, 30);

      // Assess
      expect(result).toMatchObject({ claimed: true, attempt: 3, attemptsBase: 1 });
    });

    it("claim: a condition failure on another consumer's claim is lost", async () => {
      // Prepare
      const theirs = { ...queued, status: 'RUNNING' as const, attempts: 3, claim_id: 'other' };
      ddb.on(UpdateItemCommand).rejects(conditionFailed(theirs));

      // Act
      const result = await store.claim(envelope, NOW, 30);

      // Assess
      expect(result).toEqual({ claimed: false, current: theirs });
    });

    it('writes a fresh marker on every call', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...queued, attempts: 3 }) });

      // Act
      await store.claim(envelope, NOW, 30);
      await store.claim(envelope, NOW, 30);
      await store.cancel(TASK_ID, NOW, 99);

      // Assess
      const markers = ddb.commandCalls(UpdateItemCommand).map((c) => values(c.args[0].input)[':cid']);
      expect(new Set(markers).size).toBe(3);
      for (const c of ddb.commandCalls(UpdateItemCommand)) {
        expect(c.args[0].input.UpdateExpression).toMatch(/(claim_id|cancel_id) = :cid/);
      }
    });
  });

  describe('through the SDK’s own retry (a table that commits, then answers 500)', () => {
    /**
     * A DynamoDB endpoint holding one item: it applies the first UpdateItem and answers 500, as if the
     * response were lost; the SDK retries the same request, which now fails its condition against the write.
     */
    function losingFirstResponse() {
      const bodies: UpdateItemCommandInput[] = [];
      const respond = (statusCode: number, body: unknown) => ({
        // the shape of @smithy/protocol-http's HttpResponse, which the SDK checks by its fields
        response: {
          statusCode,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(JSON.stringify(body))]),
        },
      });
      const client = new DynamoDBClient({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        requestHandler: {
          handle: async (request: { body: string }) => {
            const input = JSON.parse(request.body) as UpdateItemCommandInput;
            bodies.push(input);
            if (bodies.length === 1) return respond(500, { __type: 'InternalServerError', message: 'lost' });
            return respond(400, {
              __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
              message: 'The conditional request failed',
              Item: marshall(applied(bodies[0]!), { removeUndefinedValues: true }),
            });
          },
        },
      });
      return { store: new DynamoTaskStore(client, 'tasks'), bodies };
    }

    it('cancel answers cancelled', async () => {
      // Prepare
      const { store, bodies } = losingFirstResponse();

      // Act
      const result = await store.cancel(TASK_ID, NOW, 99);

      // Assess
      expect(bodies).toHaveLength(2);
      expect(result.cancelled?.status).toBe('CANCELLED');
    });

    it('claim answers claimed, with the attempt it started', async () => {
      // Prepare
      const { store, bodies } = losingFirstResponse();

      // Act
      const result = await store.claim(envelope, NOW, 30);

      // Assess
      expect(bodies).toHaveLength(2);
      expect(result).toMatchObject({ claimed: true, attempt: 3, attemptsBase: 1 });
    });
  });
});
