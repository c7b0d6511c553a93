import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULTS } from '../lambda/contract';
import { PAYLOAD_KEY_PREFIX } from '../lambda/core/payload-storage';

export interface TaskResultsProps {
  /**
   * How long a task stays in the table after it ends. Its result's object lives as long, plus
   * `TTL_SLACK_DAYS`: a record whose TTL has passed can still be read until DynamoDB deletes it.
   * @default Duration.days(30)
   */
  readonly taskRetention?: Duration;
  /** @default - SSE-S3 (S3 managed keys) */
  readonly encryptionKey?: kms.IKey;
  /** @default RemovalPolicy.RETAIN: results outlive the stack, as the task table does */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Days an object outlives its record's `expires_at`: DynamoDB deletes an expired item typically within two days,
 * and reads return it until then.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html
 */
export const TTL_SLACK_DAYS = 2;

/** How long objects live when the task retention is a deploy-time value (a parameter). */
export const UNKNOWN_RETENTION_DAYS = 365;

/** Where the results are, under the bucket: lambda/core/result-storage.ts `resultObjectKey`. */
export const RESULT_KEY_PREFIX = 'results/';

/**
 * The results bucket: the JSON text of each result too large to store in its record at one or a few write units
 * (lambda/core/result-storage.ts), one object per successful write. Private (public access blocked, objects owned
 * by the bucket owner), TLS only, encrypted at rest, and emptied by a lifecycle rule that follows the task
 * table's TTL. The functions that record results may put objects, those that answer them may get objects; no one
 * may list or delete.
 */
export class TaskResults extends Construct {
  public readonly bucket: s3.Bucket;
  /** The roles already acknowledged for a prefix: one acknowledgement each, however many grants. */
  private readonly acknowledged = new Map<string, Set<iam.IRole>>();

  public constructor(scope: Construct, id: string, props: TaskResultsProps = {}) {
    super(scope, id);
    const retentionSeconds = (
      props.taskRetention ?? Duration.seconds(DEFAULTS.taskRetentionSeconds)
    ).toSeconds();
    // A retention known only at deploy time cannot be rounded to whole days here: the objects then live a year.
    const retentionDays = Token.isUnresolved(retentionSeconds)
      ? UNKNOWN_RETENTION_DAYS
      : Math.ceil(retentionSeconds / 86_400);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      ...(props.encryptionKey
        ? {
            encryption: s3.BucketEncryption.KMS,
            encryptionKey: props.encryptionKey,
            // One data key per bucket and period, not per object: far fewer KMS requests.
            bucketKeyEnabled: true,
          }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      lifecycleRules: [
        {
          id: 'expire-with-task-records',
          expiration: Duration.days(retentionDays + TTL_SLACK_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Only the queue's own functions read or write this bucket, one object per task result, and each write is logged by the function as the task's success; server access logs would need a second bucket and would repeat those lines.",
    });
  }

  /** Lets `fn` store results: s3:PutObject under the results prefix. */
  public grantWrite(fn: lambda.IFunction): void {
    this.grant(fn, 's3:PutObject', RESULT_KEY_PREFIX);
  }

  /** Lets `fn` read results back: s3:GetObject under the results prefix. */
  public grantRead(fn: lambda.IFunction): void {
    this.grant(fn, 's3:GetObject', RESULT_KEY_PREFIX);
  }

  /** Lets `fn` store large payloads (the producer): s3:PutObject under the payloads prefix. */
  public grantPayloadWrite(fn: lambda.IFunction): void {
    this.grant(fn, 's3:PutObject', PAYLOAD_KEY_PREFIX);
  }

  /** Lets `fn` read large payloads (the consumers): s3:GetObject under the payloads prefix. */
  public grantPayloadRead(fn: lambda.IFunction): void {
    this.grant(fn, 's3:GetObject', PAYLOAD_KEY_PREFIX);
  }

  private grant(fn: lambda.IFunction, action: string, prefix: string): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [action],
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    const acknowledged = this.acknowledged.get(prefix) ?? new Set<iam.IRole>();
    this.acknowledged.set(prefix, acknowledged);
    if (!fn.role || acknowledged.has(fn.role)) return;
    acknowledged.add(fn.role);
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason:
        prefix === RESULT_KEY_PREFIX
          ? 'Result objects are keyed by task id and write id, unknown until the task ends; the grant is one action on the results prefix of the one bucket.'
          : 'Payload objects are keyed by task id and enqueue id, unknown until a task is submitted; the grant is one action on the payloads prefix of the one bucket.',
    });
  }
}
