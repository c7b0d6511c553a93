import { resourceCoverage, snsSubscriptionsNotEmulated } from '../../../local/coverage';
import type { TemplateResource } from '../../../local/template';
import { taskQueueInfo } from '../../../local/template-info';
import { localContext } from './local-context';

const fn = (variables: Record<string, unknown>): TemplateResource => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: variables } },
});

describe('Function: taskQueueInfo', () => {
  const ctx = localContext({
    Producer: fn({
      TASKQ_FUNCTION_ROLE: 'producer',
      TASK_TYPES: 'echo,summarize',
      TOPICS: '{"doc.new":["echo"]}',
    }),
    Consumer: fn({
      TASKQ_FUNCTION_ROLE: 'consumer',
      AGENTS: {
        'Fn::Join': [
          '',
          [
            '{"echo":{"kind":"lambda","functionArn":"',
            { 'Fn::GetAtt': ['Echo', 'Arn'] },
            '","timeoutSeconds":10,"maxConcurrency":2},',
            '"summarize":{"kind":"http","url":"https://agents.example.com","timeoutSeconds":5,"mode":"async",',
            '"heartbeatTimeoutSeconds":30,"maxRunTimeSeconds":600,"rateLimit":{"requests":5,"per":1}},',
            '"outside":{"kind":"lambda","functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:theirs","timeoutSeconds":5}}',
          ],
        ],
      },
      TENANT_MAX_CONCURRENCY: '3',
      LIMIT_WAKE_UP_SECONDS: '7',
    }),
    Echo: fn({ TASKQ_FUNCTION_ROLE: 'agent' }),
    Publisher: fn({ TASKQ_FUNCTION_ROLE: 'event-publisher', EVENT_TRANSITIONS: 'SUCCEEDED,FAILED' }),
  });

  it("reads the types, topics, async agents, limits and events from the functions' environment", () => {
    expect(taskQueueInfo(ctx)).toEqual({
      taskTypes: ['echo', 'summarize'],
      topics: { 'doc.new': ['echo'] },
      asyncTaskTypes: { summarize: 30 },
      agentLimits: { echo: { maxConcurrency: 2 }, summarize: { rateLimit: { requests: 5, per: 1 } } },
      tenantMaxConcurrency: 3,
      limitWakeUpSeconds: 7,
      eventTransitions: ['SUCCEEDED', 'FAILED'],
      notRunnable: ['outside → arn:aws:lambda:eu-west-1:123456789012:function:theirs'],
    });
  });

  it('has nothing to say of a stack without a TaskQueue', () => {
    expect(taskQueueInfo(localContext({ Q: { Type: 'AWS::SQS::Queue' } }))).toEqual({
      taskTypes: [],
      topics: {},
      asyncTaskTypes: {},
      agentLimits: {},
      eventTransitions: [],
      notRunnable: [],
    });
  });
});

describe('Function: resourceCoverage', () => {
  it('lists each type it cannot run once, with its resources, and the ignored types apart', () => {
    const coverage = resourceCoverage({
      Resources: {
        Q: { Type: 'AWS::SQS::Queue' },
        Role: { Type: 'AWS::IAM::Role' },
        Alarm: { Type: 'AWS::CloudWatch::Alarm' },
        P1: { Type: 'AWS::SSM::Parameter' },
        P2: { Type: 'AWS::SSM::Parameter' },
        Seed: { Type: 'Custom::Seed' },
      },
    });
    expect(coverage).toEqual({
      notEmulated: [
        'AWS::SSM::Parameter (P1, P2)',
        'Custom::Seed (Seed: custom resources run at deploy time only)',
      ],
      ignored: ['AWS::CloudWatch::Alarm', 'AWS::IAM::Role'],
    });
  });
});

describe('Function: snsSubscriptionsNotEmulated', () => {
  it('names the subscriptions over another protocol than sqs', () => {
    const ctx = localContext({
      Topic: { Type: 'AWS::SNS::Topic' },
      ToQueue: {
        Type: 'AWS::SNS::Subscription',
        Properties: { Protocol: 'sqs', TopicArn: { Ref: 'Topic' } },
      },
      ToMail: {
        Type: 'AWS::SNS::Subscription',
        Properties: { Protocol: 'email', TopicArn: { Ref: 'Topic' } },
      },
    });
    expect(snsSubscriptionsNotEmulated(ctx)).toEqual([
      'ToMail (SNS subscription over email: only SQS subscriptions deliver)',
    ]);
  });
});
