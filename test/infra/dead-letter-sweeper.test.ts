import { allowedActions, defaultQueue, logicalId } from './synth';

describe('DeadLetterSweeper', () => {
  test('may count, read and show again the messages of both DLQs, and nothing else of them', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    for (const tier of Object.values(taskQueue.tiers)) {
      expect(
        allowedActions(template, taskQueue.sweeper.sweeperFunction.role!, {
          'Fn::GetAtt': [logicalId(tier.deadLetterQueue), 'Arn'],
        }).sort(),
      ).toEqual(['sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    }
  });

  test('may read, create and update task items: every call of core/sweep.ts, and nothing else of the table', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    expect(
      allowedActions(template, taskQueue.sweeper.sweeperFunction.role!, {
        'Fn::GetAtt': [logicalId(taskQueue.table), 'Arn'],
      }).sort(),
    ).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  test('runs for 3 minutes, reading up to 10,000 messages per DLQ, with a 15-minute redrive grace', () => {
    // GIVEN
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const fn = template.toJSON().Resources[logicalId(taskQueue.sweeper.sweeperFunction)];

    // THEN
    expect(fn.Properties.Timeout).toBe(180);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SWEEP_MAX_MESSAGES: '10000',
      REDRIVE_GRACE_SECONDS: '900',
    });
  });
});
