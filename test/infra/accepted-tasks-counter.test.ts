/**
 * The accepted-tasks counter: `TasksAccepted` counted from the task table's stream (INSERT records only) instead of
 * a log line per task in the producer.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { EnvName } from '../../lambda/contract';
import { ACCEPTED_BATCH_SIZE, ACCEPTED_BATCHING_WINDOW } from '../../lib/accepted-tasks-counter';
import { TaskQueue } from '../../lib/task-queue';
import { actionsByResource, defaultQueue, HTTP_AGENTS, logicalId, roleStatements, testStack } from './synth';

const getAtt = (construct: Parameters<typeof logicalId>[0], attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});

describe('AcceptedTasksCounter', () => {
  test('every queue has it: one function on the task table stream, INSERT records only, in batches of a window', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const counter = taskQueue.acceptedTasks.counterFunction;
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (m) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify({ Ref: logicalId(counter) }),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toEqual({
      EventSourceArn: getAtt(taskQueue.table, 'StreamArn'),
      FunctionName: { Ref: logicalId(counter) },
      StartingPosition: 'LATEST',
      BatchSize: ACCEPTED_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: ACCEPTED_BATCHING_WINDOW.toSeconds(),
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 3600,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
    });
    const variables = template.toJSON().Resources[logicalId(counter)].Properties.Environment.Variables;
    expect(variables[EnvName.FunctionRole]).toBe('accepted-tasks');
  });

  test('the counter may read the table stream and write its log, and no more', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const counter = taskQueue.acceptedTasks.counterFunction;
    expect(actionsByResource(template, counter.role!)).toEqual({
      [JSON.stringify(getAtt(counter.logGroup))]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [JSON.stringify(getAtt(taskQueue.table, 'StreamArn'))]: [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
      ],
    });
  });

  test("with a customer managed key, the counter may decrypt the stream's records, and not encrypt", () => {
    // GIVEN
    const stack = testStack();
    const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: HTTP_AGENTS, encryptionKey });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    const onKey = roleStatements(template, taskQueue.acceptedTasks.counterFunction.role!)
      .filter((s) => s.resources.some((r) => JSON.stringify(r) === JSON.stringify(getAtt(encryptionKey))))
      .flatMap((s) => s.actions);
    expect(onKey).toEqual(['kms:Decrypt']);
  });
});
