import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { queueTableSettings } from './task-table';

export interface LimitTableProps {
  /**
   * @default RemovalPolicy.DESTROY: the counters are leases that run out within minutes, so nothing in them
   * outlives the stack's consumers
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default - encrypted with an AWS owned key */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The limiter's table: one item per counter (`agent#<type>`, `tenant#<id>`; lambda/core/limits.ts), keyed by
 * `counter`, holding the leases of the tasks that hold a slot and the start times of the rate window. A counter
 * left idle expires through TTL on `expires_at`. Every consumer and every settling function shares it, so the
 * limits hold across both tiers and all invocations.
 *
 * Point-in-time recovery is on like the task table's, though a restore has nothing to give back: a counter's
 * holders are leases, and a restored one is free again within one lease.
 */
export class LimitTable extends Construct {
  public readonly table: dynamodb.Table;

  public constructor(scope: Construct, id: string, props: LimitTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      // lambda/adapters/dynamodb-limiter.ts `COUNTER_KEY`; the infra test holds the two together.
      ...queueTableSettings('counter', props.encryptionKey),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}

/**
 * Lets `grantee` read and write the limiter's counters: a consistent `GetItem`, then a conditional `PutItem`; two
 * counters granted together are put in one `TransactWriteItems`, which IAM authorizes as the `PutItem`s it holds
 * (it has no action of its own). A release is an `UpdateItem` that removes its holder in place. No `Scan`: only
 * the chaos run's end check and operators list every counter.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
 */
export function grantLimitCounters(table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant {
  return table.grant(grantee, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
}
