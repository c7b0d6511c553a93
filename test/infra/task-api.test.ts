import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { defaultQueue, logicalId, queueStack } from './synth';

const ROUTE_KEYS = [
  'POST /tasks',
  'GET /tasks/{id}',
  'DELETE /tasks/{id}',
  'POST /tasks/{id}/heartbeat',
  'POST /tasks/{id}/complete',
];

describe('TaskQueue HTTP API', () => {
  test('is an API Gateway v2 HTTP API with POST /tasks, GET and DELETE /tasks/{id}, and the callback routes', () => {
    // GIVEN / WHEN
    const { template } = defaultQueue();

    // THEN
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([...ROUTE_KEYS].sort());
  });

  test('POST /tasks goes to the producer, GET and DELETE /tasks/{id} to the status function', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    const targetFunction = (routeKey: string): string => {
      const [route] = Object.values(
        template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }),
      );
      const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
      return template.toJSON().Resources[integrationId].Properties.IntegrationUri['Fn::GetAtt'][0];
    };
    expect(targetFunction('POST /tasks')).toBe(logicalId(taskQueue.api.producerFunction));
    expect(targetFunction('GET /tasks/{id}')).toBe(logicalId(taskQueue.api.statusFunction));
    expect(targetFunction('DELETE /tasks/{id}')).toBe(logicalId(taskQueue.api.statusFunction));
  });

  test('the stage deploys automatically and throttles at 100 requests per second, burst 200, by default', () => {
    // GIVEN / WHEN
    const { template } = defaultQueue();

    // THEN
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });

  test('throttling rate and burst are props', () => {
    // GIVEN
    const { stack } = queueStack({ throttle: { rateLimit: 25, burstLimit: 50 } });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
    });
  });

  test('the stage writes JSON access logs, with the request id, to its own log group', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(taskQueue.api.accessLogs), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
    });
    const format = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0].Properties
      .AccessLogSettings.Format as string;
    expect(() => JSON.parse(format)).not.toThrow();
    expect(template.toJSON().Resources[logicalId(taskQueue.api.accessLogs)].Properties.RetentionInDays).toBe(
      30,
    );
  });

  test('the access log group is of the Infrequent Access class by default, Standard when asked', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();
    const standard = queueStack({ accessLogClass: logs.LogGroupClass.STANDARD });

    // THEN
    const classOf = (t: Template, group: IConstruct) =>
      t.toJSON().Resources[logicalId(group)].Properties.LogGroupClass;
    expect(classOf(template, taskQueue.api.accessLogs)).toBe('INFREQUENT_ACCESS');
    expect(classOf(Template.fromStack(standard.stack), standard.taskQueue.api.accessLogs)).toBe('STANDARD');
    // The functions' own groups stay Standard: their EMF lines need metric extraction, which Infrequent Access lacks.
    const functionGroups = Object.entries(template.findResources('AWS::Logs::LogGroup')).filter(
      ([id]) => id !== logicalId(taskQueue.api.accessLogs),
    );
    expect(functionGroups.length).toBeGreaterThan(0);
    for (const [, group] of functionGroups) expect(group.Properties.LogGroupClass).toBeUndefined();
  });

  test('the producer gets the queue URLs, the task types and the body limit (256 KiB by default)', () => {
    // GIVEN / WHEN
    const { taskQueue, template } = defaultQueue();

    // THEN
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          HIGH_QUEUE_URL: { Ref: logicalId(taskQueue.tiers.high.queue) },
          LOW_QUEUE_URL: { Ref: logicalId(taskQueue.tiers.low.queue) },
          TASK_TYPES: 'summarize',
          MAX_BODY_BYTES: '262144',
          TASK_TABLE_NAME: { Ref: logicalId(taskQueue.table) },
        }),
      },
    });
  });

  test('the producer gets the topics as JSON (topic → subscribers) and the task retention', () => {
    // GIVEN
    const { stack, taskQueue } = queueStack({
      agents: {
        summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
        index: { kind: 'http', url: 'https://agents.example.com/index' },
      },
      topics: { 'document.uploaded': { subscribers: ['summarize', 'index'] } },
    });

    // WHEN
    const variables =
      Template.fromStack(stack).toJSON().Resources[logicalId(taskQueue.api.producerFunction)].Properties
        .Environment.Variables;

    // THEN
    expect(JSON.parse(variables.TOPICS)).toEqual({ 'document.uploaded': ['summarize', 'index'] });
    expect(variables.TASK_RETENTION_SECONDS).toBe('2592000');
  });

  test('the producer gets no topics when none is declared', () => {
    // GIVEN
    const { taskQueue, template } = defaultQueue();

    // WHEN
    const variables =
      template.toJSON().Resources[logicalId(taskQueue.api.producerFunction)].Properties.Environment.Variables;

    // THEN
    expect(variables.TOPICS).toBe('{}');
  });
});
