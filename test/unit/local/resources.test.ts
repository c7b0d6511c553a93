import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { FauxqsServer } from 'fauxqs';
import { createResources, fairQueuesNotEmulated } from '../../../local/resources';
import type { TemplateResource } from '../../../local/template';
import { localContext } from './local-context';

const sqsMock = mockClient(SQSClient);
const ddbMock = mockClient(DynamoDBClient);
afterEach(() => {
  sqsMock.reset();
  ddbMock.reset();
});

const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/Local-WorkQueue';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:Local-DeadLetters';

const template: Record<string, TemplateResource> = {
  WorkQueue: {
    Type: 'AWS::SQS::Queue',
    Properties: {
      VisibilityTimeout: 450,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetters', 'Arn'] }, maxReceiveCount: 5 },
    },
  },
  DeadLetters: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1_209_600 } },
  Tasks: {
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'task_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'task_id', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    },
  },
  Events: {
    Type: 'AWS::SNS::Topic',
    Properties: { Subscription: [{ Protocol: 'sqs', Endpoint: { 'Fn::GetAtt': ['WorkQueue', 'Arn'] } }] },
  },
  Mail: {
    Type: 'AWS::SNS::Subscription',
    Properties: { TopicArn: { Ref: 'Events' }, Protocol: 'email', Endpoint: 'ops@example.com' },
  },
  Uploads: { Type: 'AWS::S3::Bucket' },
};

function fauxqs() {
  const calls: string[] = [];
  const server = {
    createTopic: (name: string) => calls.push(`topic ${name}`),
    subscribe: (s: { topic: string; queue: string }) => calls.push(`subscribe ${s.topic} → ${s.queue}`),
    createBucket: (name: string) => calls.push(`bucket ${name}`),
  } as unknown as FauxqsServer;
  return { server, calls };
}

async function create() {
  const f = fauxqs();
  const created = await createResources(localContext(template), {
    sqs: new SQSClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    fauxqs: f.server,
  });
  return { created, fauxqsCalls: f.calls };
}

describe('Function: createResources', () => {
  it('creates the dead-letter queue before the queue whose redrive policy names it', async () => {
    // Prepare
    ddbMock.on(DescribeTableCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));

    // Act
    const { created } = await create();

    // Assess
    expect(created.queues).toEqual(['Local-DeadLetters', 'Local-WorkQueue']);
    expect(sqsMock.commandCalls(CreateQueueCommand).map((c) => c.args[0].input)).toEqual([
      { QueueName: 'Local-DeadLetters', Attributes: { MessageRetentionPeriod: '1209600' } },
      {
        QueueName: 'Local-WorkQueue',
        Attributes: {
          VisibilityTimeout: '450',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: '5' }),
        },
      },
    ]);
  });

  it('brings the attributes of a persisted queue up to date', async () => {
    ddbMock.on(DescribeTableCommand).resolves({});
    sqsMock.on(CreateQueueCommand).rejects(new QueueNameExists({ message: 'exists', $metadata: {} }));
    await create();
    expect(sqsMock.commandCalls(SetQueueAttributesCommand).map((c) => c.args[0].input.QueueUrl)).toEqual([
      'http://127.0.0.1:4566/000000000000/Local-DeadLetters',
      QUEUE_URL,
    ]);
  });

  it('creates a missing table with its keys, billing mode and time to live', async () => {
    ddbMock.on(DescribeTableCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
    const { created } = await create();
    expect(created.tables).toEqual(['Local-Tasks']);
    expect(ddbMock.commandCalls(CreateTableCommand)[0]!.args[0].input).toEqual({
      TableName: 'Local-Tasks',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'task_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'task_id', AttributeType: 'S' }],
    });
    expect(ddbMock.commandCalls(UpdateTimeToLiveCommand)[0]!.args[0].input).toEqual({
      TableName: 'Local-Tasks',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
  });

  it('leaves an existing table alone', async () => {
    ddbMock.on(DescribeTableCommand).resolves({});
    await create();
    expect(ddbMock.commandCalls(CreateTableCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(UpdateTableCommand)).toHaveLength(0);
  });

  describe('a table with a stream', () => {
    const streamed = {
      Tasks: {
        ...template.Tasks,
        Properties: {
          ...template.Tasks!.Properties,
          StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        },
      },
    };
    const createStreamed = () =>
      createResources(localContext(streamed), {
        sqs: new SQSClient({ region: 'us-east-1' }),
        dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
        fauxqs: fauxqs().server,
      });

    it('is created with its stream', async () => {
      ddbMock
        .on(DescribeTableCommand)
        .rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
      await createStreamed();
      expect(ddbMock.commandCalls(CreateTableCommand)[0]!.args[0].input.StreamSpecification).toEqual({
        StreamViewType: 'NEW_AND_OLD_IMAGES',
        StreamEnabled: true,
      });
    });

    it('gets its stream when a persisted table has none, and keeps a stream it has', async () => {
      ddbMock.on(DescribeTableCommand).resolves({ Table: { TableName: 'Local-Tasks' } });
      await createStreamed();
      expect(ddbMock.commandCalls(UpdateTableCommand)[0]!.args[0].input).toEqual({
        TableName: 'Local-Tasks',
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES', StreamEnabled: true },
      });
      ddbMock.resetHistory();
      ddbMock.on(DescribeTableCommand).resolves({
        Table: { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } },
      });
      await createStreamed();
      expect(ddbMock.commandCalls(UpdateTableCommand)).toHaveLength(0);
    });
  });

  it('creates topics, their SQS subscriptions only, and buckets in fauxqs', async () => {
    ddbMock.on(DescribeTableCommand).resolves({});
    const { fauxqsCalls } = await create();
    expect(fauxqsCalls).toEqual([
      'topic Local-Events',
      'subscribe Local-Events → Local-WorkQueue',
      'bucket local-uploads',
    ]);
  });
});

describe('Function: fairQueuesNotEmulated', () => {
  it('reports fair-queue ordering as not emulated, with its reason, once for a template with standard queues', () => {
    // WHEN
    const notEmulated = fairQueuesNotEmulated(localContext(template));

    // THEN
    expect(notEmulated).toEqual([
      expect.stringMatching(
        /^SQS fair-queue ordering \(MessageGroupId on standard queues\): fauxqs delivers a standard queue in arrival order whatever the group; .*AWS's server-side behaviour$/,
      ),
    ]);
  });

  it('reports nothing for a template whose only queue is FIFO, where group order is emulated', () => {
    // GIVEN
    const fifoOnly = { Orders: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } } };

    // WHEN / THEN
    expect(fairQueuesNotEmulated(localContext(fifoOnly))).toEqual([]);
  });
});
