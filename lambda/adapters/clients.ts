/**
 * SDK clients, created once per execution environment and reused across invocations.
 * Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB, …),
 * which is how the local runtime points handlers at its emulators without a local-mode branch.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';

let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let sns: SNSClient | undefined;

export const dynamoClient = (): DynamoDBClient => {
  dynamo ??= new DynamoDBClient({});
  return dynamo;
};

export const sqsClient = (): SQSClient => {
  sqs ??= new SQSClient({});
  return sqs;
};

export const snsClient = (): SNSClient => {
  sns ??= new SNSClient({});
  return sns;
};
