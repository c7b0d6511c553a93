/** Minimal Lambda events and context for handler tests. */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, Context, DynamoDBRecord, SQSRecord } from 'aws-lambda';
import type { TaskRecord } from '../../../lambda/core/task';

export const context = { awsRequestId: 'request-1', functionName: 'test' } as unknown as Context;

export function httpEvent(
  method: string,
  path: string,
  init: {
    headers?: Record<string, string>;
    body?: string;
    isBase64Encoded?: boolean;
    pathParameters?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: init.headers ?? {},
    body: init.body,
    isBase64Encoded: init.isBase64Encoded ?? false,
    ...(init.pathParameters && { pathParameters: init.pathParameters }),
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
    },
  } as unknown as APIGatewayProxyEventV2;
}

export function sqsRecord(messageId: string, body: string, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'sender',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:high',
    awsRegion: 'eu-west-1',
  };
}

/** A task table stream record of one write, as Lambda hands it over (images in DynamoDB JSON). */
export function streamRecord(
  sequence: string,
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  oldImage: TaskRecord | undefined,
  newImage: TaskRecord | undefined,
): DynamoDBRecord {
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: sequence,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      Keys: marshall({ task_id: (newImage ?? oldImage)!.task_id }) as never,
      ...(oldImage && { OldImage: marshall(oldImage, { removeUndefinedValues: true }) as never }),
      ...(newImage && { NewImage: marshall(newImage, { removeUndefinedValues: true }) as never }),
    },
  };
}
