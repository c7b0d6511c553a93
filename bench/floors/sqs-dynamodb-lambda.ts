/**
 * Cold-start floor of a consumer whose stack has Lambda agents: the SQS, DynamoDB and Lambda clients, constructed,
 * and nothing else.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';

export const dynamodb = new DynamoDBClient({});
export const sqs = new SQSClient({});
export const lambda = new LambdaClient({});
export const handler = async (): Promise<void> => {};
