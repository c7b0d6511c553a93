import type { DynamoDBRecord } from 'aws-lambda';
import {
  onFailureRecord,
  streamBatchVerdict,
  streamEventSources,
  toLambdaRecord,
} from '../../../local/stream-source';
import { localContext } from './local-context';

const records = ['100', '200', '300'].map(
  (SequenceNumber, i) =>
    ({ dynamodb: { SequenceNumber, ApproximateCreationDateTime: 1_700_000_000 + i } }) as DynamoDBRecord,
);
const ok = (result: unknown) => ({ ok: true as const, result });

describe('Function: streamBatchVerdict', () => {
  it('is done whatever the answer when the mapping does not report item failures', () => {
    expect(
      streamBatchVerdict(records, ok({ batchItemFailures: [{ itemIdentifier: '200' }] }), false),
    ).toEqual({
      kind: 'done',
    });
  });

  it('restarts the batch at the lowest sequence number the function reports', () => {
    const outcome = ok({ batchItemFailures: [{ itemIdentifier: '300' }, { itemIdentifier: '200' }] });
    expect(streamBatchVerdict(records, outcome, true)).toEqual({ kind: 'partial', from: 1 });
  });

  it('is done when the function reports no failures or an empty list', () => {
    expect(streamBatchVerdict(records, ok(null), true)).toEqual({ kind: 'done' });
    expect(streamBatchVerdict(records, ok({ batchItemFailures: [] }), true)).toEqual({ kind: 'done' });
  });

  it('fails the whole batch for a throw, and for an item failure that names no record of the batch', () => {
    const error = { errorType: 'Error', errorMessage: 'boom' };
    expect(streamBatchVerdict(records, { ok: false, error, timedOut: false }, true)).toEqual({
      kind: 'failed',
    });
    expect(streamBatchVerdict(records, ok({ batchItemFailures: [{ itemIdentifier: '999' }] }), true)).toEqual(
      {
        kind: 'failed',
      },
    );
    expect(streamBatchVerdict(records, ok({ batchItemFailures: [{}] }), true)).toEqual({ kind: 'failed' });
    expect(streamBatchVerdict(records, ok({ batchItemFailures: 'x' }), true)).toEqual({ kind: 'failed' });
  });
});

describe('Function: toLambdaRecord', () => {
  it("writes a stream record in Lambda's event shape: seconds, base64 binaries, the stream ARN", () => {
    const lambdaRecord = toLambdaRecord(
      {
        eventID: 'e1',
        eventName: 'MODIFY',
        eventSource: 'aws:dynamodb',
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-01-01T00:00:01.900Z'),
          Keys: { task_id: { S: 't1' } },
          NewImage: { task_id: { S: 't1' }, blob: { B: Buffer.from('hi') }, m: { M: { n: { N: '1' } } } },
          OldImage: { task_id: { S: 't1' } },
          SequenceNumber: '42',
          SizeBytes: 30,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      'arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/2026',
      'us-east-1',
    );
    expect(lambdaRecord).toEqual({
      eventID: 'e1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/2026',
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-01-01T00:00:01Z') / 1000,
        Keys: { task_id: { S: 't1' } },
        NewImage: { task_id: { S: 't1' }, blob: { B: 'aGk=' }, m: { M: { n: { N: '1' } } } },
        OldImage: { task_id: { S: 't1' } },
        SequenceNumber: '42',
        SizeBytes: 30,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  });
});

describe('Function: onFailureRecord', () => {
  it("names the batch's shard and sequence range, and says the function failed when it threw", () => {
    const record = onFailureRecord({
      records,
      shardId: 'shardId-1',
      streamArn: 'arn:stream',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Publisher',
      condition: 'RetryAttemptsExhausted',
      invokeCount: 3,
      lastOutcome: { ok: false, error: { errorType: 'Error', errorMessage: 'boom' }, timedOut: false },
      now: new Date('2026-01-01T00:00:00Z'),
    });
    expect(record).toMatchObject({
      requestContext: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Publisher',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-01T00:00:00.000Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: '100',
        endSequenceNumber: '300',
        approximateArrivalOfFirstRecord: new Date(1_700_000_000_000).toISOString(),
        approximateArrivalOfLastRecord: new Date(1_700_000_002_000).toISOString(),
        batchSize: 3,
        streamArn: 'arn:stream',
      },
    });
    expect(record.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('has no functionError when the function answered with item failures', () => {
    const record = onFailureRecord({
      records,
      shardId: 's',
      streamArn: 'a',
      functionArn: 'f',
      condition: 'RetryAttemptsExhausted',
      invokeCount: 1,
      lastOutcome: ok({ batchItemFailures: [{ itemIdentifier: '100' }] }),
      now: new Date(),
    });
    expect(record.responseContext).not.toHaveProperty('functionError');
  });
});

describe('Function: streamEventSources', () => {
  const template = {
    Table: {
      Type: 'AWS::DynamoDB::Table',
      Properties: { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } },
    },
    Queue: { Type: 'AWS::SQS::Queue' },
    Unpublished: { Type: 'AWS::SQS::Queue' },
    Publisher: { Type: 'AWS::Lambda::Function' },
    Mapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
        FunctionName: { Ref: 'Publisher' },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 50,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 3,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        FilterCriteria: { Filters: [{ Pattern: '{"eventName":["MODIFY"]}' }] },
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Unpublished', 'Arn'] } } },
      },
    },
    SqsMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, FunctionName: { Ref: 'Publisher' } },
    },
  };

  it("reads a mapping on a table's stream with its settings, and leaves SQS mappings alone", () => {
    const ctx = localContext(template);
    const invoked: string[] = [];
    const sources = streamEventSources(ctx, {
      dynamodb: {} as never,
      streams: {} as never,
      sqs: {} as never,
      functions: (name) => ({
        invoke: async () => {
          invoked.push(name);
          return { ok: true, result: null };
        },
      }),
      log: () => {},
    });
    expect(sources).toHaveLength(1);
    const { filter, ...settings } = sources[0]!.settings;
    expect(settings).toEqual({
      logicalId: 'Mapping',
      tableName: 'Local-Table',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Local-Publisher',
      region: 'us-east-1',
      batchSize: 50,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 3,
      maximumRecordAgeSeconds: -1,
      onFailureQueueUrl: 'http://127.0.0.1:4566/000000000000/Local-Unpublished',
      enabled: true,
    });
    expect(filter.accepts({ eventName: 'MODIFY' })).toBe(true);
    expect(filter.accepts({ eventName: 'INSERT' })).toBe(false);
  });

  it('refuses an on-failure destination that is not a queue of the template', () => {
    const ctx = localContext({
      ...template,
      Mapping: {
        ...template.Mapping,
        Properties: {
          ...template.Mapping.Properties,
          DestinationConfig: { OnFailure: { Destination: 'arn:aws:sns:us-east-1:000000000000:elsewhere' } },
        },
      },
    });
    expect(() =>
      streamEventSources(ctx, {
        dynamodb: {} as never,
        streams: {} as never,
        sqs: {} as never,
        functions: () => ({ invoke: async () => ({ ok: true, result: null }) }),
        log: () => {},
      }),
    ).toThrow('is not a queue of the template');
  });
});
