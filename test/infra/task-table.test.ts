import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultQueue, logicalId, queueStack } from './synth';

describe('TaskQueue task table', () => {
  test('is keyed by task_id, on demand, with point-in-time recovery and TTL on expires_at', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN: two tables, the task table and the limiter's (limit-table.test.ts)
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    expect(template.toJSON().Resources[logicalId(taskQueue.table)].Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'task_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'task_id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
  });

  test('is retained when the stack is deleted, by default', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    expect(template.toJSON().Resources[logicalId(taskQueue.table)]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('takes its removal policy from a prop', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({ tableRemovalPolicy: RemovalPolicy.DESTROY });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    expect(template.toJSON().Resources[logicalId(taskQueue.table)].DeletionPolicy).toBe('Delete');
  });

  test('task retention (TTL after a task ends) defaults to 30 days and is a prop, given to every writer', () => {
    // GIVEN
    const byDefault = defaultQueue();
    // 7 days: allowed once the DLQ keeps messages for at most 7 days − 4 days − 900 s
    const configured = queueStack({ taskRetention: Duration.days(7), deadLetterRetention: Duration.days(2) });

    // WHEN
    const defaultTemplate = byDefault.template;
    const configuredTemplate = Template.fromStack(configured.stack);

    // THEN
    for (const [template, taskQueue, seconds] of [
      [defaultTemplate, byDefault.taskQueue, String(30 * 86_400)],
      [configuredTemplate, configured.taskQueue, String(7 * 86_400)],
    ] as const) {
      const writers = [
        taskQueue.tiers.high.consumerFunction,
        taskQueue.tiers.low.consumerFunction,
        taskQueue.api.statusFunction,
      ];
      for (const fn of writers) {
        expect(
          template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables.TASK_RETENTION_SECONDS,
        ).toBe(seconds);
      }
    }
  });
});
