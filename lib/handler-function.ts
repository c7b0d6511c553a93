import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel as BundlingLogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

const ROOT = path.join(__dirname, '..');

/** The level a function logs at (Powertools' `POWERTOOLS_LOG_LEVEL`): one type for every construct's `logLevel`. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface HandlerFunctionProps {
  /** File name in lambda/handlers, without extension. */
  readonly handler: string;
  /**
   * Variables besides the log settings; build them with `functionEnvironment` of lambda/contract.
   * @default - only the log settings
   */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - no description */
  readonly description?: string;
  /**
   * Active X-Ray tracing.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * A Lambda function for one file of lambda/handlers, bundled by the local esbuild (no Docker):
 * minified, with source maps, and with the AWS SDK bundled at the version in package-lock.json
 * rather than taken from the runtime, so that what is tested is what runs.
 */
export class HandlerFunction extends NodejsFunction {
  public constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of its own that may write to its own log group and nothing else, instead of the managed
    // AWSLambdaBasicExecutionRole (which allows every log group of the account).
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      entry: path.join(ROOT, 'lambda', 'handlers', `${props.handler}.ts`),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      logGroup,
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_SERVICE_NAME: 'agent-task-queue',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        format: OutputFormat.CJS,
        target: 'node22',
        externalModules: [],
        logLevel: BundlingLogLevel.ERROR,
      },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the tests and the local runtime run the same bundles on Node 22 (see DEVELOPERS.md). Newer runtimes are a deliberate upgrade, not a silent one.',
    });
    if (props.tracing) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
      });
    }
  }
}

/**
 * Lets a function use the queue's customer managed key: encrypt and decrypt on that key only, which SQS,
 * DynamoDB and SNS need to read and write what the key protects.
 */
export function grantKeyUse(key: kms.IKey, fn: lambda.IFunction): void {
  key.grantEncryptDecrypt(fn);
  if (!fn.role) return;
  for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason:
        'Data-key actions that SQS and DynamoDB need to use the customer managed key; granted on that one key only (resource is the key ARN).',
    });
  }
}
