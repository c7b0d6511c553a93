import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, FunctionRole, functionEnvironment } from '../lambda/contract';
import { HandlerFunction, type LogLevel, type SystemLogLevel } from './handler-function';
import { DEFAULT_TASK_RETENTION } from './task-tier';

export interface DeadLetterSweeperProps {
  /** The task table whose records the sweep fails. */
  readonly table: dynamodb.ITable;
  /** The DLQs to sweep. */
  readonly deadLetterQueues: readonly sqs.IQueue[];
  /**
   * How often the DLQs are swept. A task whose consumer died on its last delivery reaches FAILED within this
   * interval after its message reaches the DLQ.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * How long a task failed by the sweep stays in the table.
   * @default Duration.days(30)
   */
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

/** The sweeper's timeout: each run reads the DLQs for this long, less the time kept for its last writes. */
export const SWEEP_TIMEOUT = Duration.minutes(3);

/**
 * A scheduled function that gives every dead-lettered task a terminal status (see lambda/core/sweep.ts).
 * It reads the DLQs without consuming them.
 */
export class DeadLetterSweeper extends Construct {
  public readonly sweeperFunction: HandlerFunction;
  public readonly rule: events.Rule;

  public constructor(scope: Construct, id: string, props: DeadLetterSweeperProps) {
    super(scope, id);
    this.sweeperFunction = new HandlerFunction(this, 'Function', {
      handler: 'dead-letter-sweeper',
      description: 'Fails tasks whose messages reached a DLQ without a terminal status',
      timeout: SWEEP_TIMEOUT,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.Sweeper, {
        TASK_TABLE_NAME: props.table.tableName,
        DEAD_LETTER_QUEUE_URLS: props.deadLetterQueues.map((q) => q.queueUrl).join(','),
        TASK_RETENTION_SECONDS: String((props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds()),
        REDRIVE_GRACE_SECONDS: String(DEFAULTS.redriveGraceSeconds),
        SWEEP_MAX_MESSAGES: String(DEFAULTS.sweepMaxMessages),
      }),
    });
    for (const queue of props.deadLetterQueues) {
      queue.grant(
        this.sweeperFunction,
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        // to show again what a pass hid
        'sqs:ChangeMessageVisibility',
      );
    }
    // GetItem: why an async attempt ended, and whether a dead-lettered delivery has a record; PutItem: the FAILED
    // record of a delivery dead-lettered before any claim (core/sweep.ts); UpdateItem: the abandon rule.
    props.table.grant(this.sweeperFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Sweeps the task DLQs',
      schedule: events.Schedule.rate(props.interval ?? Duration.seconds(DEFAULTS.sweepIntervalSeconds)),
      targets: [new targets.LambdaFunction(this.sweeperFunction, { retryAttempts: 0 })],
    });
  }
}
