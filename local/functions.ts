/**
 * Reads each AWS::Lambda::Function of the template into what a local execution environment needs:
 * its bundle, handler, timeout, memory, and its environment with every intrinsic resolved, plus the
 * variables the Lambda runtime sets and the endpoints of the emulators. The handlers' SDK clients find
 * the emulators through `AWS_ENDPOINT_URL_*`, so handler code has no local-mode branch.
 */
import { type IntrinsicContext, resolveIntrinsics, resolveString } from './intrinsics';
import type { LocalFunction } from './lambda-pool';
import { resourcesOfType } from './template';

export interface EmulatorEndpoints {
  /** SQS, SNS and S3. */
  readonly aws: string;
  readonly dynamodb: string;
}

/** Lambda's default timeout and memory when the template leaves them out. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

export function runtimeEnvironment(
  fn: Pick<LocalFunction, 'name' | 'memorySize' | 'logGroupName' | 'codePath'>,
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
    AWS_ENDPOINT_URL_SNS: endpoints.aws,
    AWS_ENDPOINT_URL_S3: endpoints.aws,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/${fn.name}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
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
      ...runtimeEnvironment(base, ctx.region, endpoints),
    };
    return { ...base, env };
  });
}
