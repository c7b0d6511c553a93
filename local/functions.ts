/**
 * Emulates the Lambda service for the template's functions. Reads each AWS::Lambda::Function into what a
 * local execution environment needs: its bundle, handler, timeout, memory, and its environment with every
 * intrinsic resolved, plus the variables the Lambda runtime sets and the endpoints of the emulators. The
 * handlers' SDK clients find the emulators through `AWS_ENDPOINT_URL_*`, so handler code has no local-mode
 * branch. `startFunctions` gives each function its pool of execution environments (lambda-pool.ts), found
 * by name or ARN, as the other services' emulations name their targets.
 */
import { EnvName, FunctionRole } from '../lambda/contract';
import { type IntrinsicContext, resolveIntrinsics, resolveString } from './intrinsics';
import {
  type InvokeOptions,
  type InvokeResult,
  LambdaPool,
  type LocalFunction,
  type PoolOptions,
} from './lambda-pool';
import { resourcesOfType } from './template';

export interface EmulatorEndpoints {
  /** SQS and S3, and SNS unless `sns` is given. */
  readonly aws: string;
  readonly dynamodb: string;
  /** SNS. @default - `aws` */
  readonly sns?: string;
  /** S3. @default - `aws` */
  readonly s3?: string;
  /** The local Lambda API (lambda-api.ts). @default - `aws` */
  readonly lambda?: string;
}

/** Lambda's default timeout and memory when the template leaves them out. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

export function runtimeEnvironment(
  fn: Pick<LocalFunction, 'name' | 'memorySize' | 'logGroupName' | 'codePath'> & {
    /** The template's `Runtime` (`nodejs24.x`, …). The handler runs on the Node that runs this runtime. */
    readonly runtime: string;
  },
  region: string,
  endpoints: EmulatorEndpoints,
): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // The emulators accept any credentials; these keep the SDK from looking for real ones.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_ENDPOINT_URL_SQS: endpoints.aws,
    AWS_ENDPOINT_URL_SNS: endpoints.sns ?? endpoints.aws,
    AWS_ENDPOINT_URL_S3: endpoints.s3 ?? endpoints.aws,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda ?? endpoints.aws,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/${fn.name}`,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    LAMBDA_TASK_ROOT: fn.codePath,
    ...(process.env.PATH && { PATH: process.env.PATH }),
  };
}

export function localFunctions(
  ctx: IntrinsicContext,
  codePaths: ReadonlyMap<string, string>,
  endpoints: EmulatorEndpoints,
): LocalFunction[] {
  return resourcesOfType(ctx.template, 'AWS::Lambda::Function').map(([id, resource]) => {
    const props = resource.Properties ?? {};
    const codePath = codePaths.get(id);
    if (!codePath) throw new Error(`function ${id} has no local bundle`);
    const local = ctx.resources.get(id)!;
    const variables = resolveIntrinsics(
      (props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
      ctx,
    ) as Record<string, unknown>;
    const loggingConfig = props.LoggingConfig as { LogGroup?: unknown } | undefined;
    const base = {
      logicalId: id,
      name: local.ref,
      arn: local.attributes.Arn!,
      codePath,
      handler: resolveString(props.Handler ?? 'index.handler', ctx, `${id}.Handler`),
      timeoutSeconds: Number(resolveIntrinsics(props.Timeout, ctx) ?? DEFAULT_TIMEOUT_SECONDS),
      memorySize: Number(resolveIntrinsics(props.MemorySize, ctx) ?? DEFAULT_MEMORY_MB),
      logGroupName: loggingConfig?.LogGroup
        ? resolveString(loggingConfig.LogGroup, ctx, `${id}.LoggingConfig.LogGroup`)
        : `/aws/lambda/${local.ref}`,
    };
    const env = {
      ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      // A function without a Node runtime has a stand-in (function-code.ts); its runtime is named all the same.
      ...runtimeEnvironment({ ...base, runtime: String(props.Runtime ?? 'nodejs') }, ctx.region, endpoints),
    };
    return { ...base, env };
  });
}

/** What invokes a function: its pool of execution environments, or a stand-in in tests. */
export interface Invoker {
  invoke(event: unknown, options?: InvokeOptions): Promise<InvokeResult>;
}

/** Finds a function by its name or ARN (`:$LATEST` allowed); `where` names the resource that refers to it. */
export type FunctionLookup = (nameOrArn: string, where: string) => Invoker;

/** What a fault plan needs to know of the functions: which role a worker plays, and how to kill it. */
export interface WorkerControl {
  /** The role of the function behind an app id (`<LogicalId>.<n>`, the SDK's app id in a worker). */
  roleOf(appId: string): 'producer' | 'consumer' | 'other';
  /** Kills the worker with this app id mid-invocation, as a crash would: its invocation fails. */
  killWorker(appId: string): void;
}

export interface LocalFunctions extends WorkerControl {
  readonly functions: readonly LocalFunction[];
  readonly lookup: FunctionLookup;
  /** A function by its name or ARN (`:$LATEST` allowed), or undefined when the template has none such. */
  find(
    nameOrArn: string,
  ): { readonly name: string; readonly arn: string; readonly invoker: Invoker } | undefined;
  /** Starts one environment per function ahead of the first invocation. */
  warm(): Promise<void>;
  stop(): Promise<void>;
}

/** One pool of execution environments per function of the template. */
export function startFunctions(
  ctx: IntrinsicContext,
  codePaths: ReadonlyMap<string, string>,
  endpoints: EmulatorEndpoints,
  options: PoolOptions,
): LocalFunctions {
  const functions = localFunctions(ctx, codePaths, endpoints);
  const pools = new Map<string, LambdaPool>();
  const roles = new Map<string, 'producer' | 'consumer' | 'other'>();
  const all = functions.map((fn) => {
    const role = fn.env[EnvName.FunctionRole];
    roles.set(
      fn.logicalId.slice(0, 40),
      role === FunctionRole.Consumer || role === FunctionRole.Producer ? role : 'other',
    );
    const pool = new LambdaPool(fn, options);
    pools.set(fn.name, pool);
    pools.set(fn.arn, pool);
    return pool;
  });
  const find = (nameOrArn: string) => pools.get(nameOrArn) ?? pools.get(nameOrArn.replace(/:\$LATEST$/, ''));
  return {
    functions,
    lookup: (nameOrArn, where) => {
      const pool = find(nameOrArn);
      if (!pool) throw new Error(`${where} names function ${nameOrArn}, which the template does not define`);
      return pool;
    },
    find: (nameOrArn) => {
      const pool = find(nameOrArn);
      return pool && { name: pool.fn.name, arn: pool.fn.arn, invoker: pool };
    },
    roleOf: (appId) => roles.get(appId.slice(0, appId.lastIndexOf('.'))) ?? 'other',
    killWorker: (appId) => all.find((pool) => pool.owns(appId))?.kill(appId),
    warm: async () => {
      await Promise.all(all.map((pool) => pool.warm()));
    },
    stop: async () => {
      await Promise.all(all.map((pool) => pool.stop()));
    },
  };
}
