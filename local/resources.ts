/**
 * Creates, in the emulators, every resource of the template that has a local counterpart: SQS queues
 * (with their attributes and redrive policy), DynamoDB tables (keys, indexes, TTL), SNS topics and their
 * SQS subscriptions, and S3 buckets. Everything is read from the template; nothing is named here.
 * Creation is idempotent, so a persisted state is reused and brought up to date.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import { resourcesOfType } from './template';

export interface ResourceClients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  /** fauxqs's own API, for SNS and S3 (the project has no SNS or S3 SDK). */
  readonly fauxqs: FauxqsServer;
}

/** Queue properties that are SQS attributes of the same name. */
const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
] as const;

function queueAttributes(props: Record<string, unknown>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_ATTRIBUTES) {
    if (props[name] !== undefined) attributes[name] = String(props[name]);
  }
  const redrive = props.RedrivePolicy as
    | { deadLetterTargetArn?: string; maxReceiveCount?: unknown }
    | undefined;
  if (redrive) {
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: redrive.deadLetterTargetArn,
      maxReceiveCount: String(redrive.maxReceiveCount),
    });
  }
  return attributes;
}

async function createQueues(ctx: IntrinsicContext, sqs: SQSClient): Promise<string[]> {
  // Dead-letter targets first: a queue's redrive policy names a queue that must exist.
  const queues = resourcesOfType(ctx.template, 'AWS::SQS::Queue').sort(
    ([, a], [, b]) =>
      Number(a.Properties?.RedrivePolicy !== undefined) - Number(b.Properties?.RedrivePolicy !== undefined),
  );
  const names: string[] = [];
  for (const [id, resource] of queues) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as Record<string, unknown>;
    const name = ctx.resources.get(id)!.attributes.QueueName!;
    const attributes = queueAttributes(props);
    try {
      await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (!(error instanceof QueueNameExists) && !/QueueNameExists|QueueAlreadyExists/.test(name))
        throw error;
      // A persisted queue from an earlier configuration: bring its attributes up to date.
      const { FifoQueue: _fifo, ...settable } = attributes;
      await sqs.send(
        new SetQueueAttributesCommand({ QueueUrl: ctx.resources.get(id)!.ref, Attributes: settable }),
      );
    }
    names.push(name);
  }
  return names;
}

type TableProps = Omit<CreateTableCommandInput, 'TableName'> & {
  TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
  BillingMode?: string;
};

async function createTables(ctx: IntrinsicContext, dynamodb: DynamoDBClient): Promise<string[]> {
  const names: string[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::DynamoDB::Table')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as TableProps;
    const name = ctx.resources.get(id)!.ref;
    names.push(name);
    const existing = await dynamodb.send(new DescribeTableCommand({ TableName: name })).then(
      (out) => out.Table ?? {},
      (error: unknown) => {
        if (error instanceof ResourceNotFoundException) return undefined;
        throw error;
      },
    );
    if (existing) {
      // A persisted table from a configuration without a stream: the stream starts now, as UpdateTable does.
      if (props.StreamSpecification && existing.StreamSpecification?.StreamEnabled !== true) {
        await dynamodb.send(
          new UpdateTableCommand({
            TableName: name,
            StreamSpecification: { ...props.StreamSpecification, StreamEnabled: true },
          }),
        );
      }
      continue;
    }
    const onDemand = props.BillingMode === 'PAY_PER_REQUEST';
    const throughput = onDemand
      ? undefined
      : (props.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: props.AttributeDefinitions,
        KeySchema: props.KeySchema,
        BillingMode: onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED',
        ...(throughput && { ProvisionedThroughput: throughput }),
        ...(props.GlobalSecondaryIndexes && {
          GlobalSecondaryIndexes: props.GlobalSecondaryIndexes.map((index) => ({
            ...index,
            ...(!onDemand && { ProvisionedThroughput: index.ProvisionedThroughput ?? throughput }),
          })),
        }),
        ...(props.LocalSecondaryIndexes && { LocalSecondaryIndexes: props.LocalSecondaryIndexes }),
        ...(props.StreamSpecification && {
          StreamSpecification: { ...props.StreamSpecification, StreamEnabled: true },
        }),
      }),
    );
    if (props.TimeToLiveSpecification?.Enabled) {
      await dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: props.TimeToLiveSpecification,
        }),
      );
    }
  }
  return names;
}

function createTopicsAndBuckets(ctx: IntrinsicContext, fauxqs: FauxqsServer): void {
  const nameOfArn = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
  const subscriptions: Array<{
    topicArn: string;
    protocol: string;
    endpoint: string;
    attributes: Record<string, string>;
  }> = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::SNS::Topic')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as {
      Subscription?: Array<{ Protocol: string; Endpoint: string }>;
    };
    const arn = ctx.resources.get(id)!.ref;
    fauxqs.createTopic(nameOfArn(arn));
    for (const s of props.Subscription ?? []) {
      subscriptions.push({ topicArn: arn, protocol: s.Protocol, endpoint: s.Endpoint, attributes: {} });
    }
  }
  for (const [, resource] of resourcesOfType(ctx.template, 'AWS::SNS::Subscription')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    if (props.RawMessageDelivery !== undefined)
      attributes.RawMessageDelivery = String(props.RawMessageDelivery);
    if (props.FilterPolicy !== undefined) attributes.FilterPolicy = JSON.stringify(props.FilterPolicy);
    if (props.FilterPolicyScope !== undefined) attributes.FilterPolicyScope = String(props.FilterPolicyScope);
    subscriptions.push({
      topicArn: String(props.TopicArn),
      protocol: String(props.Protocol),
      endpoint: String(props.Endpoint),
      attributes,
    });
  }
  for (const s of subscriptions) {
    // fauxqs delivers SNS to SQS only; other protocols are reported by the banner as not emulated.
    if (s.protocol !== 'sqs') continue;
    fauxqs.subscribe({
      topic: nameOfArn(s.topicArn),
      queue: nameOfArn(s.endpoint),
      attributes: s.attributes,
    });
  }
  for (const [id] of resourcesOfType(ctx.template, 'AWS::S3::Bucket')) {
    fauxqs.createBucket(ctx.resources.get(id)!.ref);
  }
}

/**
 * SQS fair queues, which the runtime does not emulate. On AWS a standard queue whose messages carry a
 * `MessageGroupId` (the tier queues, from `tenant_id`) serves the quiet tenants' messages ahead of a noisy
 * tenant's backlog. fauxqs accepts the group id on a standard queue but delivers in arrival order whatever the
 * group: the fair ordering is AWS's server-side behaviour, and so is its `ApproximateNumberOfNoisyGroups`
 * metric (CloudWatch is not emulated either). Reported once when the template has a standard queue.
 */
export function fairQueuesNotEmulated(ctx: IntrinsicContext): string[] {
  const standard = resourcesOfType(ctx.template, 'AWS::SQS::Queue').some(
    ([, r]) => String(r.Properties?.FifoQueue ?? false) !== 'true',
  );
  return standard
    ? [
        'SQS fair-queue ordering (MessageGroupId on standard queues): fauxqs delivers a standard queue in ' +
          "arrival order whatever the group; the fair ordering, and its noisy-groups metric, are AWS's " +
          'server-side behaviour',
      ]
    : [];
}

export interface CreatedResources {
  readonly queues: readonly string[];
  readonly tables: readonly string[];
}

export async function createResources(
  ctx: IntrinsicContext,
  clients: ResourceClients,
): Promise<CreatedResources> {
  const [queues, tables] = await Promise.all([
    createQueues(ctx, clients.sqs),
    createTables(ctx, clients.dynamodb),
  ]);
  createTopicsAndBuckets(ctx, clients.fauxqs);
  return { queues, tables };
}
