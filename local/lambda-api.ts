/**
 * The Lambda API's Invoke route for the template's functions, so that SDK clients (the consumers' Lambda agents)
 * and `aws lambda invoke --endpoint-url …` reach the local functions:
 * `POST /2015-03-31/functions/{FunctionName}/invocations`, with the three invocation types.
 * - `RequestResponse` answers 200 with the function's result; a function error is still 200, with
 *   `X-Amz-Function-Error: Unhandled` and the error as the body (`errorType`, `errorMessage`, `trace`).
 * - `Event` answers 202 at once and runs the event in the background, as the function's
 *   AWS::Lambda::EventInvokeConfig says: retries on function errors, a maximum event age, and the invocation
 *   record sent to the on-success or on-failure destination (an SQS queue, an SNS topic or a function).
 * - `DryRun` answers 204 once the function is known.
 * Errors that keep the function from running are rest-json errors, their code in `x-amzn-ErrorType`.
 * The runtime serves this on the public AWS endpoint (emulators.ts) and on the functions' proxy (aws-proxy.ts).
 * @see ../../shared/aws-behaviour.md §1 and §2 for the shapes, and where they come from.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Invoker } from './functions';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import type { InvokeResult } from './lambda-pool';
import type { LambdaError } from './lambda-protocol';
import { resourcesOfType } from './template';

/** Largest request and response of a synchronous invocation: 6 MB. */
export const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
/** Largest request of an asynchronous invocation: 1 MB (256 KB before 2025; aws-behaviour.md §1). */
export const ASYNC_PAYLOAD_LIMIT_BYTES = 1024 * 1024;
/** The largest message an SNS destination takes; Lambda leaves payloads out of a larger record. */
const SNS_RECORD_LIMIT_BYTES = 256 * 1024;
/** The largest message an SQS queue takes, and the largest event a Lambda destination takes. */
const SQS_RECORD_LIMIT_BYTES = 1024 * 1024;

/** Lambda's defaults for a function without an event invoke config (aws-behaviour.md §2). */
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2;
export const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600;
/** Lambda waits about a minute before the second attempt of a failed event and two before the third. */
export const AWS_RETRY_DELAYS_SECONDS: readonly number[] = [60, 120];

/** An HTTP request as the front or the proxy read it. */
export interface AwsHttpRequest {
  readonly method: string;
  /** Path and query, as in `IncomingMessage.url`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The path prefix of the Lambda API's function routes, which the public AWS endpoint sends here. */
export const LAMBDA_PATH_PREFIX = '/2015-03-31/functions/';

/** Whether a request path belongs to the Lambda API rather than to fauxqs. */
export function isLambdaPath(url: string): boolean {
  return url.startsWith(LAMBDA_PATH_PREFIX);
}

// ---------------------------------------------------------------------------------------------------------
// FunctionName

export interface FunctionName {
  /** The function's name. */
  readonly name: string;
  /** From an ARN; undefined for a bare name (the caller's own region and account). */
  readonly region?: string;
  readonly accountId?: string;
  /** `$LATEST`, a version or an alias; undefined when none was given. */
  readonly qualifier?: string;
}

const FUNCTION_NAME =
  /^(?:arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:|(\d{12}):function:)?([a-zA-Z0-9_.-]{1,140})(?::([a-zA-Z0-9_$.-]+))?$/;

/**
 * Reads the FunctionName of an Invoke path (already URL-decoded) with the `Qualifier` of its query: a name
 * (`my-function`), a full ARN (`arn:aws:lambda:us-east-1:123456789012:function:my-function`) or a partial ARN
 * (`123456789012:function:my-function`), each with an optional `:qualifier`. An error message when it is not one.
 */
export function parseFunctionName(
  raw: string,
  queryQualifier: string | undefined,
): FunctionName | { readonly error: string } {
  const match = FUNCTION_NAME.exec(raw);
  if (!match) {
    return {
      error: `1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint: it must be a function name, a function ARN or a partial ARN (123456789012:function:name)`,
    };
  }
  const [, region, arnAccount, partialAccount, name, pathQualifier] = match;
  if (pathQualifier !== undefined && queryQualifier !== undefined && pathQualifier !== queryQualifier) {
    return {
      error: `The derived qualifier from the function name (${pathQualifier}) does not match the specified qualifier (${queryQualifier}).`,
    };
  }
  const accountId = arnAccount ?? partialAccount;
  const qualifier = pathQualifier ?? queryQualifier;
  return {
    name: name!,
    ...(region !== undefined && { region }),
    ...(accountId !== undefined && { accountId }),
    ...(qualifier !== undefined && { qualifier }),
  };
}

/** The function's ARN with its qualifier (`$LATEST` when none), as Lambda names it in errors and records. */
export function qualifiedArn(fn: FunctionName, region: string, accountId: string): string {
  return `arn:aws:lambda:${fn.region ?? region}:${fn.accountId ?? accountId}:function:${fn.name}:${fn.qualifier ?? '$LATEST'}`;
}

// ---------------------------------------------------------------------------------------------------------
// Replies

/** A rest-json service error: the code in `x-amzn-ErrorType`, the body `{"Type": "User", "message": …}`. */
export function serviceError(
  status: number,
  code: string,
  message: string,
  options: { requestId?: string; messageKey?: 'message' | 'Message' } = {},
): HttpReply {
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': code,
      'x-amzn-requestid': options.requestId ?? randomUUID(),
    },
    body: JSON.stringify({ Type: 'User', [options.messageKey ?? 'message']: message }),
  };
}

/**
 * 404 for a function that is not in the app. Lambda's own message first (`Message`, as Lambda sends it for this
 * error), then what to do about it locally.
 */
export function functionNotFound(arn: string): HttpReply {
  return serviceError(
    404,
    'ResourceNotFoundException',
    `Function not found: ${arn}. The local runtime runs only the functions of this app, and this one is not ` +
      'part of it (only $LATEST runs locally); to run its agent against a local endpoint, map it with --agent TYPE=URL',
    { messageKey: 'Message' },
  );
}

/** The body Lambda sends for a function error: the Node.js runtime's `errorType`, `errorMessage`, `trace`. */
export function functionErrorPayload(error: LambdaError): Record<string, unknown> {
  return {
    errorType: error.errorType,
    errorMessage: error.errorMessage,
    ...(error.trace !== undefined && { trace: error.trace }),
  };
}

/** The body Lambda sends when a synchronous response is over 6 MB (aws-behaviour.md §1, recorded). */
export const RESPONSE_TOO_LARGE: LambdaError = {
  errorType: 'Function.ResponseSizeTooLarge',
  errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
};

/** The 200 of a `RequestResponse` invocation: the result, or the function's error with `X-Amz-Function-Error`. */
export function invokeReply(result: InvokeResult, requestId: string): HttpReply {
  const headers = {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amz-executed-version': '$LATEST',
  };
  const failed = (error: LambdaError): HttpReply => ({
    status: 200,
    headers: { ...headers, 'x-amz-function-error': 'Unhandled' },
    body: JSON.stringify(functionErrorPayload(error)),
  });
  if (!result.ok) return failed(result.error);
  const body = JSON.stringify(result.result ?? null);
  if (Buffer.byteLength(body) > SYNC_PAYLOAD_LIMIT_BYTES) return failed(RESPONSE_TOO_LARGE);
  return { status: 200, headers, body };
}

// ---------------------------------------------------------------------------------------------------------
// Destination records

export type DestinationCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

export interface DestinationRecordInput {
  readonly requestId: string;
  /** The function's unqualified ARN; the record names `:$LATEST`. */
  readonly functionArn: string;
  readonly condition: DestinationCondition;
  /** Attempts made. */
  readonly approximateInvokeCount: number;
  readonly requestPayload: unknown;
  /** The last attempt's outcome. */
  readonly outcome: InvokeResult;
  readonly timestamp: Date;
}

/** The invocation record Lambda sends to a destination, key for key in Lambda's order (aws-behaviour.md §2). */
export function destinationRecord(input: DestinationRecordInput): Record<string, unknown> {
  const { outcome } = input;
  return {
    version: '1.0',
    timestamp: input.timestamp.toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: `${input.functionArn}:$LATEST`,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    requestPayload: input.requestPayload,
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(!outcome.ok && { functionError: 'Unhandled' }),
    },
    responsePayload: outcome.ok ? (outcome.result ?? null) : functionErrorPayload(outcome.error),
  };
}

/**
 * The record as the message a destination takes: Lambda leaves the payloads out of a record larger than its
 * destination accepts (documented for SNS's 256 KB; applied to SQS's 1 MB too). The response goes first, then
 * the request.
 */
export function recordMessage(record: Record<string, unknown>, limitBytes: number): string {
  let text = JSON.stringify(record);
  if (Buffer.byteLength(text) <= limitBytes) return text;
  const { responsePayload: _response, ...withoutResponse } = record;
  text = JSON.stringify(withoutResponse);
  if (Buffer.byteLength(text) <= limitBytes) return text;
  const { requestPayload: _request, ...withoutPayloads } = withoutResponse;
  return JSON.stringify(withoutPayloads);
}

// ---------------------------------------------------------------------------------------------------------
// Event invoke configs

export interface AsyncConfig {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
  /** Destination ARNs. */
  readonly onSuccess?: string;
  readonly onFailure?: string;
}

export const DEFAULT_ASYNC_CONFIG: AsyncConfig = {
  maximumRetryAttempts: DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  maximumEventAgeSeconds: DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
};

export type DestinationKind = 'sqs' | 'sns' | 'lambda';

/** The kind of destination an ARN names, or undefined for one that runs nowhere locally (EventBridge, S3). */
export function destinationKind(arn: string): DestinationKind | undefined {
  const service = /^arn:aws[a-zA-Z-]*:([a-z0-9-]+):/.exec(arn)?.[1];
  return service === 'sqs' || service === 'sns' || service === 'lambda' ? service : undefined;
}

/** The name of the function an event invoke config's `FunctionName` names (a name or an ARN). */
function functionNameOf(value: string): string {
  return /:function:([^:]+)/.exec(value)?.[1] ?? value;
}

/**
 * The template's event invoke configs by function name, and what of them runs nowhere locally: configs of a
 * version or alias (only `$LATEST` runs), and destinations other than SQS, SNS and Lambda.
 */
export function eventInvokeConfigs(ctx: IntrinsicContext): {
  configs: Map<string, AsyncConfig>;
  notEmulated: string[];
} {
  const configs = new Map<string, AsyncConfig>();
  const notEmulated: string[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Lambda::EventInvokeConfig')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as {
      FunctionName?: string;
      Qualifier?: string;
      MaximumRetryAttempts?: number | string;
      MaximumEventAgeInSeconds?: number | string;
      DestinationConfig?: {
        OnSuccess?: { Destination?: string };
        OnFailure?: { Destination?: string };
      };
    };
    if (props.Qualifier !== undefined && props.Qualifier !== '$LATEST') {
      notEmulated.push(`${id} (event invoke config of ${props.Qualifier}: only $LATEST runs locally)`);
      continue;
    }
    const destination = (which: 'OnSuccess' | 'OnFailure'): string | undefined => {
      const arn = props.DestinationConfig?.[which]?.Destination;
      if (arn === undefined) return undefined;
      if (destinationKind(arn) !== undefined) return arn;
      notEmulated.push(
        `${id} (${which} destination ${arn}: only SQS, SNS and Lambda destinations are emulated)`,
      );
      return undefined;
    };
    const onSuccess = destination('OnSuccess');
    const onFailure = destination('OnFailure');
    configs.set(functionNameOf(String(props.FunctionName)), {
      maximumRetryAttempts: Number(props.MaximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS),
      maximumEventAgeSeconds: Number(props.MaximumEventAgeInSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS),
      ...(onSuccess !== undefined && { onSuccess }),
      ...(onFailure !== undefined && { onFailure }),
    });
  }
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Lambda::Function')) {
    if (resource.Properties?.DeadLetterConfig !== undefined) {
      notEmulated.push(
        `${id} (DeadLetterConfig: the dead-letter queue of asynchronous invocations; use an OnFailure destination)`,
      );
    }
  }
  return { configs, notEmulated };
}

// ---------------------------------------------------------------------------------------------------------
// Asynchronous invocations

/** A function as the Lambda API sees it. */
export interface ApiFunction {
  readonly name: string;
  /** Unqualified. */
  readonly arn: string;
  readonly invoker: Invoker;
}

/** Sends a record to a destination ARN; rejects when the destination refused it. */
export type DestinationSender = (arn: string, record: Record<string, unknown>) => Promise<void>;

export interface AsyncQueueOptions {
  readonly config: (fn: ApiFunction) => AsyncConfig;
  readonly send: DestinationSender;
  /**
   * Seconds before the second attempt, the third, and so on (the last repeats).
   * @default AWS_RETRY_DELAYS_SECONDS, as on AWS
   */
  readonly retryDelaysSeconds?: readonly number[];
  readonly log: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Lambda's internal queue of asynchronous events: each event runs at once (the pool queues it when every
 * environment is busy), is retried after a function error while attempts and age allow, and its record goes to
 * the on-success or on-failure destination. One request id for all attempts of an event, as on Lambda.
 */
export class AsyncQueue {
  /** The retries waiting for their delay: stopping ends the wait (and the event). */
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  public constructor(private readonly options: AsyncQueueOptions) {}

  /** Takes an event; its outcome arrives through the destinations. Resolves when the event is done (for tests). */
  public enqueue(fn: ApiFunction, payload: unknown, requestId: string): Promise<void> {
    const run = this.run(fn, payload, requestId).catch((error: Error) =>
      this.options.log(`[lambda] event ${requestId} of ${fn.name} failed: ${error.message}`),
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  /** Events being run or waiting for a retry. */
  public get pending(): number {
    return this.running.size;
  }

  private delayMs(retry: number): number {
    const delays = this.options.retryDelaysSeconds ?? AWS_RETRY_DELAYS_SECONDS;
    return (delays[Math.min(retry, delays.length - 1)] ?? 0) * 1000;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      this.waits.set(timer, resolve);
    });
  }

  private async run(fn: ApiFunction, payload: unknown, requestId: string): Promise<void> {
    const now = this.options.now ?? Date.now;
    const config = this.options.config(fn);
    const receivedAt = now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const outcome = await fn.invoker.invoke(payload, { requestId });
      if (this.stopped) return;
      let condition: DestinationCondition | undefined;
      if (outcome.ok) condition = 'Success';
      else if (attempts > config.maximumRetryAttempts) condition = 'RetriesExhausted';
      else {
        await this.sleep(this.delayMs(attempts - 1));
        if (this.stopped) return;
        if (now() - receivedAt > config.maximumEventAgeSeconds * 1000) condition = 'EventAgeExceeded';
      }
      if (condition === undefined) continue;
      const destination = condition === 'Success' ? config.onSuccess : config.onFailure;
      if (condition !== 'Success') {
        this.options.log(
          `[lambda] event ${requestId} of ${fn.name} failed (${condition}, ${attempts} attempts)${destination ? `: its record goes to ${destination}` : ''}`,
        );
      }
      if (destination === undefined) return;
      const record = destinationRecord({
        requestId,
        functionArn: fn.arn,
        condition,
        approximateInvokeCount: attempts,
        requestPayload: payload,
        outcome,
        timestamp: new Date(now()),
      });
      try {
        await this.options.send(destination, record);
      } catch (error) {
        // Lambda only counts a DestinationDeliveryFailures metric; the log says it here.
        this.options.log(
          `[lambda] the record of event ${requestId} of ${fn.name} could not be sent to ${destination}: ${(error as Error).message}`,
        );
      }
      return;
    }
  }

  /** Drops the events still waiting for a retry; running attempts end with their pools. */
  public stop(): void {
    this.stopped = true;
    for (const [timer, resolve] of this.waits) {
      clearTimeout(timer);
      resolve();
    }
    this.waits.clear();
  }
}

// ---------------------------------------------------------------------------------------------------------
// The API

export interface LambdaApi {
  /** Answers one request to the Lambda API. */
  handle(request: AwsHttpRequest): Promise<HttpReply>;
  /** What of the template's asynchronous invocation settings runs nowhere locally. */
  readonly notEmulated: readonly string[];
  /** Asynchronous events not yet done. */
  readonly pendingEvents: number;
  stop(): Promise<void>;
}

export interface LambdaApiOptions {
  readonly ctx: IntrinsicContext;
  /** Finds a function by name or ARN, or undefined when the app has none of that name. */
  readonly find: (nameOrArn: string) => ApiFunction | undefined;
  /** fauxqs, where SQS and SNS destinations are. */
  readonly awsEndpoint: string;
  /** @default AWS_RETRY_DELAYS_SECONDS (60 s, then 120 s), as on AWS */
  readonly retryDelaysSeconds?: readonly number[];
  readonly log: (line: string) => void;
}

const INVOKE_ROUTE = /^\/2015-03-31\/functions\/([^/?]+)\/invocations\/?(?:\?(.*))?$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The event of a payload: its JSON (an empty payload is `{}`), or an error message. */
export function parsePayload(body: Buffer): { event: unknown } | { error: string } {
  const text = body.toString('utf8');
  if (text.trim() === '') return { event: {} };
  try {
    return { event: JSON.parse(text) };
  } catch (error) {
    return {
      error: `Could not parse request body into json: Could not parse payload into json: ${(error as Error).message}`,
    };
  }
}

export function startLambdaApi(options: LambdaApiOptions): LambdaApi {
  const { ctx, log } = options;
  const { configs, notEmulated } = eventInvokeConfigs(ctx);
  const clientConfig = {
    region: ctx.region,
    endpoint: options.awsEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const sqs = new SQSClient(clientConfig);
  const sns = new SNSClient(clientConfig);

  const send: DestinationSender = async (arn, record) => {
    switch (destinationKind(arn)) {
      case 'sqs': {
        // arn:aws:sqs:<region>:<account>:<name>; fauxqs finds a queue by the path of its URL.
        const [, , , , account, name] = arn.split(':');
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: `${options.awsEndpoint}/${account}/${name}`,
            MessageBody: recordMessage(record, SQS_RECORD_LIMIT_BYTES),
          }),
        );
        return;
      }
      case 'sns':
        await sns.send(
          new PublishCommand({ TopicArn: arn, Message: recordMessage(record, SNS_RECORD_LIMIT_BYTES) }),
        );
        return;
      case 'lambda': {
        const fn = options.find(arn);
        if (!fn) throw new Error(`function ${arn} is not part of this app`);
        void queue.enqueue(fn, JSON.parse(recordMessage(record, ASYNC_PAYLOAD_LIMIT_BYTES)), randomUUID());
        return;
      }
      default:
        throw new Error('this kind of destination is not emulated');
    }
  };
  const queue = new AsyncQueue({
    config: (fn) => configs.get(fn.name) ?? DEFAULT_ASYNC_CONFIG,
    send,
    ...(options.retryDelaysSeconds && { retryDelaysSeconds: options.retryDelaysSeconds }),
    log,
  });

  const handle = async (request: AwsHttpRequest): Promise<HttpReply> => {
    const route = INVOKE_ROUTE.exec(request.url);
    if (!route || request.method !== 'POST') {
      return serviceError(
        404,
        'UnknownOperationException',
        `${request.method} ${request.url.split('?')[0]}: the local Lambda API serves only Invoke (POST ${LAMBDA_PATH_PREFIX}{FunctionName}/invocations)`,
      );
    }
    let raw: string;
    try {
      raw = decodeURIComponent(route[1]!);
    } catch {
      raw = route[1]!;
    }
    const query = new URLSearchParams(route[2] ?? '');
    const parsed = parseFunctionName(raw, query.get('Qualifier') ?? undefined);
    if ('error' in parsed) return serviceError(400, 'InvalidParameterValueException', parsed.error);
    const arn = qualifiedArn(parsed, ctx.region, ctx.accountId);
    const local =
      (parsed.region ?? ctx.region) === ctx.region &&
      (parsed.accountId ?? ctx.accountId) === ctx.accountId &&
      (parsed.qualifier ?? '$LATEST') === '$LATEST';
    const fn = local ? options.find(parsed.name) : undefined;
    if (!fn) return functionNotFound(arn);

    const type = header(request.headers, 'x-amz-invocation-type') ?? 'RequestResponse';
    if (type !== 'RequestResponse' && type !== 'Event' && type !== 'DryRun') {
      return serviceError(
        400,
        'InvalidParameterValueException',
        `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
    }
    const requestId = randomUUID();
    const limit = type === 'Event' ? ASYNC_PAYLOAD_LIMIT_BYTES : SYNC_PAYLOAD_LIMIT_BYTES;
    if (request.body.byteLength > limit) {
      return serviceError(
        413,
        'RequestEntityTooLargeException',
        type === 'Event'
          ? `${request.body.byteLength} byte payload is too large for the Event invocation type (limit ${limit} bytes)`
          : `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
        { requestId, messageKey: 'Message' },
      );
    }
    const payload = parsePayload(request.body);
    if ('error' in payload) {
      return serviceError(400, 'InvalidRequestContentException', payload.error, { requestId });
    }
    if (type === 'DryRun') return { status: 204, headers: { 'x-amzn-requestid': requestId }, body: '' };
    if (type === 'Event') {
      void queue.enqueue(fn, payload.event, requestId);
      return { status: 202, headers: { 'x-amzn-requestid': requestId }, body: '' };
    }
    return invokeReply(await fn.invoker.invoke(payload.event, { requestId }), requestId);
  };

  return {
    handle: (request) =>
      handle(request).catch((error: Error) =>
        serviceError(500, 'ServiceException', `the local Lambda API failed: ${error.message}`),
      ),
    notEmulated,
    get pendingEvents() {
      return queue.pending;
    },
    stop: async () => {
      queue.stop();
      sqs.destroy();
      sns.destroy();
    },
  };
}

/**
 * A Lambda API that is attached once the functions exist: the public endpoint and the proxy listen before the
 * synth, the functions come after it. Until then a request is answered 503, as a service not yet ready.
 */
export interface LambdaApiSlot {
  readonly handle: (request: AwsHttpRequest) => Promise<HttpReply>;
  attach(api: LambdaApi): void;
}

export function lambdaApiSlot(): LambdaApiSlot {
  let api: LambdaApi | undefined;
  return {
    handle: async (request) =>
      api
        ? api.handle(request)
        : serviceError(503, 'ServiceException', 'the local Lambda API is still starting: try again'),
    attach: (attached) => {
      api = attached;
    },
  };
}
