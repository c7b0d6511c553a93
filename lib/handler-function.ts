import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

const ROOT = path.join(__dirname, '..');

export interface HandlerFunctionProps {
  /** File name in lambda/handlers, without extension. */
  readonly handler: string;
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 'INFO' */
  readonly logLevel?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  readonly description?: string;
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
    super(scope, id, {
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
        logLevel: LogLevel.ERROR,
      },
    });
  }
}
