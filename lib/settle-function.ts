import type { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULTS, type FunctionRole, functionEnvironment } from '../lambda/contract';
import type { Priority } from '../lambda/core/task';
import { HandlerFunction, type LogLevel, type SystemLogLevel } from './handler-function';
import { grantLimitCounters } from './limit-table';
import type { TaskResults } from './task-results';
import { DEFAULT_TASK_RETENTION } from './task-tier';

/**
 * What settles an async attempt from outside the consumer: the task table, both tiers' queues (an attempt's
 * message stays in flight in its tier queue until it is settled), and the outcome rules the consumer applies
 * too. The defaults are the consumers' own, so that an attempt ends the same whoever settles it.
 */
export interface SettleOptions {
  /** The task table. */
  readonly table: dynamodb.ITable;
  /**
   * The limiter's table (LimitTable): settling an attempt gives back the slots it holds, and a heartbeat extends
   * them.
   */
  readonly limitsTable: dynamodb.ITable;
  /** The results bucket (TaskResults): a completion's result is stored there when its record would cost more. */
  readonly results: TaskResults;
  /** The queue of each tier; the function extends or ends the in-flight message of an attempt. */
  readonly queues: Readonly<Record<Priority, sqs.IQueue>>;
  /**
   * Deliveries of a message before SQS moves it to the DLQ: a retryable failure on the last one is final.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default Duration.seconds(2) */
  readonly backoffBase?: Duration;
  /** @default Duration.minutes(5) */
  readonly backoffCap?: Duration;
  /** @default 262144 */
  readonly maxResultBytes?: number;
  /** @default Duration.days(30) */
  readonly taskRetention?: Duration;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /**
   * Lambda's own start, end and report records of every invocation of the functions (HandlerFunction's
   * `systemLogLevel`): `INFO` writes them, `WARN` none.
   * @default 'WARN'
   */
  readonly systemLogLevel?: SystemLogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

export interface SettleFunctionProps extends SettleOptions {
  /** `callback` (the callback routes) or `completion` (the destination of async Lambda agents of the app). */
  readonly role: typeof FunctionRole.Callback | typeof FunctionRole.Completion;
  readonly description: string;
}

/**
 * A function that settles async attempts: the callback function and the completion function. Both read the
 * same environment (lambda/contract/environment.ts `SETTLE_ENV`) and get the same grants: read and update the
 * task record, read and write the limiter's counters (to give back or extend an attempt's slots), and change
 * the visibility of or delete a message of a tier queue (never a DLQ: a failed task's message is made visible,
 * and the consumer that receives it copies it to the DLQ as it does today).
 */
export class SettleFunction extends HandlerFunction {
  public constructor(scope: Construct, id: string, props: SettleFunctionProps) {
    super(scope, id, {
      handler: props.role,
      description: props.description,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(props.role, {
        TASK_TABLE_NAME: props.table.tableName,
        HIGH_QUEUE_URL: props.queues.high.queueUrl,
        LOW_QUEUE_URL: props.queues.low.queueUrl,
        MAX_RECEIVE_COUNT: String(props.maxReceiveCount ?? DEFAULTS.maxReceiveCount),
        BACKOFF_BASE_SECONDS: String(props.backoffBase?.toSeconds() ?? DEFAULTS.backoffBaseSeconds),
        BACKOFF_CAP_SECONDS: String(props.backoffCap?.toSeconds() ?? DEFAULTS.backoffCapSeconds),
        MAX_RESULT_BYTES: String(props.maxResultBytes ?? DEFAULTS.maxResultBytes),
        TASK_RETENTION_SECONDS: String((props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds()),
        LIMITS_TABLE_NAME: props.limitsTable.tableName,
        RESULT_BUCKET_NAME: props.results.bucket.bucketName,
      }),
    });
    props.table.grant(this, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    grantLimitCounters(props.limitsTable, this);
    // Put: the result of a completion; get: the answer to the same completion sent again.
    props.results.grantWrite(this);
    props.results.grantRead(this);
    for (const queue of [props.queues.high, props.queues.low]) {
      queue.grant(this, 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage');
    }
  }
}
