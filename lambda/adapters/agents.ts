/**
 * Calls agents. The agent protocol: the consumer POSTs (or invokes with) the JSON
 * `{ task_id, type, payload, attempt }`; the agent answers with its result as JSON.
 * Agents should use `task_id` as their own idempotency key: delivery is at least once.
 */
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { AgentTarget, AgentTargets } from '../contract/agent-target';
import type { AgentInvoker, AgentRequest } from '../core/ports';
import { type AgentOutcome, classifyHttpStatus, classifyLambdaError } from '../core/retry-policy';

/** The agent targets are typed and parsed in the contract with lib/ (lambda/contract/agent-target.ts). */
export type { AgentTarget, AgentTargets };

const MAX_ERROR_CHARS = 1000;

async function errorText(response: Response): Promise<string> {
  const text = (await response.text().catch(() => '')).slice(0, MAX_ERROR_CHARS);
  return text ? `: ${text}` : '';
}

/** A timeout or a broken connection, before or while the agent's answer arrives: worth retrying. */
function networkFailure(target: Extract<AgentTarget, { kind: 'http' }>, error: unknown): AgentOutcome {
  const timedOut = (error as Error).name === 'TimeoutError';
  return {
    kind: 'transient',
    error: timedOut
      ? { code: 'AgentTimeout', message: `the agent did not answer within ${target.timeoutSeconds} s` }
      : {
          code: 'AgentUnreachable',
          message: `the agent could not be reached: ${(error as Error).message}`,
        },
  };
}

type SecretsModule = typeof import('@aws-sdk/client-secrets-manager');
let secretsSdk:
  | Promise<{ sdk: SecretsModule; client: InstanceType<SecretsModule['SecretsManagerClient']> }>
  | undefined;

/** The Secrets Manager client is loaded on first use: agents without a secret never pay for it. */
function secretsClient() {
  secretsSdk ??= import('@aws-sdk/client-secrets-manager').then((sdk) => ({
    sdk,
    client: new sdk.SecretsManagerClient({}),
  }));
  return secretsSdk;
}

/** How long a secret value is reused before it is read again, so that a rotated token is picked up. */
const SECRET_CACHE_MS = 5 * 60 * 1000;
const secretCache = new Map<string, { value: Promise<string>; readAt: number }>();

/** The string value of a secret, read once per SECRET_CACHE_MS; a failed read is not cached. */
function secretValue(arn: string): Promise<string> {
  const cached = secretCache.get(arn);
  if (cached && Date.now() - cached.readAt < SECRET_CACHE_MS) return cached.value;
  const value = secretsClient().then(async ({ sdk, client }) => {
    const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: arn }));
    if (out.SecretString === undefined) throw new Error('the secret has no string value');
    return out.SecretString;
  });
  secretCache.set(arn, { value, readAt: Date.now() });
  value.catch(() => secretCache.delete(arn));
  return value;
}

async function invokeHttp(
  target: Extract<AgentTarget, { kind: 'http' }>,
  request: AgentRequest,
): Promise<AgentOutcome> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': request.task_id,
  };
  if (target.authSecretArn !== undefined) {
    try {
      headers.authorization = `Bearer ${await secretValue(target.authSecretArn)}`;
    } catch (error) {
      // Never the secret itself: an SDK error names the secret and the failure only.
      return {
        kind: 'transient',
        error: {
          code: 'AgentSecretUnavailable',
          message: `the agent's auth secret could not be read: ${(error as Error).message}`.slice(
            0,
            MAX_ERROR_CHARS,
          ),
        },
      };
    }
  }
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(target.timeoutSeconds * 1000),
    });
  } catch (error) {
    return networkFailure(target, error);
  }
  const verdict = classifyHttpStatus(response.status);
  if (verdict !== 'success') {
    return {
      kind: verdict,
      error: {
        code: `AgentHttp${response.status}`,
        message: `the agent answered ${response.status}${await errorText(response)}`,
      },
    };
  }
  let text: string;
  try {
    // The timeout covers the body too: an agent can send its headers and then stall or break off.
    text = await response.text();
  } catch (error) {
    return networkFailure(target, error);
  }
  if (text === '') return { kind: 'success', result: null };
  try {
    return { kind: 'success', result: JSON.parse(text) };
  } catch {
    return { kind: 'success', result: text };
  }
}

type LambdaModule = typeof import('@aws-sdk/client-lambda');
let lambdaSdk: Promise<{ sdk: LambdaModule; client: InstanceType<LambdaModule['LambdaClient']> }> | undefined;

/** The Lambda client is loaded on first use: stacks with only HTTP agents never pay for it at init. */
function lambdaClient() {
  lambdaSdk ??= import('@aws-sdk/client-lambda').then((sdk) => ({ sdk, client: new sdk.LambdaClient({}) }));
  return lambdaSdk;
}

async function invokeLambda(
  target: Extract<AgentTarget, { kind: 'lambda' }>,
  request: AgentRequest,
): Promise<AgentOutcome> {
  const { sdk, client } = await lambdaClient();
  let out: InvokeCommandOutput;
  try {
    out = await client.send(
      new sdk.InvokeCommand({
        FunctionName: target.functionArn,
        Payload: Buffer.from(JSON.stringify(request)),
      }),
      { abortSignal: AbortSignal.timeout(target.timeoutSeconds * 1000) },
    );
  } catch (error) {
    return {
      kind: 'transient',
      error: { code: 'AgentInvokeFailed', message: (error as Error).message.slice(0, MAX_ERROR_CHARS) },
    };
  }
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (out.FunctionError) {
    const { errorType, errorMessage } = (body ?? {}) as { errorType?: string; errorMessage?: string };
    return {
      kind: classifyLambdaError(errorType),
      error: {
        code: errorType ?? 'AgentFunctionError',
        message: String(errorMessage ?? out.FunctionError).slice(0, MAX_ERROR_CHARS),
      },
    };
  }
  return { kind: 'success', result: body };
}

export class ConfiguredAgents implements AgentInvoker {
  public constructor(private readonly targets: AgentTargets) {}

  public has(type: string): boolean {
    return Object.hasOwn(this.targets, type);
  }

  public invoke(request: AgentRequest): Promise<AgentOutcome> {
    const target = this.targets[request.type]!;
    return target.kind === 'http' ? invokeHttp(target, request) : invokeLambda(target, request);
  }
}
