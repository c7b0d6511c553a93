import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULTS,
  encodeTopics,
  FunctionRole,
  functionEnvironment,
  type TopicDefinitions,
} from '../lambda/contract';
import { HandlerFunction } from './handler-function';
import { SettleFunction, type SettleOptions } from './settle-function';
import { DEFAULT_TASK_RETENTION } from './task-tier';

/** Who may call the API. */
export type TaskApiAuth =
  | { readonly kind: 'iam' }
  | { readonly kind: 'jwt'; readonly issuer: string; readonly audience: readonly string[] };

export interface TaskApiThrottle {
  /** Steady-state requests per second. @default 100 */
  readonly rateLimit?: number;
  /** Burst size. @default 200 */
  readonly burstLimit?: number;
}

/** The routes an async agent reports back on, with their own throttle and no authorizer. */
export const CALLBACK_ROUTE_KEYS = ['POST /tasks/{id}/heartbeat', 'POST /tasks/{id}/complete'] as const;

/**
 * The API's functions and routes. The settle options (the table, both tier queues, the outcome rules, logging)
 * are the callback function's as well as the producer's and the status function's.
 */
export interface TaskApiProps extends SettleOptions {
  /** Task types the producer accepts. */
  readonly taskTypes: readonly string[];
  /** Topics a task can be published to (contract/topics.ts). @default - none */
  readonly topics?: TopicDefinitions;
  /** @default { kind: 'iam' }: callers sign requests with SigV4 */
  readonly auth?: TaskApiAuth;
  /** The stage's throttle: every route but the callback routes. @default { rateLimit: 100, burstLimit: 200 } */
  readonly throttle?: TaskApiThrottle;
  /**
   * The throttle of `POST /tasks/{id}/heartbeat` and `POST /tasks/{id}/complete`, apart from the stage's: a
   * burst of submissions never crowds out heartbeats (which would time healthy attempts out), and heartbeats
   * never crowd out submissions. An agent retries a 429 with backoff. Each running async task sends about one
   * heartbeat per heartbeat window, so the rate bounds the running tasks: about rate × heartbeat seconds.
   * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly callbackThrottle?: TaskApiThrottle;
  /** Largest accepted POST /tasks body. @default 262144 (256 KiB) */
  readonly maxBodyBytes?: number;
  /**
   * The log class of the stage's access log group. Infrequent Access costs half of Standard per GB ingested (US$
   * 0.25 against 0.50 in us-east-1) and keeps every line queryable in Logs Insights, but takes no metric filters,
   * subscription filters or Live Tail; nothing in this construct uses those on the access logs. A log group's class
   * cannot change after it is created: changing this replaces the group.
   * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html
   * @default logs.LogGroupClass.INFREQUENT_ACCESS
   */
  readonly accessLogClass?: logs.LogGroupClass;
}

/**
 * The HTTP API: POST /tasks (producer), GET and DELETE /tasks/{id} (status), authorized by IAM or JWT; and the
 * callback routes POST /tasks/{id}/heartbeat and /complete (callback function), which async agents call with
 * the bearer token of their attempt instead, under their own throttle.
 */
export class TaskApi extends Construct {
  public readonly httpApi: apigw.HttpApi;
  public readonly stage: apigw.HttpStage;
  public readonly producerFunction: HandlerFunction;
  public readonly statusFunction: HandlerFunction;
  /** POST /tasks/{id}/heartbeat and /complete: settles async attempts. */
  public readonly callbackFunction: HandlerFunction;
  public readonly accessLogs: logs.LogGroup;

  public constructor(scope: Construct, id: string, props: TaskApiProps) {
    super(scope, id);
    const auth = props.auth ?? { kind: 'iam' };
    const defaultAuthorizer =
      auth.kind === 'iam'
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, { jwtAudience: [...auth.audience] });

    this.producerFunction = new HandlerFunction(this, 'Producer', {
      handler: 'enqueue',
      description: 'POST /tasks: validates a task and queues it',
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.Producer, {
        TASK_TABLE_NAME: props.table.tableName,
        HIGH_QUEUE_URL: props.queues.high.queueUrl,
        LOW_QUEUE_URL: props.queues.low.queueUrl,
        TASK_TYPES: props.taskTypes.join(','),
        TOPICS: encodeTopics(props.topics),
        MAX_BODY_BYTES: String(props.maxBodyBytes ?? DEFAULTS.maxBodyBytes),
        MAX_JSON_DEPTH: String(DEFAULTS.maxJsonDepth),
        TASK_RETENTION_SECONDS: String((props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds()),
        RESULT_BUCKET_NAME: props.results.bucket.bucketName,
      }),
    });
    props.queues.high.grantSendMessages(this.producerFunction);
    props.queues.low.grantSendMessages(this.producerFunction);
    // BatchGetItem: a replayed publish answers with its deliveries (topics.ts).
    props.table.grant(this.producerFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem');
    // A replay answers the task as it is, its result read back from the results bucket when it is there.
    props.results.grantRead(this.producerFunction);
    props.results.grantPayloadWrite(this.producerFunction);

    this.statusFunction = new HandlerFunction(this, 'Status', {
      handler: 'task-status',
      description: 'GET and DELETE /tasks/{id}',
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.Status, {
        TASK_TABLE_NAME: props.table.tableName,
        TASK_RETENTION_SECONDS: String((props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds()),
        RESULT_BUCKET_NAME: props.results.bucket.bucketName,
      }),
    });
    props.results.grantRead(this.statusFunction);
    // BatchGetItem reads a published task's deliveries; PutItem writes a delivery cancelled before its first claim.
    props.table.grant(
      this.statusFunction,
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
    );

    this.callbackFunction = new SettleFunction(this, 'Callback', {
      ...props,
      role: FunctionRole.Callback,
      description: 'POST /tasks/{id}/heartbeat and /complete: an async agent reports back',
    });

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'agent-task-queue',
      createDefaultStage: false,
      defaultAuthorizer,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logGroupClass: props.accessLogClass ?? logs.LogGroupClass.INFREQUENT_ACCESS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttle?.rateLimit ?? DEFAULTS.throttle.rateLimit,
        burstLimit: props.throttle?.burstLimit ?? DEFAULTS.throttle.burstLimit,
      },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        // HTTP APIs support a subset of the REST API's context variables; these are all in that subset. Who asked
        // what, the answer and how long it took: each request pays for its line (about 130 B, $0.03 per million
        // tasks in the Infrequent Access class), so no more. The log event's own timestamp is the request's time.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            routeKey: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const producer = new HttpLambdaIntegration('ProducerIntegration', this.producerFunction);
    const status = new HttpLambdaIntegration('StatusIntegration', this.statusFunction);
    this.httpApi.addRoutes({ path: '/tasks', methods: [apigw.HttpMethod.POST], integration: producer });
    this.httpApi.addRoutes({
      path: '/tasks/{id}',
      methods: [apigw.HttpMethod.GET, apigw.HttpMethod.DELETE],
      integration: status,
    });

    // The callback routes: the attempt's token (checked by the function) is the credential, not IAM or JWT.
    const callback = new HttpLambdaIntegration('CallbackIntegration', this.callbackFunction);
    const callbackRoutes = ['heartbeat', 'complete'].flatMap((action) =>
      this.httpApi.addRoutes({
        path: `/tasks/{id}/${action}`,
        methods: [apigw.HttpMethod.POST],
        integration: callback,
        authorizer: new apigw.HttpNoneAuthorizer(),
      }),
    );
    for (const route of callbackRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The callback routes authenticate with a per-attempt bearer token checked by the callback function (stored only as a hash, compared in constant time); an agent holds no IAM or JWT credential of the API.',
      });
    }
    // Per-route throttling overrides the stage's default for these routes only. A stage's route settings must
    // name existing routes, so the stage is created after them.
    const callbackThrottle = props.callbackThrottle ?? {};
    const stage = this.stage.node.defaultChild as apigw.CfnStage;
    // RouteSettings is untyped JSON in the L1: the CDK passes it as written, so the keys are CloudFormation's.
    stage.routeSettings = Object.fromEntries(
      CALLBACK_ROUTE_KEYS.map((key) => [
        key,
        {
          ThrottlingRateLimit: callbackThrottle.rateLimit ?? DEFAULTS.callbackThrottle.rateLimit,
          ThrottlingBurstLimit: callbackThrottle.burstLimit ?? DEFAULTS.callbackThrottle.burstLimit,
        },
      ]),
    );
    for (const route of callbackRoutes) this.stage.node.addDependency(route);
  }

  /**
   * Lets `grantee` submit tasks: `execute-api:Invoke` on `POST /tasks`. For an API with IAM auth (the default);
   * with JWT auth, callers are authorized by their token instead.
   */
  public grantSubmit(grantee: iam.IGrantable): iam.Grant {
    return this.grantInvoke(grantee, apigw.HttpMethod.POST, '/tasks');
  }

  /** Lets `grantee` read tasks: `execute-api:Invoke` on `GET /tasks/*`. For an API with IAM auth (the default). */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantInvoke(grantee, apigw.HttpMethod.GET, '/tasks/*');
  }

  /** As the CDK's `HttpRoute.grantInvoke`: any stage (the API has one), this method and path. */
  private grantInvoke(grantee: iam.IGrantable, method: apigw.HttpMethod, path: string): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.httpApi.arnForExecuteApi(method, path)],
    });
  }

  /** The API's base URL. */
  public get url(): string {
    return this.stage.url;
  }

  /**
   * The base URL async agents report back to, without a trailing slash: an attempt's callback URL is
   * `<base>/tasks/<id>`. The API's endpoint (its `$default` stage has no path of its own).
   */
  public get callbackBaseUrl(): string {
    return this.httpApi.apiEndpoint;
  }
}
