/**
 * Shared test fixtures: a task envelope, and a DynamoDB task store whose client is mocked.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoTaskStore } from '../../lambda/adapters/dynamodb-task-store';
import type { TaskEnvelope, TaskRecord } from '../../lambda/core/task';

export const TASK_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** A low-priority `echo` envelope for TASK_ID with an empty payload; `overrides` replace its fields. */
export function envelope(overrides: Partial<TaskEnvelope> = {}): TaskEnvelope {
  return {
    schema_version: 1,
    task_id: TASK_ID,
    enqueue_id: 'e1',
    type: 'echo',
    priority: 'low',
    payload: {},
    created_at: '2025-12-31T23:59:00.000Z',
    request_hash: 'hash',
    ...overrides,
  };
}

/**
 * A DynamoTaskStore on table `tasks` whose client is mocked with aws-sdk-client-mock (this client only, so a
 * test may still build a client whose send is real); the mock is reset after each test of the calling block.
 */
export function mockedTaskStore() {
  const client = new DynamoDBClient({ region: 'eu-west-1' });
  const ddb = mockClient(client);
  afterEach(() => {
    ddb.reset();
  });
  return { ddb, store: new DynamoTaskStore(client, 'tasks') };
}

/** The error DynamoDB answers when a write's condition fails, holding the item as it is when `item` is given. */
export function conditionFailed(item?: TaskRecord): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    ...(item && { Item: marshall(item, { removeUndefinedValues: true }) }),
  });
}
