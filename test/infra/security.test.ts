/**
 * Security of the synthesized stack: the cdk-nag AwsSolutions pack, the auth modes, encryption at rest and in
 * transit, and least-privilege IAM. Issue 5, "Security and compliance".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { FunctionRole, functionEnvironment } from '../../lambda/contract';
import { PRIORITIES } from '../../lambda/core/task';
import { HandlerFunction } from '../../lib/handler-function';
import { TaskQueue, type TaskQueueProps } from '../../lib/task-queue';
import { TaskQueueStack } from '../../lib/task-queue-stack';
import { logicalId, once, renderJoin, roleStatements } from './synth';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:agent-token-AbCdEf';
const AGENT_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:classify';

/** A CloudFormation `Fn::GetAtt` of a construct's resource. */
const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });

/**
 * An app that skips asset bundling and CDK's built-in CloudFormation validation (see synth.ts: seconds of CPU per
 * synth, run strictly on the whole stack in task-queue-stack.test.ts), writing to `outdir` when given.
 */
function testApp(outdir?: string): App {
  return new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
}

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly taskQueue: TaskQueue;
  readonly key?: kms.Key;
}

/**
 * A TaskQueue with every security option on: a customer managed key, JWT auth, tracing, an alarm email, an
 * HTTP agent with a bearer-token secret and a Lambda agent, both imported by ARN as the stack config does, and
 * task events published (the stream's publisher).
 */
function fullyOptioned(extra: Partial<TaskQueueProps> = {}, outdir?: string): Required<Built> {
  const app = testApp(outdir);
  const stack = new Stack(app, 'Full');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, description: 'agent-task-queue' });
  const taskQueue = new TaskQueue(stack, 'TaskQueue', {
    agents: {
      summarize: {
        kind: 'http',
        url: 'https://agents.example.com/summarize',
        authSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'AgentToken', SECRET_ARN),
      },
      classify: {
        kind: 'lambda',
        function: lambda.Function.fromFunctionArn(stack, 'ClassifyAgent', AGENT_FUNCTION_ARN),
      },
    },
    encryptionKey: key,
    auth: { kind: 'jwt', issuer: 'https://issuer.example.com/', audience: ['taskq-api'] },
    tracing: true,
    alarmEmail: 'oncall@example.com',
    events: { publish: true },
    ...extra,
  });
  return { app, stack, taskQueue, key };
}

/**
 * A TaskQueue with the defaults (no key, IAM auth, no tracing), an HTTP agent whose token is a secret of the
 * same stack, and a Lambda agent of the same stack: the references a template test can follow.
 */
function plain(): Built & { secret: secretsmanager.Secret; agentFunction: lambda.Function } {
  const app = testApp();
  const stack = new Stack(app, 'Plain');
  const secret = new secretsmanager.Secret(stack, 'AgentToken');
  // The agent's own role, without the managed basic-execution policy, so that every role of the template is ours.
  const agentFunction = new lambda.Function(stack, 'ClassifyAgent', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    role: new iam.Role(stack, 'ClassifyAgentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }),
  });
  const taskQueue = new TaskQueue(stack, 'TaskQueue', {
    agents: {
      summarize: { kind: 'http', url: 'https://agents.example.com/summarize', authSecret: secret },
      classify: { kind: 'lambda', function: agentFunction },
    },
  });
  return { app, stack, taskQueue, secret, agentFunction };
}

/** Built once per file (see `once`): the stacks are the same in every test that reads them, and none changes them. */
const full = once(() => {
  const built = fullyOptioned();
  return { ...built, template: Template.fromStack(built.stack) };
});
const defaults = once(() => {
  const built = plain();
  return { ...built, template: Template.fromStack(built.stack) };
});

interface NagResult {
  readonly error?: Error;
  /** `ruleName constructPath` of every violation in the validation report. */
  readonly violations: string[];
}

/** Synthesizes `app` with the AwsSolutions pack, as bin/agent-task-queue.ts does, and reads the report. */
function synthWithNag(build: (outdir: string) => App): NagResult {
  const outdir = mkdtempSync(path.join(tmpdir(), 'nag-'));
  const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const app = build(outdir);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    const reportFile = path.join(outdir, 'validation-report.json');
    let violations: string[] = [];
    try {
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
        pluginReports: {
          violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
        }[];
      };
      violations = report.pluginReports.flatMap((p) =>
        p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)),
      );
    } catch {
      // No report: nothing was found.
    }
    return { error, violations };
  } finally {
    quiet.mockRestore();
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Every rule acknowledged in the construct tree of `scope`, with where and why. */
function acknowledgements(scope: IConstruct): { id: string; path: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          // aws-cdk-lib records acknowledgements of plugin findings as `Annotation::<id>`.
          id: id.replace(/^annotation::/i, ''),
          path: c.node.path,
          reason,
        })),
      ),
  );
}

/** The functions of a TaskQueue, by role. */
function functionsOf(taskQueue: TaskQueue): Record<string, HandlerFunction> {
  return {
    producer: taskQueue.api.producerFunction,
    status: taskQueue.api.statusFunction,
    callback: taskQueue.api.callbackFunction,
    highConsumer: taskQueue.tiers.high.consumerFunction,
    lowConsumer: taskQueue.tiers.low.consumerFunction,
  };
}

/**
 * What a role may do, as `{ resource: sorted actions }`, with each resource written as its template JSON.
 * Every statement must be an Allow; a Deny would need its own reading.
 */
function permissions(template: Template, role: IConstruct): Record<string, string[]> {
  const byResource = new Map<string, Set<string>>();
  for (const statement of roleStatements(template, role)) {
    expect(statement.effect).toBe('Allow');
    for (const resource of statement.resources) {
      const key = JSON.stringify(resource);
      const actions = byResource.get(key) ?? new Set<string>();
      for (const action of statement.actions) actions.add(action);
      byResource.set(key, actions);
    }
  }
  return Object.fromEntries([...byResource].map(([key, actions]) => [key, [...actions].sort()]));
}

/** Builds the expected `permissions` value from (resource, actions) pairs. */
function expectedPermissions(...entries: [unknown, string[]][]): Record<string, string[]> {
  return Object.fromEntries(
    entries.map(([resource, actions]) => [JSON.stringify(resource), [...actions].sort()]),
  );
}

const LOG_WRITE = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const KMS_USE = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];
const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
const CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
/** What settles an async attempt may do to its tier queue's message. */
const SETTLE = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'];
/**
 * The limiter's counters: a consistent read, then a conditional put (a transaction's puts are PutItems to IAM); a
 * release's update in place.
 */
const COUNTERS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const SECRET_READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];

interface PolicyDocument {
  readonly Statement: { Action: string | string[]; Resource?: unknown }[];
}
interface TemplateResource {
  readonly Type: string;
  readonly Properties: { PolicyDocument?: PolicyDocument; Policies?: { PolicyDocument: PolicyDocument }[] };
}

/**
 * What every consumer may do, whatever the options: write its logs, drain its queue and re-send a waiting task's
 * message to it (and a publish message's deliveries), dead-letter, read, update and put tasks (a publish message
 * whose producer's write failed creates its published record), and use the limiter's counters.
 */
function consumerBasics(taskQueue: TaskQueue, priority: 'high' | 'low'): [unknown, string[]][] {
  const tier = taskQueue.tiers[priority];
  return [
    [getAtt(tier.consumerFunction.logGroup), LOG_WRITE],
    [getAtt(tier.queue), [...CONSUME, 'sqs:SendMessage']],
    [getAtt(tier.deadLetterQueue), SEND],
    [getAtt(taskQueue.table), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']],
    [getAtt(taskQueue.limitsTable), COUNTERS],
    [resultObjects(taskQueue), ['s3:PutObject']],
    // A large payload, put by the producer in the task bucket (lambda/core/payload-storage.ts).
    [payloadObjects(taskQueue), ['s3:GetObject']],
  ];
}

/** The one IAM5 finding of TaskResults' grants: its results prefix. */
function resultObjectsAck(taskQueue: TaskQueue): string {
  const bucket = taskQueue.results.bucket;
  const id = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
  return `AwsSolutions-IAM5[Resource::<${id}.Arn>/results/*]`;
}

/** The objects of the results bucket, as the template names them (TaskResults grants on its results prefix only). */
function resultObjects(taskQueue: TaskQueue): unknown {
  return { 'Fn::Join': ['', [getAtt(taskQueue.results.bucket), '/results/*']] };
}

/** The bucket's payload objects: put by the producer, read by the consumers. */
function payloadObjects(taskQueue: TaskQueue): unknown {
  return { 'Fn::Join': ['', [getAtt(taskQueue.results.bucket), '/payloads/*']] };
}

/** The IAM5 finding of the payloads prefix. */
function payloadObjectsAck(taskQueue: TaskQueue): string {
  return resultObjectsAck(taskQueue).replace('/results/*]', '/payloads/*]');
}

/** Every IAM statement of the template: of AWS::IAM::Policy resources and of roles' inline policies. */
function allStatements(template: Template): { actions: string[]; resources: unknown[] }[] {
  const resources = Object.values(template.toJSON().Resources as Record<string, TemplateResource>);
  const documents = [
    ...resources.flatMap((r) =>
      r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyDocument ? [r.Properties.PolicyDocument] : [],
    ),
    ...resources.flatMap((r) =>
      r.Type === 'AWS::IAM::Role' ? (r.Properties.Policies ?? []).map((p) => p.PolicyDocument) : [],
    ),
  ];
  const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return documents.flatMap((d) =>
    d.Statement.map((s) => ({ actions: list(s.Action), resources: list(s.Resource) })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  test('the default TaskQueueStack synthesizes with no finding', () => {
    // GIVEN
    const build = (outdir: string) => {
      const app = testApp(outdir);
      new TaskQueueStack(app, 'AgentTaskQueue', { config: {} });
      return app;
    };

    // WHEN
    const result = synthWithNag(build);

    // THEN
    expect(result.violations).toEqual([]);
    expect(result.error).toBeUndefined();
  });

  test('with an aws-cdk-lib that knows a newer Node.js runtime (2.278 added nodejs26.x), each function of the construct acknowledges AwsSolutions-L1 and the stack synthesizes with no finding', () => {
    // GIVEN: the runtime as aws-cdk-lib 2.278 declares it (a Runtime adds itself to Runtime.ALL, which L1 reads)
    const before = lambda.Runtime.ALL.length;
    new lambda.Runtime('nodejs26.x', lambda.RuntimeFamily.NODEJS, { supportsInlineCode: true });
    try {
      let built: App | undefined;
      const build = (outdir: string) => {
        built = testApp(outdir);
        new TaskQueueStack(built, 'AgentTaskQueue', { config: {} });
        return built;
      };

      // WHEN
      const result = synthWithNag(build);

      // THEN
      expect(result.violations).toEqual([]);
      expect(result.error).toBeUndefined();
      const functions = built!.node.findAll().filter((c) => c instanceof HandlerFunction);
      expect(functions.length).toBeGreaterThanOrEqual(5);
      const l1 = acknowledgements(built!).filter((a) => a.id === 'AwsSolutions-L1');
      expect(l1.map((a) => a.path).sort()).toEqual(functions.map((fn) => fn.node.path).sort());
      for (const ack of l1) {
        expect(ack.reason).toContain('run on nodejs24.x');
        expect(ack.reason).toContain('also knows nodejs26.x');
      }
    } finally {
      lambda.Runtime.ALL.splice(before);
    }
  });

  test('a TaskQueue with every option on synthesizes with no finding', () => {
    // GIVEN
    const build = (outdir: string) => fullyOptioned({}, outdir).app;

    // WHEN
    const result = synthWithNag(build);

    // THEN
    expect(result.violations).toEqual([]);
    expect(result.error).toBeUndefined();
  });

  test('a TaskQueue with an async Lambda agent of the app, a key and tracing synthesizes with no finding', () => {
    // GIVEN: the agent's event invoke config, its grant on the completion function, the completion function
    const build = (outdir: string) => {
      const app = testApp(outdir);
      const stack = new Stack(app, 'Async');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const agent = new HandlerFunction(stack, 'ResearchAgent', {
        handler: 'echo-agent',
        timeout: Duration.seconds(60),
        environment: functionEnvironment(FunctionRole.Agent, {}),
      });
      const taskQueue = new TaskQueue(stack, 'TaskQueue', {
        agents: { research: { kind: 'lambda', function: agent, mode: 'async' } },
        encryptionKey: key,
        tracing: true,
      });
      expect(taskQueue.lambdaAgentCompletion).toBeDefined();
      return app;
    };

    // WHEN
    const result = synthWithNag(build);

    // THEN
    expect(result.violations).toEqual([]);
    expect(result.error).toBeUndefined();
  });

  test('a TaskQueueStack publishing events to subscribers of every kind synthesizes with no finding', () => {
    // GIVEN: the publisher, its stream mapping, a Firehose subscription's role, filters
    const build = (outdir: string) => {
      const app = testApp(outdir);
      new TaskQueueStack(app, 'AgentTaskQueue', {
        config: {
          events: {
            subscriptions: [
              {
                kind: 'sqs',
                queueArn: 'arn:aws:sqs:us-east-1:123456789012:audit',
                filter: { type: ['echo'] },
              },
              { kind: 'lambda', functionArn: AGENT_FUNCTION_ARN },
              { kind: 'https', url: 'https://hooks.example.com/tasks' },
              {
                kind: 'firehose',
                deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/a',
              },
            ],
          },
        },
      });
      return app;
    };

    // WHEN
    const result = synthWithNag(build);

    // THEN
    expect(result.violations).toEqual([]);
    expect(result.error).toBeUndefined();
  });

  test('a queue without TLS enforcement or a DLQ fails the synth, so a clean synth means something', () => {
    // GIVEN
    const build = (outdir: string) => {
      const app = testApp(outdir);
      const stack = new TaskQueueStack(app, 'AgentTaskQueue', { config: {} });
      new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.SQS_MANAGED });
      return app;
    };

    // WHEN
    const result = synthWithNag(build);

    // THEN
    expect(result.error).toBeDefined();
    expect(result.violations.sort()).toEqual([
      'AwsSolutions-SQS3 AgentTaskQueue/Careless/Resource',
      'AwsSolutions-SQS4 AgentTaskQueue/Careless/Resource',
    ]);
  });

  test('the kms acknowledgements on a consumer role do not cover another wildcard on that role', () => {
    // GIVEN
    const build = (outdir: string) => {
      const built = fullyOptioned({ tracing: false }, outdir);
      built.taskQueue.tiers.high.consumerFunction.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::agent-inputs/*'] }),
      );
      return built.app;
    };

    // WHEN
    const result = synthWithNag(build);

    // THEN
    expect(result.error).toBeDefined();
    expect(result.violations).toEqual([
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::agent-inputs/*] Full/TaskQueue/High/ConsumerRole/DefaultPolicy/Resource',
    ]);
  });

  test('every acknowledgement names one finding and gives a specific reason', () => {
    // GIVEN
    const { app, taskQueue } = fullyOptioned();

    // WHEN
    const acks = acknowledgements(app);

    // THEN
    expect([...new Set(acks.map((a) => a.id))].sort()).toEqual(
      [
        'AwsSolutions-APIG4',
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        'AwsSolutions-IAM5[Resource::*]',
        payloadObjectsAck(taskQueue),
        resultObjectsAck(taskQueue),
        'AwsSolutions-S1',
        'AwsSolutions-SQS3',
      ].sort(),
    );
    for (const ack of acks) {
      expect(ack.reason.length).toBeGreaterThan(40);
    }
    // IAM5 is acknowledged per finding, on roles only; never the bare rule.
    for (const ack of acks.filter((a) => a.id.startsWith('AwsSolutions-IAM5'))) {
      expect(ack.id).toMatch(/^AwsSolutions-IAM5\[(Action|Resource)::.+\]$/);
      expect(ack.path).toMatch(/Role$/);
    }
    expect(acks.find((a) => a.id === 'AwsSolutions-IAM5[Resource::*]')?.reason).toMatch(/X-Ray/);
    expect(acks.find((a) => a.id === 'AwsSolutions-APIG4')?.reason).toMatch(/per-attempt bearer token/);
  });

  test('without a key and without tracing, the only acknowledgements are the token-authenticated callback routes, the unpublished-events queue and the results bucket', () => {
    // GIVEN
    const { app, taskQueue } = plain();

    // WHEN
    const acks = acknowledgements(app);

    // THEN
    expect([...new Set(acks.map((a) => a.id))].sort()).toEqual(
      [
        'AwsSolutions-APIG4',
        payloadObjectsAck(taskQueue),
        resultObjectsAck(taskQueue),
        'AwsSolutions-S1',
        'AwsSolutions-SQS3',
      ].sort(),
    );
    // S1 (access logs): on the results bucket, and nowhere else.
    expect(acks.filter((a) => a.id === 'AwsSolutions-S1').map((a) => a.path)).toEqual([
      'Plain/TaskQueue/Results/Bucket',
    ]);
    // The results prefix: on the roles of the functions that put or get results, and nowhere else.
    expect(
      acks
        .filter((a) => a.id === resultObjectsAck(taskQueue))
        .map((a) => a.path)
        .sort(),
    ).toEqual(
      [
        taskQueue.api.producerFunction,
        taskQueue.api.statusFunction,
        taskQueue.api.callbackFunction,
        ...taskQueue.consumers(),
      ]
        .map((fn) => fn.role!.node.path)
        .sort(),
    );
    // The payloads prefix: on the producer's role, which puts large payloads, and the consumers', which read them.
    expect(
      acks
        .filter((a) => a.id === payloadObjectsAck(taskQueue))
        .map((a) => a.path)
        .sort(),
    ).toEqual(
      [taskQueue.api.producerFunction, ...taskQueue.consumers()].map((fn) => fn.role!.node.path).sort(),
    );
    // SQS3: on the unpublished-events queue (itself a dead-letter destination), and nowhere else.
    expect(acks.filter((a) => a.id === 'AwsSolutions-SQS3').map((a) => a.path)).toEqual([
      'Plain/TaskQueue/Events/UnpublishedEvents',
    ]);
    // Every function the construct builds runs nodejs24.x (HANDLER_RUNTIME).
    const handlerFunctions = app.node.findAll().filter((c) => c instanceof HandlerFunction);
    expect(handlerFunctions.length).toBeGreaterThanOrEqual(5);
    for (const fn of handlerFunctions) {
      expect((fn as HandlerFunction).runtime.name).toBe(lambda.Runtime.NODEJS_24_X.name);
    }
    // APIG4: on the two callback routes, and nowhere else.
    expect(
      acks
        .filter((a) => a.id === 'AwsSolutions-APIG4')
        .map((a) => a.path)
        .sort(),
    ).toEqual([
      'Plain/TaskQueue/Api/HttpApi/POST--tasks--{id}--complete',
      'Plain/TaskQueue/Api/HttpApi/POST--tasks--{id}--heartbeat',
    ]);
  });
});

/** Route key → authorization type of the template's routes. */
function authorizationByRoute(routes: ReturnType<Template['findResources']>): Record<string, string> {
  return Object.fromEntries(
    Object.values(routes).map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]),
  );
}

describe('TaskQueue auth', () => {
  test('IAM is the default: every route but the callback routes requires AWS_IAM and there is no authorizer', () => {
    // GIVEN
    const { template } = defaults();

    // WHEN
    const routes = template.findResources('AWS::ApiGatewayV2::Route');

    // THEN
    expect(authorizationByRoute(routes)).toEqual({
      'DELETE /tasks/{id}': 'AWS_IAM',
      'GET /tasks/{id}': 'AWS_IAM',
      'POST /tasks': 'AWS_IAM',
      'POST /tasks/{id}/complete': 'NONE',
      'POST /tasks/{id}/heartbeat': 'NONE',
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  test('JWT auth adds an authorizer with the issuer and audience, and every route uses it', () => {
    // GIVEN
    const { template } = full();

    // WHEN
    const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer');
    const routes = template.findResources('AWS::ApiGatewayV2::Route');

    // THEN
    expect(Object.values(authorizers)).toHaveLength(1);
    const [authorizerId, authorizer] = Object.entries(authorizers)[0]!;
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['taskq-api'] },
    });
    expect(authorizationByRoute(routes)).toEqual({
      'DELETE /tasks/{id}': 'JWT',
      'GET /tasks/{id}': 'JWT',
      'POST /tasks': 'JWT',
      'POST /tasks/{id}/complete': 'NONE',
      'POST /tasks/{id}/heartbeat': 'NONE',
    });
    for (const route of Object.values(routes)) {
      const callback = /\/(heartbeat|complete)$/.test(route.Properties.RouteKey);
      expect(route.Properties.AuthorizerId).toEqual(callback ? undefined : { Ref: authorizerId });
    }
  });
});

describe('TaskQueue encryption', () => {
  test('with a customer key, every queue and DLQ uses it', () => {
    // GIVEN
    const { template, taskQueue, key } = full();

    // WHEN
    const queues = template.findResources('AWS::SQS::Queue');

    // THEN
    expect(Object.keys(queues).sort()).toEqual(
      [
        ...Object.values(taskQueue.tiers).flatMap((t) => [logicalId(t.queue), logicalId(t.deadLetterQueue)]),
        logicalId(taskQueue.taskEvents.unpublishedEvents),
      ].sort(),
    );
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.KmsMasterKeyId).toEqual(getAtt(key));
      expect(queue.Properties.SqsManagedSseEnabled).toBeUndefined();
    }
  });

  test('with a customer key, the task table, the limiter table and the alarm topic use it', () => {
    // GIVEN
    const { template, taskQueue, key } = full();

    // WHEN
    const tables = [taskQueue.table, taskQueue.limitsTable].map(
      (t) => template.toJSON().Resources[logicalId(t)],
    );

    // THEN
    for (const table of tables) {
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: getAtt(key),
      });
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: getAtt(key) });
  });

  test('the key policy lets CloudWatch alarms publish to the encrypted topic', () => {
    // GIVEN
    const { template, key } = full();

    // WHEN
    const keyResource = template.toJSON().Resources[logicalId(key)];

    // THEN
    expect(keyResource.Properties.KeyPolicy.Statement).toContainEqual({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    });
  });

  test.each(['producer', 'status', 'callback', 'highConsumer', 'lowConsumer'])(
    'with a customer key, the %s role may use that key and no other',
    (name) => {
      // GIVEN
      const { template, taskQueue, key } = full();
      const role = functionsOf(taskQueue)[name]!.role!;

      // WHEN
      const kmsStatements = roleStatements(template, role).filter((s) =>
        s.actions.some((a) => a.startsWith('kms:')),
      );

      // THEN
      expect(kmsStatements.length).toBeGreaterThan(0);
      for (const statement of kmsStatements) {
        expect(statement.resources).toEqual([getAtt(key)]);
      }
      expect(permissions(template, role)[JSON.stringify(getAtt(key))]).toEqual(KMS_USE);
    },
  );

  test('with a customer key, no statement of any role grants kms actions on anything but that key', () => {
    // GIVEN
    const { template, key } = full();

    // WHEN
    const kmsStatements = allStatements(template).filter((s) => s.actions.some((a) => a.startsWith('kms:')));

    // THEN
    expect(kmsStatements.length).toBeGreaterThanOrEqual(4);
    for (const statement of kmsStatements) expect(statement.resources).toEqual([getAtt(key)]);
  });

  test('without a key, queues use SQS-managed SSE, the tables the AWS owned key, and no role has kms actions', () => {
    // GIVEN
    const { template, taskQueue } = defaults();

    // WHEN
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));

    // THEN
    // both tiers' queues and DLQs, and the unpublished-events queue
    expect(queues).toHaveLength(5);
    for (const queue of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      expect(queue.Properties.KmsMasterKeyId).toBeUndefined();
    }
    // DynamoDB always encrypts at rest; SSEEnabled false selects the AWS owned key.
    for (const t of [taskQueue.table, taskQueue.limitsTable]) {
      const table = template.toJSON().Resources[logicalId(t)];
      expect(table.Properties.SSESpecification ?? { SSEEnabled: false }).toEqual({ SSEEnabled: false });
    }
    template.resourceCountIs('AWS::KMS::Key', 0);
    for (const fn of Object.values(functionsOf(taskQueue))) {
      const actions = roleStatements(template, fn.role!).flatMap((s) => s.actions);
      expect(actions.filter((a) => a.startsWith('kms:'))).toEqual([]);
    }
  });

  test.each([
    ['default', defaults],
    ['every option on', full],
  ])('with %s, every queue and DLQ refuses requests that are not TLS', (_name, build) => {
    // GIVEN
    const { template, taskQueue } = build();

    // WHEN
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));

    // THEN
    for (const queue of Object.values(taskQueue.tiers).flatMap((t) => [t.queue, t.deadLetterQueue])) {
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(queue)]),
      );
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:*',
        Resource: getAtt(queue),
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
  });

  test.each([
    ['default', defaults],
    ['every option on', full],
  ])('with %s, the alarm topic refuses publishing that is not TLS', (_name, build) => {
    // GIVEN
    const { template, taskQueue } = build();

    // WHEN
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));

    // THEN
    const topic = ref(taskQueue.alarms.topic);
    const policy = policies.find((p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([topic]));
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Resource: topic,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});

describe('TaskQueue least privilege', () => {
  test('the producer may send to the two tier queues and read (one or many) and put task items, nothing more', () => {
    // GIVEN
    const { template, taskQueue } = defaults();
    const fn = taskQueue.api.producerFunction;

    // WHEN
    const allowed = permissions(template, fn.role!);

    // THEN
    expect(allowed).toEqual(
      expectedPermissions(
        [getAtt(fn.logGroup), LOG_WRITE],
        [getAtt(taskQueue.tiers.high.queue), SEND],
        [getAtt(taskQueue.tiers.low.queue), SEND],
        // BatchGetItem: a replayed publish answers with its deliveries.
        [getAtt(taskQueue.table), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem']],
        // A replay answers a result kept in the results bucket.
        [resultObjects(taskQueue), ['s3:GetObject']],
        // A large payload goes to the task bucket (lambda/core/payload-storage.ts).
        [payloadObjects(taskQueue), ['s3:PutObject']],
      ),
    );
  });

  test('the status function may get (one or many), put and update task items, nothing more', () => {
    // GIVEN
    const { template, taskQueue } = defaults();
    const fn = taskQueue.api.statusFunction;

    // WHEN
    const allowed = permissions(template, fn.role!);

    // THEN
    expect(allowed).toEqual(
      expectedPermissions(
        [getAtt(fn.logGroup), LOG_WRITE],
        // BatchGetItem: a published task's deliveries; PutItem: a delivery cancelled before its first claim.
        [
          getAtt(taskQueue.table),
          ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        ],
        [resultObjects(taskQueue), ['s3:GetObject']],
      ),
    );
  });

  test('the callback function may get and update task items, use the limiter counters and extend or end tier queue messages, nothing more', () => {
    // GIVEN
    const { template, taskQueue } = defaults();
    const fn = taskQueue.api.callbackFunction;

    // WHEN
    const allowed = permissions(template, fn.role!);

    // THEN: no DLQ, no send, no receive
    expect(allowed).toEqual(
      expectedPermissions(
        [getAtt(fn.logGroup), LOG_WRITE],
        [getAtt(taskQueue.tiers.high.queue), SETTLE],
        [getAtt(taskQueue.tiers.low.queue), SETTLE],
        [getAtt(taskQueue.table), ['dynamodb:GetItem', 'dynamodb:UpdateItem']],
        [getAtt(taskQueue.limitsTable), COUNTERS],
        // A completion's result; the answer to the same completion again.
        [resultObjects(taskQueue), ['s3:GetObject', 's3:PutObject']],
      ),
    );
  });

  test.each(PRIORITIES)(
    'the %s consumer may use only its own queue and DLQ, the two tables, and the configured agents',
    (priority) => {
      // GIVEN
      const { template, taskQueue, secret, agentFunction } = defaults();

      // WHEN
      const allowed = permissions(template, taskQueue.tiers[priority].consumerFunction.role!);

      // THEN
      expect(allowed).toEqual(
        expectedPermissions(
          ...consumerBasics(taskQueue, priority),
          [ref(secret), SECRET_READ],
          [getAtt(agentFunction), ['lambda:InvokeFunction']],
        ),
      );
    },
  );

  test.each(PRIORITIES)(
    'with every option on, the %s consumer adds only the key and X-Ray to that list',
    (priority) => {
      // GIVEN
      const { template, taskQueue, key } = full();

      // WHEN
      const allowed = permissions(template, taskQueue.tiers[priority].consumerFunction.role!);

      // THEN
      expect(allowed).toEqual(
        expectedPermissions(
          ...consumerBasics(taskQueue, priority),
          [SECRET_ARN, SECRET_READ],
          [AGENT_FUNCTION_ARN, ['lambda:InvokeFunction']],
          [getAtt(key), KMS_USE],
          ['*', XRAY],
        ),
      );
    },
  );

  test('consumers may invoke exactly the Lambda agents: no version or alias wildcard, no `*`', () => {
    // GIVEN
    const { template, taskQueue, agentFunction } = defaults();

    // WHEN
    const invokable = taskQueue.consumers().map((fn) =>
      roleStatements(template, fn.role!)
        .filter((s) => s.actions.some((a) => a.startsWith('lambda:')))
        .flatMap((s) => s.resources),
    );

    // THEN
    for (const resources of invokable) {
      expect(resources).toEqual([getAtt(agentFunction)]);
    }
  });

  test.each([
    ['default', defaults],
    ['every option on', full],
  ])('with %s, no role has a managed policy or an action wildcard', (_name, build) => {
    // GIVEN
    const { template } = build();

    // WHEN
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    const actions = allStatements(template).flatMap((s) => s.actions);

    // THEN
    expect(roles.length).toBeGreaterThanOrEqual(4);
    for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).not.toMatch(/^\*$|:\*$/);
  });

  test('Resource `*` appears only for X-Ray, and only when tracing is on', () => {
    // GIVEN
    const withTracing = full().template;
    const withoutTracing = defaults().template;

    // WHEN
    const starActions = (t: Template) =>
      [...new Set(allStatements(t).flatMap((s) => (s.resources.includes('*') ? s.actions : [])))].sort();

    // THEN
    expect(starActions(withTracing)).toEqual(XRAY);
    expect(starActions(withoutTracing)).toEqual([]);
  });
});

describe('TaskQueue agent secrets', () => {
  test('the AGENTS environment holds the secret ARN, and no environment value holds a secret', () => {
    // GIVEN
    const { template, taskQueue, secret } = defaults();

    // WHEN
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));

    // THEN
    for (const fn of functions) {
      for (const value of Object.values<unknown>(fn.Properties.Environment?.Variables ?? {})) {
        const text = JSON.stringify(value);
        expect(text).not.toContain('{{resolve:secretsmanager');
        expect(text).not.toContain('SecretString');
      }
    }
    for (const consumer of taskQueue.consumers()) {
      const variables = template.toJSON().Resources[logicalId(consumer)].Properties.Environment.Variables;
      const agents = JSON.parse(renderJoin(variables.AGENTS));
      expect(agents.summarize).toEqual({
        kind: 'http',
        url: 'https://agents.example.com/summarize',
        timeoutSeconds: 60,
        authSecretArn: `<Ref:${logicalId(secret)}>`,
      });
    }
  });
});
