import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { PRIORITIES } from '../../lambda/core/task';
import { logicalId, queueStack } from './synth';

/** The properties of a one-minute alarm on an SQS metric of `queue`, with `extra` on top. */
function queueAlarm(queue: sqs.IQueue, metricName: string, extra: Record<string, unknown>) {
  return {
    Namespace: 'AWS/SQS',
    MetricName: metricName,
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
    ComparisonOperator: 'GreaterThanThreshold',
    Period: 60,
    ...extra,
  };
}

describe('TaskQueue alarms', () => {
  test.each(PRIORITIES)(
    'the %s tier has a queue depth alarm over 1000 visible messages by default',
    (priority) => {
      // GIVEN
      const { stack, taskQueue } = queueStack();

      // WHEN
      const template = Template.fromStack(stack);

      // THEN
      template.hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        queueAlarm(taskQueue.tiers[priority].queue, 'ApproximateNumberOfMessagesVisible', {
          Threshold: 1000,
        }),
      );
    },
  );

  test.each(PRIORITIES)(
    'the %s tier has an oldest-message age alarm over 300 seconds by default',
    (priority) => {
      // GIVEN
      const { stack, taskQueue } = queueStack();

      // WHEN
      const template = Template.fromStack(stack);

      // THEN
      template.hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        queueAlarm(taskQueue.tiers[priority].queue, 'ApproximateAgeOfOldestMessage', { Threshold: 300 }),
      );
    },
  );

  test.each(PRIORITIES)('the %s DLQ alarms as soon as it holds more than 0 messages', (priority) => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      queueAlarm(taskQueue.tiers[priority].deadLetterQueue, 'ApproximateNumberOfMessagesVisible', {
        Threshold: 0,
        EvaluationPeriods: 1,
      }),
    );
  });

  test('thresholds are props', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      alarmThresholds: { queueDepth: 50, oldestMessageAge: Duration.seconds(60), deadLetterMessages: 2 },
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    for (const tier of Object.values(taskQueue.tiers)) {
      template.hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        queueAlarm(tier.queue, 'ApproximateNumberOfMessagesVisible', { Threshold: 50 }),
      );
      template.hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        queueAlarm(tier.queue, 'ApproximateAgeOfOldestMessage', { Threshold: 60 }),
      );
      template.hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        queueAlarm(tier.deadLetterQueue, 'ApproximateNumberOfMessagesVisible', { Threshold: 2 }),
      );
    }
  });

  test('every alarm notifies the alarm topic', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack();

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = { Ref: logicalId(taskQueue.alarms.topic) };
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(6);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
    }
  });

  test('the alarm topic accepts only TLS requests', () => {
    // GIVEN
    const { stack } = queueStack();

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});
