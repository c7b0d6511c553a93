/** Counting what the store holds, to see that bad requests enqueued nothing. */
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

/** Messages in the two tier queues and items in the task table. */
export interface StoreCounts {
  readonly queuedMessages: number;
  readonly taskItems: number;
}

/** Messages in the two tier queues and items in the task table, read through the endpoints `/_local/stack` names. */
export async function storeCounts(apiUrl: string): Promise<StoreCounts> {
  const response = await fetch(new URL('/_local/stack', apiUrl));
  if (!response.ok) throw new Error(`GET /_local/stack answered ${response.status}`);
  const stack = (await response.json()) as {
    outputs: Record<string, string>;
    endpoints: { sqs: string; dynamodb: string };
    region: string;
  };
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const sqs = new SQSClient({ endpoint: stack.endpoints.sqs, region: stack.region, credentials });
  const dynamo = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials,
  });
  try {
    let queuedMessages = 0;
    for (const key of ['HighQueueUrl', 'LowQueueUrl']) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.outputs[key],
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      for (const value of Object.values(out.Attributes ?? {})) queuedMessages += Number(value);
    }
    let taskItems = 0;
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page = await dynamo.send(
        new ScanCommand({
          TableName: stack.outputs.TaskTableName,
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      taskItems += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return { queuedMessages, taskItems };
  } finally {
    sqs.destroy();
    dynamo.destroy();
  }
}
