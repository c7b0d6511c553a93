import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel as BundlingLogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BundlePart, omitDefines } from '../lambda/contract/bundle-parts';
import { EnvName } from '../lambda/contract/environment';

/**
 * This module runs from lib/handler-function.ts in this repository (tsx, jest), and from
 * dist/lib/handler-function.js once built (the installed package).
 */
const COMPILED = __filename.endsWith('.js');
/** The package's root: where lambda/ (the sources) and dist/handlers (the prebuilt bundles) are. */
const ROOT = path.join(__dirname, COMPILED ? '../..' : '..');

/**
 * The runtime of every handler: nodejs24.x, which aws-cdk-lib 2.276–2.278 name `Runtime.NODEJS_LATEST` (the newest
 * Node.js runtime in every region). BENCHMARKS.md measures its bundles' init and handler CPU on Node 22 and 24.
 */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The Node.js runtimes newer than HANDLER_RUNTIME that the app's aws-cdk-lib knows (aws-cdk-lib 2.278 added
 * nodejs26.x). cdk-nag's AwsSolutions-L1 wants the newest of them; the construct acknowledges it, with its reason.
 */
function newerNodeRuntimes(): string[] {
  const version = (name: string) => Number(/^nodejs(\d+)/.exec(name)?.[1] ?? Number.NaN);
  const ours = version(HANDLER_RUNTIME.name);
  const names = lambda.Runtime.ALL.filter(
    (runtime) => runtime.family === lambda.RuntimeFamily.NODEJS && version(runtime.name) > ours,
  ).map((runtime) => runtime.name);
  return [...new Set(names)].sort();
}

/**
 * The esbuild options of every handler bundle: NodejsFunction's bundling when the construct runs from source,
 * and `npm run build` (scripts/build.ts) when it makes the package's prebuilt bundles. Minified, with source
 * maps, CommonJS for nodejs24.x, and no external module: the AWS SDK is bundled at the version in
 * package-lock.json rather than taken from the runtime, so that what is tested is what runs.
 */
export const HANDLER_BUNDLING = {
  minify: true,
  sourceMap: true,
  format: OutputFormat.CJS,
  target: 'node24',
} as const;

/**
 * Modules each bundle loads on first use from a file of its own beside `index.js`, instead of carrying their code:
 * a cold start then does not compile them. The import path (kept as written, so relative to the bundle), and the
 * source the file is bundled from. The S3 client took about 40 ms of init CPU in every bundle (BENCHMARKS.md,
 * figure 1), and most tasks never touch the task bucket.
 */
export const LAZY_CHUNKS = [
  { importPath: './s3-sdk', source: 'lambda/adapters/s3-sdk.ts', file: 's3-sdk.js' },
] as const;

/**
 * esbuild's options for the lazy chunks' imports: left as `require` calls (an `import()` of a relative path would
 * go through Node's ESM resolution, which wants the file's extension).
 */
export const LAZY_CHUNK_BUNDLING = {
  external: LAZY_CHUNKS.map((c) => c.importPath),
  supported: { 'dynamic-import': false },
} as const;

/**
 * The parts (lambda/contract/bundle-parts.ts) each handler can be bundled without. `npm run build` prebuilds a
 * bundle for every combination of them, so that the built construct needs no bundler for any stack.
 */
export const OPTIONAL_BUNDLE_PARTS: Readonly<Record<string, readonly BundlePart[]>> = {
  consumer: [BundlePart.AgentSecrets, BundlePart.LambdaAgents],
};

/**
 * The name of a handler's bundle without `omit`: the handler's name, then `-without-<part>` per part, in
 * alphabetical order (`consumer-without-agent-secrets-without-lambda-agents`). The folder of its prebuilt bundle.
 */
export function bundleName(handler: string, omit: readonly BundlePart[] = []): string {
  return [handler, ...[...new Set(omit)].sort().map((part) => `without-${part}`)].join('-');
}

/** Every subset of `parts`, the empty one first. */
export function bundleVariants(parts: readonly BundlePart[]): BundlePart[][] {
  const subsets: BundlePart[][] = [[]];
  for (const part of parts) {
    for (const subset of subsets.slice()) subsets.push([...subset, part]);
  }
  return subsets;
}

/**
 * The folder of a handler's prebuilt bundle (`dist/handlers/<bundleName>`, holding index.js), when this module
 * runs compiled and the build made that bundle; undefined otherwise, and the handler is bundled from its source.
 * @param moduleFile the file of the running handler-function module (its own, but for tests)
 */
export function prebuiltBundle(
  handler: string,
  moduleFile: string = __filename,
  omit: readonly BundlePart[] = [],
): string | undefined {
  if (!moduleFile.endsWith('.js')) return undefined;
  const dir = path.join(path.dirname(moduleFile), '..', 'handlers', bundleName(handler, omit));
  return existsSync(path.join(dir, 'index.js')) ? dir : undefined;
}

/** The level a function logs at (its `LOG_LEVEL`, lambda/adapters/logger.ts): one type for every construct's `logLevel`. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * Which of Lambda's own log records (its system logs) reach the log group: `INFO` and `DEBUG` write a start, an end
 * and a report record for every invocation (the report holds Duration, Billed Duration, Max Memory Used and, after a
 * cold start, Init Duration); `WARN` writes none of them.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
 */
export type SystemLogLevel = 'DEBUG' | 'INFO' | 'WARN';

/**
 * The default `systemLogLevel`: `WARN`. Lambda's start, end and report records cost about 264 bytes per invocation
 * in its text format (more in JSON), and the producer runs once per task: measured $0.18 per million tasks of
 * CloudWatch Logs ingestion (379 B a task), about half again what a task's own lines cost (698 B). What they tell is mostly elsewhere:
 * Duration, Errors and Throttles are Lambda's own CloudWatch metrics, free. What is lost is each invocation's
 * Max Memory Used and Init Duration: set `INFO` for a while to size memory or study cold starts.
 */
export const DEFAULT_SYSTEM_LOG_LEVEL: SystemLogLevel = 'WARN';

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
  /**
   * Lambda's own log records (see SystemLogLevel). The function logs in Lambda's JSON log format, which this
   * setting needs; its own lines are JSON already and are written as they are.
   * @default 'WARN' (DEFAULT_SYSTEM_LOG_LEVEL): no start, end or report record per invocation
   */
  readonly systemLogLevel?: SystemLogLevel;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - no description */
  readonly description?: string;
  /**
   * Active X-Ray tracing.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Parts of the bundle to leave out because this function's stack cannot use them (the clients of agent kinds
   * it does not have): init compiles less. Only parts of {@link OPTIONAL_BUNDLE_PARTS} for this handler.
   * @default - none: the bundle holds every part
   */
  readonly omit?: readonly BundlePart[];
}

/**
 * A Lambda function for one file of lambda/handlers, bundled with {@link HANDLER_BUNDLING}. From source (this
 * repository) NodejsFunction bundles it with the local esbuild (no Docker); from the built package its code is
 * the bundle that `npm run build` made (dist/handlers/<handler>), so a user's project needs no bundler setup
 * for the construct's own functions.
 */
export class HandlerFunction extends NodejsFunction {
  /** The parts its bundle was built without (sorted). */
  public readonly omittedParts: readonly BundlePart[];

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
    const omit = [...new Set(props.omit ?? [])].sort();
    const optional = OPTIONAL_BUNDLE_PARTS[props.handler] ?? [];
    const unknown = omit.filter((part) => !optional.includes(part));
    if (unknown.length > 0) {
      throw new Error(
        `HandlerFunction ${id}: ${props.handler} cannot be bundled without ${unknown.join(', ')} (optional parts: ${optional.join(', ') || 'none'})`,
      );
    }
    const bundle = prebuiltBundle(props.handler, undefined, omit);
    super(scope, id, {
      ...(bundle
        ? { code: lambda.Code.fromAsset(bundle), handler: 'index.handler' }
        : {
            entry: path.join(ROOT, 'lambda', 'handlers', `${props.handler}.ts`),
            handler: 'handler',
            projectRoot: ROOT,
            depsLockFilePath: path.join(ROOT, 'package-lock.json'),
            bundling: {
              ...HANDLER_BUNDLING,
              externalModules: [...LAZY_CHUNK_BUNDLING.external],
              // NodejsFunction takes esbuild's `supported` only as command-line arguments.
              esbuildArgs: Object.fromEntries(
                Object.entries(LAZY_CHUNK_BUNDLING.supported).map(([feature, on]) => [
                  `--supported:${feature}`,
                  String(on),
                ]),
              ),
              logLevel: BundlingLogLevel.ERROR,
              ...(omit.length > 0 && { define: omitDefines(omit) }),
              // Each lazy chunk, bundled into the same folder with the same options.
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  LAZY_CHUNKS.map((chunk) =>
                    [
                      JSON.stringify(path.join(ROOT, 'node_modules', '.bin', 'esbuild')),
                      JSON.stringify(path.join(ROOT, chunk.source)),
                      '--bundle',
                      '--platform=node',
                      `--format=${HANDLER_BUNDLING.format}`,
                      `--target=${HANDLER_BUNDLING.target}`,
                      '--minify',
                      '--log-level=error',
                      `--outfile=${JSON.stringify(path.join(outputDir, chunk.file))}`,
                    ].join(' '),
                  ),
              },
            },
          }),
      role,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      systemLogLevelV2: lambda.SystemLogLevel[props.systemLogLevel ?? DEFAULT_SYSTEM_LOG_LEVEL],
      // The function's logger filters by LOG_LEVEL; Lambda must pass every line it writes. An EMF line has no
      // `level`, and Lambda would count it as INFO: an application level above INFO would drop the metrics.
      applicationLogLevelV2: lambda.ApplicationLogLevel.DEBUG,
      environment: {
        [EnvName.LogLevel]: props.logLevel ?? 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
    this.omittedParts = omit;
    const newer = newerNodeRuntimes();
    if (newer.length > 0) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-L1',
        reason: `The queue's functions run on ${HANDLER_RUNTIME.name}, the runtime their bundles are built and measured for (BENCHMARKS.md). This aws-cdk-lib also knows ${newer.join(', ')}; its Runtime.NODEJS_LATEST, the newest Node.js runtime in every region, is ${lambda.Runtime.NODEJS_LATEST.name}.`,
      });
    }
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
