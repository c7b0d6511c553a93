/**
 * Task lifecycle events (issue 13, part 2): the `events` topic, the unpublished-events queue and its alarm, the
 * publisher on the task table's stream (only once something subscribes), filters, encryption, and the config
 * file's `events`.
 */
import { type App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { EnvName } from '../../lambda/contract';
import { TaskStatus } from '../../lambda/core/task';
import type { StackConfig } from '../../lib/stack-config';
import { STREAM_BATCH_SIZE, STREAM_RETRY_ATTEMPTS } from '../../lib/task-events';
import { TaskQueue } from '../../lib/task-queue';
import { TaskQueueStack } from '../../lib/task-queue-stack';
import { localStackConfig } from '../../local/local-config';
import {
  actionsByResource,
  defaultQueue,
  defaultRulesViolations,
  HTTP_AGENTS,
  logicalId,
  queueStack,
  roleStatements,
  testApp,
} from './synth';

const getAtt = (construct: Parameters<typeof logicalId>[0], attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const ref = (construct: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(construct) });

/**
 * The publisher's stream mappings in the template: event source mappings whose source is the task table's stream,
 * but for the accepted-tasks counter's (always there; test/infra/accepted-tasks-counter.test.ts).
 */
function streamMappings(template: Template, taskQueue: TaskQueue) {
  const streamArn = JSON.stringify(getAtt(taskQueue.table, 'StreamArn'));
  const counter = JSON.stringify(ref(taskQueue.acceptedTasks.counterFunction));
  return Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
    (m) =>
      JSON.stringify(m.Properties.EventSourceArn) === streamArn &&
      JSON.stringify(m.Properties.FunctionName) !== counter,
  );
}

/** A subscriber queue of the same stack. */
const subscriberQueue = (stack: Stack, id = 'Audit') =>
  new sqs.Queue(stack, id, { enforceSSL: true, encryption: sqs.QueueEncryption.SQS_MANAGED });

function stackWith(config: StackConfig): TaskQueueStack {
  return new TaskQueueStack(testApp(), 'AgentTaskQueue', { config });
}

describe('TaskEvents: the topic', () => {
  test('the construct creates the events topic, exposed as taskQueue.events, TLS only, with the AWS managed SNS key', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    expect(taskQueue.events).toBeInstanceOf(sns.Topic);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([':alias/aws/sns'])]),
      }),
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(taskQueue.events)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('with encryptionKey, the topic and the unpublished-events queue use that key', () => {
    // GIVEN
    const stack = new Stack(testApp(), 'Keyed');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });

    // WHEN
    const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: HTTP_AGENTS, encryptionKey: key });
    const template = Template.fromStack(stack);

    // THEN
    const topic = template.toJSON().Resources[logicalId(taskQueue.events)];
    expect(topic.Properties.KmsMasterKeyId).toEqual(getAtt(key));
    const queue = template.toJSON().Resources[logicalId(taskQueue.taskEvents.unpublishedEvents)];
    expect(queue.Properties.KmsMasterKeyId).toEqual(getAtt(key));
  });

  test('the stack outputs TaskEventsTopicArn and UnpublishedEventsQueueUrl', () => {
    // GIVEN
    const stack = stackWith({});

    // WHEN
    const outputs = Template.fromStack(stack).toJSON().Outputs;

    // THEN
    expect(outputs.TaskEventsTopicArn.Value).toEqual(ref(stack.taskQueue.events));
    expect(outputs.UnpublishedEventsQueueUrl.Value).toEqual(
      ref(stack.taskQueue.taskEvents.unpublishedEvents),
    );
  });

  test('the task table always has a stream of new and old images', () => {
    // GIVEN
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const table = template.toJSON().Resources[logicalId(taskQueue.table)];

    // THEN
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  test('the unpublished-events queue keeps events 14 days, and its alarm fires at one event on the alarm topic', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const queue = taskQueue.taskEvents.unpublishedEvents;
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1_209_600 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [ref(taskQueue.alarms.topic)],
    });
  });
});

describe('TaskEvents: publishing is on only when something subscribes', () => {
  test('with no subscriber, there is no publisher and nothing publishes from the stream', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    expect(taskQueue.taskEvents.publisherFunction).toBeUndefined();
    expect(streamMappings(template, taskQueue)).toEqual([]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('addEventSubscription builds the publisher and its stream mapping, with the filter and the on-failure queue', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    taskQueue.addEventSubscription(new subscriptions.SqsSubscription(subscriberQueue(stack)));
    const template = Template.fromStack(stack);

    // THEN
    const publisher = taskQueue.taskEvents.publisherFunction!;
    expect(publisher).toBeDefined();
    const mappings = streamMappings(template, taskQueue);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toEqual({
      EventSourceArn: getAtt(taskQueue.table, 'StreamArn'),
      FunctionName: ref(publisher),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: STREAM_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: STREAM_RETRY_ATTEMPTS,
      MaximumRecordAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt(taskQueue.taskEvents.unpublishedEvents) } },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT', 'MODIFY'],
              dynamodb: { NewImage: { status: { S: ['SUCCEEDED', 'FAILED', 'CANCELLED'] } } },
            }),
          },
        ],
      },
    });
  });

  test('a second subscription reuses the one publisher', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    taskQueue.addEventSubscription(new subscriptions.SqsSubscription(subscriberQueue(stack, 'A')));
    taskQueue.addEventSubscription(new subscriptions.SqsSubscription(subscriberQueue(stack, 'B')));
    const template = Template.fromStack(stack);

    // THEN
    expect(streamMappings(template, taskQueue)).toHaveLength(1);
    template.resourceCountIs('AWS::SNS::Subscription', 2);
  });

  test('events.publish turns publishing on without a subscriber, for the configured transitions', () => {
    // GIVEN
    const transitions = [TaskStatus.RUNNING, TaskStatus.FAILED];

    // WHEN
    const { stack, taskQueue } = queueStack({ events: { publish: true, transitions } });
    const template = Template.fromStack(stack);

    // THEN
    const publisher = taskQueue.taskEvents.publisherFunction!;
    const variables = template.toJSON().Resources[logicalId(publisher)].Properties.Environment.Variables;
    expect(variables[EnvName.FunctionRole]).toBe('event-publisher');
    expect(variables[EnvName.EventTransitions]).toBe('RUNNING,FAILED');
    expect(variables[EnvName.EventsTopicArn]).toEqual(ref(taskQueue.events));
    expect(variables[EnvName.UnpublishedEventsQueueUrl]).toEqual(ref(taskQueue.taskEvents.unpublishedEvents));
    const pattern = JSON.parse(
      streamMappings(template, taskQueue)[0]!.Properties.FilterCriteria.Filters[0].Pattern,
    );
    expect(pattern.dynamodb.NewImage.status.S).toEqual(['RUNNING', 'FAILED']);
  });

  test('the publisher may read the table stream, publish to the topic and send to the unpublished queue, and no more', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ events: { publish: true } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    const publisher = taskQueue.taskEvents.publisherFunction!;
    expect(actionsByResource(template, publisher.role!)).toEqual({
      [JSON.stringify(getAtt(publisher.logGroup))]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [JSON.stringify(getAtt(taskQueue.table, 'StreamArn'))]: [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
      ],
      [JSON.stringify(ref(taskQueue.events))]: ['sns:Publish'],
      [JSON.stringify(getAtt(taskQueue.taskEvents.unpublishedEvents))]: [
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ],
    });
  });

  test('with encryptionKey, the publisher gets encrypt and decrypt on that key', () => {
    // GIVEN
    const stack = new Stack(testApp(), 'Keyed');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: HTTP_AGENTS, encryptionKey: key });

    // WHEN: subscribed after the construct was built
    taskQueue.addEventSubscription(new subscriptions.SqsSubscription(subscriberQueue(stack)));
    const template = Template.fromStack(stack);

    // THEN
    const actions = roleStatements(template, taskQueue.taskEvents.publisherFunction!.role!)
      .filter((s) => s.resources.some((r) => JSON.stringify(r) === JSON.stringify(getAtt(key))))
      .flatMap((s) => s.actions);
    expect([...new Set(actions)].sort()).toEqual([
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
    ]);
  });
});

describe('TaskEvents: subscription filters', () => {
  test('the filter becomes the filter policy on the message attributes', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    taskQueue.addEventSubscription(
      new subscriptions.SqsSubscription(subscriberQueue(stack), { rawMessageDelivery: true }),
      {
        type: ['summarize'],
        priority: ['high'],
        status: [TaskStatus.FAILED],
        event: ['task.failed'],
      },
    );
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ref(taskQueue.events),
      Protocol: 'sqs',
      RawMessageDelivery: true,
      FilterPolicy: { type: ['summarize'], priority: ['high'], status: ['FAILED'], event: ['task.failed'] },
    });
  });

  test('a subscription without a filter receives every event', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    taskQueue.addEventSubscription(new subscriptions.SqsSubscription(subscriberQueue(stack)));
    const subscription = Object.values(Template.fromStack(stack).findResources('AWS::SNS::Subscription'))[0]!;

    // THEN
    expect(subscription.Properties.FilterPolicy).toBeUndefined();
  });

  test('a filter naming what no event carries throws one error listing every value', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const subscribe = () =>
      taskQueue.addEventSubscription(new subscriptions.SqsSubscription(subscriberQueue(stack)), {
        status: [TaskStatus.RUNNING],
        priority: ['urgent' as 'high'],
        event: ['task.done' as 'task.failed'],
      });

    // THEN
    expect(subscribe).toThrow(
      [
        'Invalid TaskEventFilter:',
        "- filter.priority must be high or low, but 'urgent' was provided",
        "- filter.status must be statuses of the published transitions (SUCCEEDED, FAILED, CANCELLED), but 'RUNNING' was provided",
        "- filter.event must be events of the published transitions (task.succeeded, task.failed, task.cancelled), but 'task.done' was provided",
      ].join('\n'),
    );
  });

  test('a filter given both to the subscription and to addEventSubscription throws', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();
    const own = new subscriptions.SqsSubscription(subscriberQueue(stack), {
      filterPolicy: { type: sns.SubscriptionFilter.stringFilter({ allowlist: ['summarize'] }) },
    });

    // WHEN / THEN
    expect(() => taskQueue.addEventSubscription(own, { status: [TaskStatus.FAILED] })).toThrow('not both');
  });
});

describe('TaskEvents: validation', () => {
  test('transitions must be task statuses', () => {
    expect(() => queueStack({ events: { transitions: ['DONE' as TaskStatus] } })).toThrow(
      "events.transitions must be task statuses (QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED, CANCELLED), but 'DONE' was provided",
    );
  });

  test('transitions must name at least one status', () => {
    expect(() => queueStack({ events: { transitions: [] } })).toThrow(
      'events.transitions must name at least one status, but none was provided',
    );
  });
});

describe('TaskEvents: the config file', () => {
  const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:audit';
  const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:on-failed';
  const STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/task-archive';

  test('events without subscriptions turns publishing on', () => {
    // WHEN
    const stack = stackWith({ events: {} });

    // THEN
    expect(stack.taskQueue.taskEvents.publisherFunction).toBeDefined();
  });

  test("the local demo's configuration (npm start) publishes SUCCEEDED, FAILED and CANCELLED from the table's stream", () => {
    // WHEN
    const stack = stackWith(localStackConfig({ agentsUrl: 'http://127.0.0.1:3001' }));
    const template = Template.fromStack(stack);

    // THEN
    expect(stack.taskQueue.taskEvents.publisherFunction).toBeDefined();
    expect(stack.taskQueue.taskEvents.transitions).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: Match.anyValue(),
      FilterCriteria: {
        Filters: [
          {
            Pattern: Match.serializedJson(
              Match.objectLike({
                dynamodb: { NewImage: { status: { S: ['SUCCEEDED', 'FAILED', 'CANCELLED'] } } },
              }),
            ),
          },
        ],
      },
    });
  });

  test('no events leaves publishing off', () => {
    // WHEN
    const stack = stackWith({});

    // THEN
    expect(stack.taskQueue.taskEvents.publisherFunction).toBeUndefined();
  });

  test('subscriptions of every kind are subscribed with their filters; queues and Firehose get raw delivery', () => {
    // GIVEN
    const config: StackConfig = {
      events: {
        transitions: [TaskStatus.SUCCEEDED, TaskStatus.FAILED],
        subscriptions: [
          { kind: 'sqs', queueArn: QUEUE_ARN, filter: { status: [TaskStatus.FAILED] } },
          { kind: 'lambda', functionArn: FUNCTION_ARN },
          { kind: 'https', url: 'https://hooks.example.com/tasks' },
          { kind: 'firehose', deliveryStreamArn: STREAM_ARN },
        ],
      },
    };

    // WHEN
    const stack = stackWith(config);
    const template = Template.fromStack(stack);

    // THEN
    const topic = ref(stack.taskQueue.events);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topic,
      Protocol: 'sqs',
      Endpoint: QUEUE_ARN,
      RawMessageDelivery: true,
      FilterPolicy: { status: ['FAILED'] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topic,
      Protocol: 'lambda',
      Endpoint: FUNCTION_ARN,
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topic,
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/tasks',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topic,
      Protocol: 'firehose',
      Endpoint: STREAM_ARN,
      RawMessageDelivery: true,
      SubscriptionRoleArn: Match.anyValue(),
    });
    const variables =
      template.toJSON().Resources[logicalId(stack.taskQueue.taskEvents.publisherFunction!)].Properties
        .Environment.Variables;
    expect(variables[EnvName.EventTransitions]).toBe('SUCCEEDED,FAILED');
  });

  test.each([
    ['events is not an object', { events: [] }, 'events must be an object'],
    ['a transition is not a status', { events: { transitions: ['DONE'] } }, "but 'DONE' was provided"],
    [
      'a subscription has an unknown kind',
      { events: { subscriptions: [{ kind: 'email' }] } },
      'events.subscriptions[0].kind must be one of sqs, lambda, https, firehose',
    ],
    [
      'an sqs subscription has no queueArn',
      { events: { subscriptions: [{ kind: 'sqs' }] } },
      "events.subscriptions[0]: a 'sqs' subscription needs queueArn",
    ],
    [
      'an https subscription is plain http',
      { events: { subscriptions: [{ kind: 'https', url: 'http://x.example.com' }] } },
      'events.subscriptions[0].url must start with https://',
    ],
    [
      'a filter field is unknown',
      {
        events: {
          subscriptions: [
            {
              kind: 'lambda',
              functionArn: 'arn:aws:lambda:us-east-1:1:function:f',
              filter: { tenant: ['a'] },
            },
          ],
        },
      },
      'events.subscriptions[0].filter.tenant is not a filter field',
    ],
  ])('the config file is refused with one clear error when %s', (_, taskQueue, message) => {
    // WHEN / THEN
    expect(() => new TaskQueueStack(testApp({ taskQueue }), 'AgentTaskQueue')).toThrow(message);
  });
});

describe('TaskEvents: template validation', () => {
  test("a stack publishing events to subscribers of every kind passes CDK's built-in CloudFormation validation", () => {
    // GIVEN
    const build = (app: App) =>
      new TaskQueueStack(app, 'Events', {
        config: {
          events: {
            subscriptions: [
              {
                kind: 'sqs',
                queueArn: 'arn:aws:sqs:us-east-1:123456789012:audit',
                filter: { status: [TaskStatus.FAILED] },
              },
              { kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' },
              { kind: 'https', url: 'https://hooks.example.com/tasks' },
              {
                kind: 'firehose',
                deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/a',
              },
            ],
          },
        },
      });

    // WHEN
    const violations = defaultRulesViolations(build);

    // THEN
    expect(violations).toEqual([]);
  });
});
