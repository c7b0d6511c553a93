import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, FunctionRole, functionEnvironment } from '../lambda/contract';
import type { Priority } from '../lambda/core/task';
import { HandlerFunction, type LogLevel } from './handler-function';
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

export interface TaskApiProps {
  /** The task table the producer records tasks in and the status function reads. */
  readonly table: dynamodb.ITable;
  /** The queue of each tier, that the producer sends tasks to. */
  readonly queues: Readonly<Record<Priority, sqs.IQueue>>;
  /** Task types the producer accepts. */
  readonly taskTypes: readonly string[];
  /** @default { kind: 'iam' }: callers sign requests with SigV4 */
  readonly auth?: TaskApiAuth;
  /** @default { rateLimit: 100, burstLimit: 200 } */
  readonly throttle?: TaskApiThrottle;
  /** Largest accepted POST /tasks body. @default 262144 (256 KiB) */
  readonly maxBodyBytes?: number;
  /**
   * How long a cancelled task stays in the table.
   * @default Duration.days(30)
   */
  readonly taskRetention?: Duration;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * The HTTP API: POST /tasks (producer), GET and DELETE /tasks/{id} (status). Every route is authorized.
 */
export class TaskApi extends Construct {
  public readonly httpApi: apigw.HttpApi;
  public readonly stage: apigw.HttpStage;
  public readonly producerFunction: HandlerFunction;
  public readonly statusFunction: HandlerFunction;
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
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.Producer, {
        TASK_TABLE_NAME: props.table.tableName,
        HIGH_QUEUE_URL: props.queues.high.queueUrl,
        LOW_QUEUE_URL: props.queues.low.queueUrl,
        TASK_TYPES: props.taskTypes.join(','),
        MAX_BODY_BYTES: String(props.maxBodyBytes ?? DEFAULTS.maxBodyBytes),
        MAX_JSON_DEPTH: String(DEFAULTS.maxJsonDepth),
      }),
    });
    props.queues.high.grantSendMessages(this.producerFunction);
    props.queues.low.grantSendMessages(this.producerFunction);
    props.table.grant(this.producerFunction, 'dynamodb:GetItem', 'dynamodb:PutItem');

    this.statusFunction = new HandlerFunction(this, 'Status', {
      handler: 'task-status',
      description: 'GET and DELETE /tasks/{id}',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment(FunctionRole.Status, {
        TASK_TABLE_NAME: props.table.tableName,
        TASK_RETENTION_SECONDS: String((props.taskRetention ?? DEFAULT_TASK_RETENTION).toSeconds()),
      }),
    });
    props.table.grant(this.statusFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem');

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'agent-task-queue',
      createDefaultStage: false,
      defaultAuthorizer,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttle?.rateLimit ?? 100,
        burstLimit: props.throttle?.burstLimit ?? 200,
      },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        // HTTP APIs support a subset of the REST API's context variables; these are all in that subset.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
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
}
