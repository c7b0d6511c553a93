/**
 * DynamoTaskStore against DynamoDB Local, held to the task store's contract: the same cases as the in-memory
 * fake (test/unit/support/in-memory-task-store.test.ts), so that the conditions the adapter builds from the
 * rules of lambda/core/transitions.ts do what the rules say on a real table.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoTaskStore } from '../../lambda/adapters/dynamodb-task-store';
import type { DynamoEmulator } from '../../local/emulators';
import { describeTaskStoreContract } from '../support/task-store-contract';
import { suiteDynamoDb } from './support/shared-dynamodb';

// The JVM of DynamoDB Local takes seconds to start on a busy machine.
jest.setTimeout(180_000);

let dynamo: DynamoEmulator | undefined;
let client: DynamoDBClient | undefined;
let store: DynamoTaskStore;

beforeAll(async () => {
  // Tables under names of this suite's own: the shared DynamoDB Local serves.
  dynamo = await suiteDynamoDb();
  client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // As the stack's task table (lib/task-table.ts): one item per task, keyed by task_id.
  const tableName = `tasks-${randomUUID().slice(0, 8)}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'task_id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'task_id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  store = new DynamoTaskStore(client, tableName);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

describe('Class: DynamoTaskStore on DynamoDB Local, the task store contract', () => {
  describeTaskStoreContract(() => store);
});
