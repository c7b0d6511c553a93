/** Cold-start floor of a handler that needs SQS and DynamoDB: both clients, constructed, and nothing else. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

export const dynamodb = new DynamoDBClient({});
export const sqs = new SQSClient({});
export const handler = async (): Promise<void> => {};
