/**
 * Calls agents. The agent protocol: the consumer POSTs (or invokes with) the JSON
 * `{ task_id, type, payload, attempt, deadline }`; the agent answers with its result as JSON.
 * Agents should use `task_id` as their own idempotency key: delivery is at least once.
 *
 * This adapter reports facts (timed out, status N, threw errorType, answer too large); which code and whether
 * to retry is decided in core (agent-outcome.ts), and the deadline it stops waiting at in agent-timeout.ts.
 */
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import {
  type AgentLimits,
  type AgentTarget,
  type AgentTargets,
  asyncLimits,
  slotLimits,
} from '../contract/agent-target';
import { BundlePart, omittedPartMessage } from '../contract/bundle-parts';
import {
  type AgentFailure,
  type AgentOutcome,
  classifyAgentFailure,
  classifyHttpStatus,
  MAX_ERROR_CHARS,
} from '../core/agent-outcome';
import { millisecondsToDeadline } from '../core/agent-timeout';
import { parseExactJson } from '../core/json-text';
import type { AgentLimitConfig } from '../core/limits';
import type { AgentCallLimits, AgentInvoker, AgentRequest } from '../core/ports';

/** The agent targets are typed and parsed in the contract with lib/ (lambda/contract/agent-target.ts). */
export type { AgentTarget, AgentTargets };

/** Bytes of a failed answer's body kept for its error message (MAX_ERROR_CHARS characters fit in it). */
const MAX_ERROR_BYTES = MAX_ERROR_CHARS * 4;

/** A signal that aborts at the attempt's deadline (at once when it has passed). */
function deadlineSignal(request: AgentRequest): AbortSignal {
  return AbortSignal.timeout(millisecondsToDeadline(request.deadline, Date.now()));
}

/** A thrown error while the call was under way: the deadline if the signal fired, else the error itself. */
function callFailure(
  signal: AbortSignal,
  timeoutSeconds: number,
  error: unknown,
  otherwise: (detail: string) => AgentFailure,
): AgentFailure {
  // fetch rejects with the signal's TimeoutError; the Lambda client wraps it in an AbortError.
  if (signal.aborted || (error as Error).name === 'TimeoutError')
    return { fact: 'timed-out', timeoutSeconds };
  return otherwise((error as Error).message);
}

/**
 * Reads a body stream up to `maxBytes`. Reads chunk by chunk and cancels the stream as soon as the answer is
 * longer, so that an agent answering hundreds of megabytes costs at most `maxBytes` of memory.
 */
async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (body === null) return { bytes: new Uint8Array(0), complete: true };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (length + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - length));
        length = maxBytes;
        await reader.cancel().catch(() => {});
        return { bytes: concat(chunks, length), complete: false };
      }
      chunks.push(value);
      length += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return { bytes: concat(chunks, length), complete: true };
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** UTF-8 text of the start of a body, without a character cut in half at its end. */
function decodeStart(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes, { stream: true });
}

/** An agent's answer as the result: its JSON with every number's digits kept, or its text if it is not JSON. */
function resultOf(text: string): unknown {
  if (text === '') return null;
  try {
    return parseExactJson(text);
  } catch {
    return text;
  }
}

type SecretsModule = typeof import('@aws-sdk/client-secrets-manager');
let secretsSdk:
  | Promise<{ sdk: SecretsModule; client: InstanceType<SecretsModule['SecretsManagerClient']> }>
  | undefined;

/**
 * The Secrets Manager client is loaded on first use: agents without a secret never pay for it. A consumer whose
 * stack has no agent with a secret is bundled without it (lambda/contract/bundle-parts.ts): the comparison is
 * then of two literals, true at build time, and esbuild drops the import. Both sides are written out here, the
 * flag and OMITTED's value, because esbuild folds literals only.
 */
function secretsClient() {
  secretsSdk ??=
    process.env.TASKQ_BUNDLE_AGENT_SECRETS === 'omitted'
      ? Promise.reject(new Error(omittedPartMessage(BundlePart.AgentSecrets)))
      : import('@aws-sdk/client-secrets-manager').then((sdk) => ({
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
  limits: AgentCallLimits,
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
      return classifyAgentFailure({ fact: 'secret-unavailable', detail: (error as Error).message });
    }
  }
  // The deadline covers the body too: an agent can send its headers and then stall or break off.
  const signal = deadlineSignal(request);
  const timedOutOr = (error: unknown) =>
    classifyAgentFailure(
      callFailure(signal, target.timeoutSeconds, error, (detail) => ({ fact: 'unreachable', detail })),
    );
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(request),
      signal,
    });
  } catch (error) {
    return timedOutOr(error);
  }
  // An async agent takes the task over with 202; what its body says does not matter.
  if (request.callback !== undefined && response.status === 202) {
    await response.body?.cancel().catch(() => {});
    return { kind: 'accepted' };
  }
  if (classifyHttpStatus(response.status) !== 'success') {
    const start = await readBounded(response.body, MAX_ERROR_BYTES).catch(() => undefined);
    return classifyAgentFailure({
      fact: 'http-status',
      status: response.status,
      text: start ? decodeStart(start.bytes) : '',
    });
  }
  let answer: { bytes: Uint8Array; complete: boolean };
  try {
    const declared = Number(response.headers.get('content-length'));
    if (declared > limits.maxAnswerBytes) {
      await response.body?.cancel().catch(() => {});
      return classifyAgentFailure({ fact: 'answer-too-large', limitBytes: limits.maxAnswerBytes });
    }
    // A declared length bounds the body; a compressed one (content-encoding) does not bound what it unpacks to.
    answer =
      response.headers.has('content-length') && !response.headers.has('content-encoding')
        ? { bytes: new Uint8Array(await response.arrayBuffer()), complete: true }
        : await readBounded(response.body, limits.maxAnswerBytes);
  } catch (error) {
    return timedOutOr(error);
  }
  if (!answer.complete)
    return classifyAgentFailure({ fact: 'answer-too-large', limitBytes: limits.maxAnswerBytes });
  return { kind: 'success', result: resultOf(new TextDecoder().decode(answer.bytes)) };
}

type LambdaModule = typeof import('@aws-sdk/client-lambda');
let lambdaSdk: Promise<{ sdk: LambdaModule; client: InstanceType<LambdaModule['LambdaClient']> }> | undefined;

/**
 * The Lambda client is loaded on first use: stacks with only HTTP agents never pay for it at init.
 * `maxAttempts: 1`: the SDK must not retry an Invoke on its own. A throttle or a 5xx can come after the
 * function started, so a retry inside one attempt could run the agent twice at once; the queue's own retry,
 * with its backoff and its claim, is the only retry.
 */
function lambdaClient() {
  // Left out of a consumer whose stack has no Lambda agent, as the Secrets Manager client above.
  lambdaSdk ??=
    process.env.TASKQ_BUNDLE_LAMBDA_AGENTS === 'omitted'
      ? Promise.reject(new Error(omittedPartMessage(BundlePart.LambdaAgents)))
      : import('@aws-sdk/client-lambda').then((sdk) => ({
          sdk,
          client: new sdk.LambdaClient({ maxAttempts: 1 }),
        }));
  return lambdaSdk;
}

async function invokeLambda(
  target: Extract<AgentTarget, { kind: 'lambda' }>,
  request: AgentRequest,
  limits: AgentCallLimits,
): Promise<AgentOutcome> {
  let loaded: Awaited<ReturnType<typeof lambdaClient>>;
  try {
    loaded = await lambdaClient();
  } catch (error) {
    return classifyAgentFailure({ fact: 'invoke-failed', detail: (error as Error).message });
  }
  const { sdk, client } = loaded;
  const signal = deadlineSignal(request);
  // An async Lambda agent is invoked with `Event`: Lambda queues the event and answers 202 at once. It reports
  // through its destinations (a function of the app) or the callback routes.
  const event = request.callback !== undefined;
  let out: InvokeCommandOutput;
  try {
    out = await client.send(
      new sdk.InvokeCommand({
        FunctionName: target.functionArn,
        Payload: Buffer.from(JSON.stringify(request)),
        ...(event && { InvocationType: 'Event' }),
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    return classifyAgentFailure(
      callFailure(signal, target.timeoutSeconds, error, (detail) => ({ fact: 'invoke-failed', detail })),
    );
  }
  if (event) {
    return out.StatusCode === 202
      ? { kind: 'accepted' }
      : classifyAgentFailure({ fact: 'invoke-failed', detail: `Event invoke answered ${out.StatusCode}` });
  }
  // Lambda caps a synchronous response at 6 MB and the SDK has read it whole; a payload over the limit is
  // refused before it is decoded or parsed.
  const payload = out.Payload ?? new Uint8Array(0);
  if (!out.FunctionError && payload.byteLength > limits.maxAnswerBytes) {
    return classifyAgentFailure({ fact: 'answer-too-large', limitBytes: limits.maxAnswerBytes });
  }
  if (out.FunctionError) {
    const text = decodeStart(payload.subarray(0, limits.maxAnswerBytes));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const { errorType, errorMessage } = (body ?? {}) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof errorType === 'string' ? errorType : undefined;
    const message = typeof errorMessage === 'string' ? errorMessage : text || out.FunctionError;
    return classifyAgentFailure({
      fact: 'function-error',
      ...(type !== undefined && { errorType: type }),
      errorMessage: message,
    });
  }
  return { kind: 'success', result: resultOf(Buffer.from(payload).toString('utf8')) };
}

export class ConfiguredAgents implements AgentInvoker {
  public constructor(private readonly targets: AgentTargets) {}

  public has(type: string): boolean {
    return Object.hasOwn(this.targets, type);
  }

  public timeoutSeconds(type: string): number {
    return this.targets[type]!.timeoutSeconds;
  }

  public asyncLimits(type: string): AgentLimits | undefined {
    return asyncLimits(this.targets[type]!);
  }

  public slotLimits(type: string): AgentLimitConfig | undefined {
    return slotLimits(this.targets[type]!);
  }

  public invoke(request: AgentRequest, limits: AgentCallLimits): Promise<AgentOutcome> {
    const target = this.targets[request.type]!;
    return target.kind === 'http'
      ? invokeHttp(target, request, limits)
      : invokeLambda(target, request, limits);
  }
}
