import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface TaskTableProps {
  /** @default RemovalPolicy.RETAIN: task history outlives the stack */
  readonly removalPolicy?: RemovalPolicy;
  /** @default - encrypted with an AWS owned key */
  readonly encryptionKey?: kms.IKey;
}

/**
 * What each of the queue's tables shares: one string partition key, on-demand billing, point-in-time recovery, TTL
 * on `expires_at`, and the queue's encryption.
 */
export function queueTableSettings(
  partitionKey: string,
  encryptionKey: kms.IKey | undefined,
): Omit<dynamodb.TableProps, 'removalPolicy'> {
  return {
    partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: 'expires_at',
    ...(encryptionKey
      ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey }
      : { encryption: dynamodb.TableEncryption.DEFAULT }),
  };
}

/**
 * The task table: one item per task, keyed by `task_id`. It is both the idempotency record and the
 * status record. Items expire through TTL on `expires_at`, which is set when a task ends.
 *
 * Its stream (new and old images) is always on: task events are derived from it (TaskEvents). A stream costs
 * nothing until something reads it, and Lambda's reads of it are free.
 * @see https://aws.amazon.com/dynamodb/pricing/on-demand/ (DynamoDB Streams: GetRecords by Lambda triggers are free)
 */
export class TaskTable extends Construct {
  public readonly table: dynamodb.Table;

  public constructor(scope: Construct, id: string, props: TaskTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      ...queueTableSettings('task_id', props.encryptionKey),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
  }
}
