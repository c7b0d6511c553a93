import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FunctionRole, functionEnvironment } from '../lambda/contract';
import { HandlerFunction, type LogLevel, type SystemLogLevel } from './handler-function';

export interface AcceptedTasksCounterProps {
  /** The task table. It must have a stream (TaskTable always has one). */
  readonly table: dynamodb.ITable;
  /** The table's key, when it has a customer managed one: the stream's records are encrypted with it. */
  readonly encryptionKey?: kms.IKey;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** @default 'WARN' */
  readonly systemLogLevel?: SystemLogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * Up to this many task creations a batch. Lambda also ends a batch at 6 MB of records, so large payloads in the
 * records make smaller batches, never a failed one.
 */
export const ACCEPTED_BATCH_SIZE = 1000;
/**
 * How long the stream gathers task creations before it invokes the counter: `TasksAccepted` lags acceptance by
 * up to this much, and a busy queue pays one invocation (and one EMF line per tier and task type) per this long.
 */
export const ACCEPTED_BATCHING_WINDOW = Duration.seconds(5);

/**
 * Counts the tasks `POST /tasks` accepted (`TasksAccepted`, by tier and task type) from the task table's stream:
 * one invocation a batching window, one EMF line per tier and type in it, instead of a line per task in the
 * producer (lambda/handlers/accepted-tasks.ts). Only INSERT records reach the function (the event source's
 * filter), and Lambda's reads of a DynamoDB stream cost nothing.
 *
 * A second reader of the stream, beside the event publisher when events are on: DynamoDB serves two readers
 * of a shard at once without throttling.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html#Streams.Processing
 */
export class AcceptedTasksCounter extends Construct {
  public readonly counterFunction: HandlerFunction;
  public readonly mapping: lambda.EventSourceMapping;

  public constructor(scope: Construct, id: string, props: AcceptedTasksCounterProps) {
    super(scope, id);
    if (!props.table.tableStreamArn) {
      throw new Error(
        `Invalid AcceptedTasksCounter props (${this.node.path}): the task table must have a stream`,
      );
    }
    this.counterFunction = new HandlerFunction(this, 'Function', {
      handler: 'accepted-tasks',
      description: 'Counts the tasks accepted (TasksAccepted) from the task table stream',
      timeout: Duration.seconds(30),
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.AcceptedTasks, {}),
    });
    // Reading the stream of a table with a customer managed key decrypts its records.
    props.encryptionKey?.grantDecrypt(this.counterFunction);
    props.table.grantStream(
      this.counterFunction,
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    );
    this.mapping = new lambda.EventSourceMapping(this, 'StreamMapping', {
      target: this.counterFunction,
      eventSourceArn: props.table.tableStreamArn,
      // A task created before the counter existed (a stack that adds it) was counted by the producer then.
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: ACCEPTED_BATCH_SIZE,
      maxBatchingWindow: ACCEPTED_BATCHING_WINDOW,
      // The function only counts: a batch that still fails (it could only be a malformed record) is dropped,
      // rather than blocking the shard's later counts.
      retryAttempts: 2,
      maxRecordAge: Duration.hours(1),
      filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
    });
  }
}
