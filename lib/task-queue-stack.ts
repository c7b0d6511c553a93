import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { FunctionRole, functionEnvironment } from '../lambda/contract';
import type { AgentRegistry } from './agents';
import { HandlerFunction } from './handler-function';
import {
  agentsFromConfig,
  eventSubscriptionsFromConfig,
  loadStackConfig,
  type StackConfig,
} from './stack-config';
import { TaskQueue, type TaskQueueProps } from './task-queue';

export interface TaskQueueStackProps extends StackProps {
  /** @default - read with loadStackConfig: context `taskQueue`, or the file `config/agents.json` */
  readonly config?: StackConfig;
  /**
   * Props passed through to the TaskQueue construct, over those derived from the config.
   * @default - only those derived from the config
   */
  readonly taskQueue?: Partial<TaskQueueProps>;
}

/** The deployable stack: a TaskQueue, the built-in echo agent, and the outputs a client needs. */
export class TaskQueueStack extends Stack {
  public readonly taskQueue: TaskQueue;

  public constructor(scope: Construct, id: string, props: TaskQueueStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? loadStackConfig(this);

    const agents: Record<string, AgentRegistry[string]> = { ...agentsFromConfig(this, config.agents ?? {}) };
    if (config.echoAgent ?? true) {
      const echo = new HandlerFunction(this, 'EchoAgent', {
        handler: 'echo-agent',
        description: 'Built-in echo agent for smoke tests',
        memorySize: 128,
        environment: functionEnvironment(FunctionRole.Agent, {}),
      });
      agents.echo ??= { kind: 'lambda', function: echo, timeout: Duration.seconds(10) };
    }

    const consumerTimeout = config.consumerTimeoutSeconds
      ? Duration.seconds(config.consumerTimeoutSeconds)
      : undefined;
    this.taskQueue = new TaskQueue(this, 'TaskQueue', {
      agents,
      topics: config.topics,
      auth: config.auth,
      maxReceiveCount: config.maxReceiveCount,
      backoffBase:
        config.backoffBaseSeconds !== undefined ? Duration.seconds(config.backoffBaseSeconds) : undefined,
      backoffCap:
        config.backoffCapSeconds !== undefined ? Duration.seconds(config.backoffCapSeconds) : undefined,
      tenantMaxConcurrency: config.tenantMaxConcurrency,
      limitWakeUp:
        config.limitWakeUpSeconds !== undefined ? Duration.seconds(config.limitWakeUpSeconds) : undefined,
      logLevel: config.logLevel,
      systemLogLevel: config.systemLogLevel,
      tiers: {
        high: {
          consumerTimeout,
          maxConcurrency: config.maxConcurrency?.high,
          provisionedPollers: config.provisionedPollers?.high,
        },
        low: {
          consumerTimeout,
          maxConcurrency: config.maxConcurrency?.low,
          provisionedPollers: config.provisionedPollers?.low,
        },
      },
      ...(config.events && { events: { transitions: config.events.transitions, publish: true } }),
      ...props.taskQueue,
    });
    for (const { subscription, filter } of eventSubscriptionsFromConfig(
      this,
      config.events?.subscriptions ?? [],
    )) {
      this.taskQueue.addEventSubscription(subscription, filter);
    }

    const q = this.taskQueue;
    new CfnOutput(this, 'ApiUrl', { value: q.api.url, description: 'Base URL of the task API' });
    new CfnOutput(this, 'HighQueueUrl', { value: q.tiers.high.queue.queueUrl });
    new CfnOutput(this, 'LowQueueUrl', { value: q.tiers.low.queue.queueUrl });
    new CfnOutput(this, 'HighDeadLetterQueueUrl', { value: q.tiers.high.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'LowDeadLetterQueueUrl', { value: q.tiers.low.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'TaskTableName', { value: q.table.tableName });
    new CfnOutput(this, 'LimitsTableName', { value: q.limitsTable.tableName });
    new CfnOutput(this, 'ResultBucketName', {
      value: q.results.bucket.bucketName,
      description: 'Results too large to store in their task record cheaply',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: q.alarms.topic.topicArn });
    new CfnOutput(this, 'TaskEventsTopicArn', {
      value: q.events.topicArn,
      description: 'The task lifecycle events topic (docs/events.md)',
    });
    new CfnOutput(this, 'UnpublishedEventsQueueUrl', {
      value: q.taskEvents.unpublishedEvents.queueUrl,
      description: 'Task events waiting for taskq events replay',
    });
  }
}
