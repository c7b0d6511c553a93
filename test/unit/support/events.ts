/** Minimal Lambda events and context for handler tests. */
import type { APIGatewayProxyEventV2, Context, SQSRecord } from 'aws-lambda';

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
