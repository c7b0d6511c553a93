/**
 * A typed client for the task API (POST /tasks, GET /tasks/{id}, DELETE /tasks/{id}). The CLI's only one.
 * It knows the HTTP contract and nothing about the terminal: the commands decide what to print.
 */
import http from 'node:http';
import type { ErrorDetail } from '../lambda/core/errors';
import { parseExactJson } from '../lambda/core/json-text';
import type { Priority, TaskView } from '../lambda/core/task';

/**
 * The part of `fetch` the client uses. It is injected so that a caller can sign requests.
 *
 * A deployed stack authorizes every route with IAM by default, so its requests must be signed with
 * AWS Signature Version 4 (service `execute-api`, the stack's region). Signing is not built yet: pass a
 * `fetch` that signs (for example with `@smithy/signature-v4` and the default credential provider) and
 * the rest of the CLI works unchanged. With the JWT authorizer, a `fetch` that adds the bearer token
 * does the same job.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** A {@link FetchLike} that holds sockets open until it is closed. */
export interface KeepAliveFetch extends FetchLike {
  /** Destroys the kept-alive sockets. */
  close(): void;
}

/** Statuses whose answer has no body; `new Response` refuses one. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A {@link FetchLike} over `node:http` keep-alive sockets, lighter than the global `fetch`, so that a load
 * generator (the benchmark) costs little beside what it measures. Plain HTTP only: it is for the local runtime.
 */
export function keepAliveFetch(options: { readonly maxSockets?: number } = {}): KeepAliveFetch {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const send = (url: URL, init: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const data = init.body === undefined || init.body === null ? undefined : Buffer.from(String(init.body));
      const headers: Record<string, string | number> = Object.fromEntries(new Headers(init.headers));
      if (data) headers['content-length'] = data.length;
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: init.method ?? 'GET',
          path: `${url.pathname}${url.search}`,
          agent,
          headers,
          ...(init.signal && { signal: init.signal }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const body = NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks);
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers))
              if (typeof value === 'string') responseHeaders.set(name, value);
            resolve(new Response(body, { status, statusText: res.statusMessage, headers: responseHeaders }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // An abort by the caller's signal fails as the signal's reason, as fetch does (a TimeoutError).
        if (init.signal?.aborted) reject(init.signal.reason);
        else
          reject(
            req.reusedSocket && error.code === 'ECONNRESET'
              ? Object.assign(error, { reusedSocket: true })
              : error,
          );
      });
      req.end(data);
    });
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const target = new URL(url);
    try {
      return await send(target, init);
    } catch (error) {
      // A kept-alive socket the server closed just as it was reused: the request never reached the server, so
      // sending it again is safe (https://nodejs.org/api/http.html#requestreusedsocket).
      if ((error as { reusedSocket?: boolean }).reusedSocket) return send(target, init);
      throw error;
    }
  };
  return Object.assign(fetch, { close: () => agent.destroy() });
}

/** The API answered with an error status, or with a body that is not the contract's. */
export class ApiError extends Error {
  public constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details?: readonly ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The request never got an HTTP answer: connection refused, DNS failure, or the client's timeout. */
export class NetworkError extends Error {
  public constructor(
    public readonly code: 'Unreachable' | 'Timeout',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

export interface TaskQueueClientOptions {
  /** Base URL of the task API, e.g. `http://127.0.0.1:3000` or an API Gateway stage URL. */
  readonly endpoint: string;
  /**
   * Performs the HTTP requests; see {@link FetchLike} for signing.
   * @default globalThis.fetch - unsigned requests
   */
  readonly fetch?: FetchLike;
  /**
   * How long one request may take before it fails with a `NetworkError` of code `Timeout`.
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/** A new task, as POST /tasks takes it. */
export interface SubmitTaskInput {
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** @default - the API's default, `low` */
  readonly priority?: Priority;
  /** @default - no idempotency: every call creates a task */
  readonly idempotencyKey?: string;
  /** @default - delivered at once */
  readonly delaySeconds?: number;
  /** The task's tenant (`tenant_id`): the queue's `tenantMaxConcurrency` caps its running tasks. @default - none */
  readonly tenantId?: string;
}

/** What an async agent last reported of its progress (its latest heartbeat). */
export interface TaskProgressView {
  /** 0 to 100. */
  readonly percent?: number;
  readonly message?: string;
}

/**
 * GET /tasks/{id} as the CLI reads it: the task view, plus what a RUNNING task of an async agent shows. The fields
 * are optional: a sync task, or an API from before async agents, sends none of them.
 */
export type TaskDetails = TaskView & {
  /** The last progress its agent reported. */
  readonly progress?: TaskProgressView;
  /** The last heartbeat (ISO 8601). */
  readonly heartbeat_at?: string;
  /** When the running attempt counts as lost unless a heartbeat or completion comes first (ISO 8601). */
  readonly deadline?: string;
  /** A client asked to cancel the running attempt; its agent learns it from its next heartbeat's answer. */
  readonly cancel_requested?: boolean;
};

/** What DELETE /tasks/{id} did. */
export interface CancelResult {
  readonly task: TaskDetails;
  /**
   * True when the API answered 202: the task is RUNNING on an async agent, cancellation is requested and its agent
   * is told at its next heartbeat. False when it answered 200: the task is CANCELLED.
   */
  readonly requested: boolean;
}

/** The body of a 202 (or of a 200 replay) from POST /tasks. */
export type SubmittedTask = Pick<TaskView, 'task_id' | 'status' | 'type' | 'priority' | 'created_at'>;

export interface SubmitResult {
  readonly task: SubmittedTask;
  /** True when the API answered 200: the idempotency key named an existing task and nothing new was queued. */
  readonly replayed: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export class TaskQueueClient {
  private readonly baseUrl: string;
  private readonly fetch: FetchLike;
  private readonly requestTimeoutMs: number;

  public constructor(options: TaskQueueClientOptions) {
    this.baseUrl = options.endpoint.replace(/\/+$/, '');
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  public async submit(input: SubmitTaskInput): Promise<SubmitResult> {
    const body = {
      type: input.type,
      payload: input.payload,
      ...(input.priority !== undefined && { priority: input.priority }),
      ...(input.idempotencyKey !== undefined && { idempotency_key: input.idempotencyKey }),
      ...(input.delaySeconds !== undefined && { delay_seconds: input.delaySeconds }),
      ...(input.tenantId !== undefined && { tenant_id: input.tenantId }),
    };
    const { status, body: task } = await this.request<SubmittedTask>('POST', '/tasks', body);
    return { task, replayed: status === 200 };
  }

  public async get(taskId: string): Promise<TaskDetails> {
    return (await this.request<TaskDetails>('GET', taskPath(taskId))).body;
  }

  /**
   * Cancels a QUEUED or RETRYING task (200), or asks the agent of a RUNNING async task to stop (202). The API
   * answers 409 `NotCancellable` for a task that ended, or that runs on a sync agent.
   */
  public async cancel(taskId: string): Promise<CancelResult> {
    const { status, body } = await this.request<TaskDetails>('DELETE', taskPath(taskId));
    return { task: body, requested: status === 202 };
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError')
        throw new NetworkError(
          'Timeout',
          `${method} ${url} got no answer within ${this.requestTimeoutMs} ms`,
          {
            cause: error,
          },
        );
      throw new NetworkError('Unreachable', `cannot reach ${url}: ${reason(error)}`, { cause: error });
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw toApiError(response, parsed, text);
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null)
      throw new ApiError(
        response.status,
        'InvalidResponse',
        `${method} ${url} answered without a JSON object`,
      );
    return { status: response.status, body: parsed as T };
  }
}

function taskPath(taskId: string): string {
  return `/tasks/${encodeURIComponent(taskId)}`;
}

/** Exactly (json-text.ts): a result's `9007199254740993` is printed as the API sent it. */
function parseJson(text: string): unknown {
  try {
    return parseExactJson(text);
  } catch {
    return undefined;
  }
}

/** The contract's error body is `{ error: { code, message, details? } }`; a gateway may send anything. */
function toApiError(response: Response, parsed: unknown, text: string): ApiError {
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
    ?.error;
  if (error && typeof error.code === 'string') {
    const message = typeof error.message === 'string' ? error.message : response.statusText;
    const details = Array.isArray(error.details) ? (error.details as ErrorDetail[]) : undefined;
    return new ApiError(response.status, error.code, message, details);
  }
  // API Gateway's own answers (e.g. 403 from IAM auth) are `{ "message": "..." }`.
  const gatewayMessage = (parsed as { message?: unknown } | undefined)?.message;
  const message =
    typeof gatewayMessage === 'string' ? gatewayMessage : text.trim().slice(0, 200) || response.statusText;
  return new ApiError(response.status, `Http${response.status}`, message);
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
