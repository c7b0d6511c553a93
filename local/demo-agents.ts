/**
 * The demo agents of the local configuration, served over real HTTP so that the consumer's
 * HTTP agent code path (timeouts, status classification, error bodies) runs locally as on AWS.
 *
 * Agent protocol: `POST /<type>` with the JSON body `{ task_id, type, payload, attempt }`; a 2xx
 * answer's JSON body is the task's result. 4xx (except 408 and 429) is a permanent failure; 5xx,
 * 408, 429 and timeouts are transient.
 *
 * `echo` parses its request exactly (json-text.ts), so its answer carries the payload's number literals
 * digit for digit. Two payload fields make it misbehave on purpose, for the fuzz and for tests of the
 * consumer's limits: `answer_bytes` (a 200 answer of that many bytes, streamed, never held in memory) and
 * `late_ms` (the first `late_attempts` attempts, default 1, answer only after that long).
 *
 * `limited` sleeps `payload.ms` (default 200) like `sleep`; the local stack registers it with a concurrency and a rate
 * limit (local-config.ts). It counts its own calls, so that a test can prove the limits with the agent's count rather
 * than the queue's: in process through `limited()`, and for a person at `GET /limited/stats` (loopback, like every
 * port of the runtime).
 *
 * `async-echo` is the asynchronous one (registered with `mode: 'async'`): it answers 202 at once, then heartbeats
 * and completes through the task's callback routes. Its protocol and its chaos knobs are in async-echo.ts; its runs
 * are held here, so that `close()` stops their timers and callbacks with the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseExactJson } from '../lambda/core/json-text';
import {
  AsyncEchoInputError,
  asyncEchoPlan,
  type CallbackRecord,
  parseCallback,
  type RunContext,
  runAsyncEcho,
} from './async-echo';
import { LOOPBACK } from './loopback';

export interface DemoAgentsOptions {
  /**
   * Port to listen on.
   * @default 0 - a free port chosen by the system
   */
  readonly port?: number;
  /**
   * Runs before each agent answers; fault injection uses it to make agents slow or hang past their timeout.
   * @default - none
   */
  readonly beforeAnswer?: (request: AgentRequest) => Promise<void>;
  /**
   * Pause before the first retry of an async agent's callback (429, 5xx or no answer); each retry doubles it, up
   * to 16 times as long.
   * @default 250
   */
  readonly callbackRetryBaseMs?: number;
}

export interface DemoAgents {
  /** Base URL without a trailing slash; agent `t` is served at `${url}/t`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening, ends pending sleeps and drops open connections. */
  close(): Promise<void>;
  /** Requests received for one agent type, or for all of them when `type` is left out. */
  calls(type?: string): number;
  /**
   * Successful executions for one task, or the map of all of them: 2xx answers the caller received, and for an
   * async agent, completions with a result that the API answered 2xx (once per run, however often it was sent).
   * A chaos run compares these with the tasks' statuses to prove "ran once".
   */
  successes(): ReadonlyMap<string, number>;
  /**
   * Requests that arrived for a task while an earlier request for the same task was still open (its agent
   * still working, whether or not its caller had given up): executions of one task that overlapped. An async
   * agent's run is open from its request until its last callback, so a late run that a newer attempt overtook
   * counts here.
   */
  overlaps(): ReadonlyMap<string, number>;
  /** Every callback the async agents made, in order (their final answers, not each retry). */
  callbacks(): readonly CallbackRecord[];
  /** Async runs started (a 202 that reached its caller) and those still going (not yet completed or stopped). */
  asyncRuns(): { readonly started: number; readonly active: number };
  /** Per task, the attempt numbers of the async runs started for it, in the order they started. */
  asyncRunAttempts(): ReadonlyMap<string, readonly number[]>;
  /** The `limited` agent's own count of its calls (also served at `GET /limited/stats`). */
  limited(): LimitedStats;
}

/** One call of the `limited` agent, as the agent saw it. */
export interface LimitedCall {
  readonly task_id: string;
  /** The task's tenant, when it has one. */
  readonly tenant_id?: string;
  readonly attempt: number;
  /** Epoch milliseconds when the agent started on the call. */
  readonly received_ms: number;
  /** Epoch milliseconds when it answered; absent while it runs. */
  answered_ms?: number;
  /** `limited` calls running when this one started, itself included. */
  readonly in_flight: number;
  /** Calls of the same tenant running when this one started, itself included; absent without a tenant. */
  readonly tenant_in_flight?: number;
}

/** What the `limited` agent counted: calls running now, the most it ever ran at once, and each call. */
export interface LimitedStats {
  readonly current: number;
  readonly max: number;
  /** The calls in the order they started (the latest {@link MAX_REMEMBERED_CALLS}). */
  readonly calls: readonly LimitedCall[];
}

/** The agent types this server answers. */
export const DEMO_AGENT_TYPES = ['echo', 'sleep', 'flaky', 'poison', 'limited', 'async-echo'] as const;
export type DemoAgentType = (typeof DEMO_AGENT_TYPES)[number];
/** The demo types that speak the asynchronous protocol: the local stack registers them with `mode: 'async'`. */
export const ASYNC_DEMO_AGENT_TYPES: readonly DemoAgentType[] = ['async-echo'];
/**
 * Tokens of earlier attempts kept for `stale_token`, and attempts of runs for `complete_late` and
 * `asyncRunAttempts()` (the oldest task's are dropped past this many tasks).
 */
const MAX_REMEMBERED_TASKS = 10_000;
/** Calls of `limited` kept for `limited()` (the oldest are dropped past this many): a bench's run fits. */
export const MAX_REMEMBERED_CALLS = 100_000;
/** How long `limited` works when the payload does not say (`payload.ms`). */
export const LIMITED_DEFAULT_MS = 200;
/** What `sleep` waits when the payload has no `ms`: so that a task published to `demo.fanout` with any payload succeeds. */
export const SLEEP_DEFAULT_MS = 100;

/** The longest a `sleep` task waits, so a typo cannot hold a consumer for hours. */
export const MAX_SLEEP_MS = 60_000;
/** Agent requests are small; anything larger is refused before it is buffered. */
const MAX_BODY_BYTES = 1024 * 1024;
/** The largest `echo` answer `payload.answer_bytes` may ask for (1 GiB): streamed, so it costs no memory. */
export const MAX_ANSWER_BYTES = 1024 ** 3;
const ANSWER_CHUNK_BYTES = 64 * 1024;
/** Where the `limited` agent's own count is served. */
export const LIMITED_STATS_PATH = '/limited/stats';

export interface AgentRequest {
  readonly task_id?: unknown;
  readonly type?: unknown;
  readonly payload?: unknown;
  readonly attempt?: unknown;
  /** Sent to async agents only: `{ url, token, heartbeat_seconds }`. */
  readonly callback?: unknown;
  readonly deadline?: unknown;
  /** Sent when the task has a tenant. */
  readonly tenant_id?: unknown;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** A 200 body of this many bytes, streamed instead of `body`. */
  readonly streamBytes?: number;
  /** An async agent's work, started once its 202 has reached the caller; resolves when the run is over. */
  readonly run?: () => Promise<void>;
}

class BadRequestError extends Error {
  public constructor(
    message: string,
    public readonly status = 400,
    public readonly code = 'BadRequest',
  ) {
    super(message);
    this.name = 'BadRequestError';
  }
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function isDemoAgentType(value: string): value is DemoAgentType {
  return (DEMO_AGENT_TYPES as readonly string[]).includes(value);
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequestError(`the body is over ${MAX_BODY_BYTES} bytes`, 413, 'PayloadTooLarge'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseRequest(text: string): AgentRequest {
  let value: unknown;
  try {
    value = parseExactJson(text);
  } catch {
    throw new BadRequestError('the body is not valid JSON', 400, 'InvalidJson');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadRequestError('the body must be a JSON object { task_id, type, payload, attempt }');
  return value as AgentRequest;
}

function requireAttempt(request: AgentRequest): number {
  const { attempt } = request;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1)
    throw new BadRequestError(
      `attempt must be an integer of 1 or more, but ${JSON.stringify(attempt)} was sent`,
    );
  return attempt;
}

/**
 * How long `sleep` (and `limited`) waits for a payload: `payload.ms`, a finite number of 0 or more, capped at
 * {@link MAX_SLEEP_MS}; `defaultMs` when the payload has no `ms`. Throws for anything else; the server answers
 * that with 400.
 */
export function sleepDurationMs(payload: unknown, defaultMs?: number): number {
  const ms = asObject(payload).ms ?? defaultMs;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
    throw new BadRequestError(`payload.ms must be a number of 0 or more, but ${JSON.stringify(ms)} was sent`);
  return Math.min(Math.round(ms), MAX_SLEEP_MS);
}

function flakyFailures(payload: unknown): number {
  const failures = asObject(payload).failures ?? 1;
  if (typeof failures !== 'number' || !Number.isInteger(failures) || failures < 0)
    throw new BadRequestError(
      `payload.failures must be an integer of 0 or more, but ${JSON.stringify(failures)} was sent`,
    );
  return failures;
}

/** A payload field that must be an integer from 0 to `max` when present; undefined when absent. */
function optionalCount(payload: unknown, field: string, max: number): number | undefined {
  const value = asObject(payload)[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw new BadRequestError(
      `payload.${field} must be an integer from 0 to ${max}, but ${JSON.stringify(value)} was sent`,
    );
  return value;
}

/**
 * Streams a 200 JSON answer of exactly `bytes` bytes (at least the 15 of `{"padding":""}`), a chunk at a
 * time with backpressure, and stops when the caller goes away.
 */
async function streamAnswer(res: ServerResponse, bytes: number): Promise<void> {
  const head = '{"padding":"';
  const tail = '"}';
  let left = Math.max(0, bytes - head.length - tail.length);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': String(head.length + left + tail.length),
  });
  res.write(head);
  const chunk = Buffer.alloc(ANSWER_CHUNK_BYTES, 'x');
  while (left > 0 && !res.destroyed) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        // Whichever comes first; the other listener is removed, so a long answer does not pile them up.
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}

/**
 * Starts the demo agent server: `echo`, `sleep`, `flaky`, `poison`, `limited` and `async-echo`.
 * Resolves once it listens; `url` is ready to be written into the agent registry.
 */
export async function startDemoAgents(options: DemoAgentsOptions = {}): Promise<DemoAgents> {
  const counts = new Map<string, number>();
  const successes = new Map<string, number>();
  const overlaps = new Map<string, number>();
  const open = new Map<string, number>();
  const sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  const runs = new Set<Promise<void>>();
  let runsStarted = 0;
  const callbackRecords: CallbackRecord[] = [];
  /** Task id → the callback token of its latest attempt, for `stale_token`. */
  const tokens = new Map<string, string>();
  /** Task id → the attempts whose async run started. */
  const runAttempts = new Map<string, number[]>();
  const stopping = new AbortController();
  let closing = false;
  const limitedCalls: LimitedCall[] = [];
  let limitedCurrent = 0;
  let limitedMax = 0;
  /** Tenant id → its `limited` calls running now. */
  const limitedTenants = new Map<string, number>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      sleeps.add(entry);
    });

  const retryBaseMs = options.callbackRetryBaseMs ?? 250;
  const runContext: RunContext = {
    sleep,
    closing: () => closing,
    signal: stopping.signal,
    backoffMs: (retry) => retryBaseMs * 2 ** Math.min(retry - 1, 4),
    record: (entry) => callbackRecords.push(entry),
  };
  const countSuccess = (taskId: string) => successes.set(taskId, (successes.get(taskId) ?? 0) + 1);

  const agents: Record<DemoAgentType, (request: AgentRequest) => Promise<Reply>> = {
    echo: async (request) => {
      const answerBytes = optionalCount(request.payload, 'answer_bytes', MAX_ANSWER_BYTES);
      const lateMs = optionalCount(request.payload, 'late_ms', MAX_SLEEP_MS);
      const lateAttempts = optionalCount(request.payload, 'late_attempts', 1000) ?? 1;
      if (lateMs !== undefined && requireAttempt(request) <= lateAttempts) {
        await sleep(lateMs);
        if (closing) return { status: 503, body: errorBody('ShuttingDown', 'the agent server is stopping') };
      }
      if (answerBytes !== undefined) return { status: 200, body: undefined, streamBytes: answerBytes };
      return { status: 200, body: { echo: request.payload } };
    },
    sleep: async (request) => {
      const ms = sleepDurationMs(request.payload, SLEEP_DEFAULT_MS);
      await sleep(ms);
      if (closing) return { status: 503, body: errorBody('ShuttingDown', 'the agent server is stopping') };
      return { status: 200, body: { slept_ms: ms } };
    },
    flaky: async (request) => {
      const attempt = requireAttempt(request);
      const failures = flakyFailures(request.payload);
      if (attempt <= failures)
        return {
          status: 503,
          body: errorBody('FlakyFailure', `attempt ${attempt} of the first ${failures} fails on purpose`),
        };
      return { status: 200, body: { attempt } };
    },
    limited: async (request) => {
      const ms = sleepDurationMs(request.payload, LIMITED_DEFAULT_MS);
      const tenant = typeof request.tenant_id === 'string' ? request.tenant_id : undefined;
      limitedCurrent += 1;
      limitedMax = Math.max(limitedMax, limitedCurrent);
      const tenantInFlight = tenant === undefined ? undefined : (limitedTenants.get(tenant) ?? 0) + 1;
      if (tenant !== undefined) limitedTenants.set(tenant, tenantInFlight!);
      const call: LimitedCall = {
        task_id: String(request.task_id),
        ...(tenant !== undefined && { tenant_id: tenant, tenant_in_flight: tenantInFlight }),
        attempt: typeof request.attempt === 'number' ? request.attempt : 0,
        received_ms: Date.now(),
        in_flight: limitedCurrent,
      };
      limitedCalls.push(call);
      if (limitedCalls.length > MAX_REMEMBERED_CALLS) limitedCalls.shift();
      try {
        await sleep(ms);
      } finally {
        limitedCurrent -= 1;
        if (tenant !== undefined) {
          const left = (limitedTenants.get(tenant) ?? 1) - 1;
          if (left > 0) limitedTenants.set(tenant, left);
          else limitedTenants.delete(tenant);
        }
        call.answered_ms = Date.now();
      }
      if (closing) return { status: 503, body: errorBody('ShuttingDown', 'the agent server is stopping') };
      return { status: 200, body: { slept_ms: ms, in_flight: call.in_flight } };
    },
    poison: async () => ({
      status: 422,
      body: errorBody('PoisonTask', 'this task always fails permanently'),
    }),
    'async-echo': async (request) => {
      const attempt = requireAttempt(request);
      const taskId = String(request.task_id);
      const callback = parseCallback(request.callback);
      const plan = asyncEchoPlan(request.payload, attempt);
      const previousToken = tokens.get(taskId);
      return {
        status: 202,
        body: { accepted: true },
        run: () => {
          tokens.delete(taskId);
          tokens.set(taskId, callback.token);
          if (tokens.size > MAX_REMEMBERED_TASKS) tokens.delete(tokens.keys().next().value!);
          const attempts = runAttempts.get(taskId) ?? [];
          attempts.push(attempt);
          runAttempts.set(taskId, attempts);
          if (runAttempts.size > MAX_REMEMBERED_TASKS) runAttempts.delete(runAttempts.keys().next().value!);
          const runsBefore = attempts.length;
          return runAsyncEcho(
            {
              taskId,
              attempt,
              payload: request.payload,
              callback,
              plan,
              previousToken,
              newerAttemptStarted: () =>
                (runAttempts.get(taskId) ?? []).slice(runsBefore).some((a) => a > attempt),
            },
            runContext,
            () => countSuccess(taskId),
          );
        },
      };
    },
  };

  const send = (res: ServerResponse, reply: Reply, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(reply.body));
  };

  const limitedStats = (): LimitedStats => ({
    current: limitedCurrent,
    max: limitedMax,
    calls: limitedCalls,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://agents.local').pathname;
    if (path === LIMITED_STATS_PATH) {
      if (req.method === 'GET') send(res, { status: 200, body: limitedStats() });
      else
        send(
          res,
          { status: 405, body: errorBody('MethodNotAllowed', `${req.method} is not supported; use GET`) },
          { allow: 'GET' },
        );
      return;
    }
    const type = path.slice(1);
    if (!isDemoAgentType(type)) {
      send(res, { status: 404, body: errorBody('NotFound', `no demo agent at ${path}`) });
      return;
    }
    counts.set(type, (counts.get(type) ?? 0) + 1);
    if (req.method !== 'POST') {
      send(
        res,
        { status: 405, body: errorBody('MethodNotAllowed', `${req.method} is not supported; use POST`) },
        { allow: 'POST' },
      );
      return;
    }
    try {
      const request = parseRequest(await readBody(req));
      const taskId = String(request.task_id);
      // Open from here until the agent has answered (or dropped) this request, even after its caller gave up.
      // An async agent's run stays open until it is over.
      if ((open.get(taskId) ?? 0) > 0) overlaps.set(taskId, (overlaps.get(taskId) ?? 0) + 1);
      open.set(taskId, (open.get(taskId) ?? 0) + 1);
      const release = () => open.set(taskId, (open.get(taskId) ?? 1) - 1);
      let released = true;
      try {
        await options.beforeAnswer?.(request);
        const reply = await agents[type](request);
        const { run } = reply;
        if (run) {
          if (res.destroyed || closing) {
            send(res, { status: 503, body: errorBody('ShuttingDown', 'the agent server is stopping') });
            return;
          }
          released = false;
          // The run starts once its 202 has reached the caller: a caller that gave up first (timed out) retries,
          // and the agent must not work on an attempt the queue counts as failed.
          res.once('close', () => {
            if (!res.writableFinished || closing) {
              release();
              return;
            }
            const running = run().finally(() => {
              runs.delete(running);
              release();
            });
            runs.add(running);
            runsStarted += 1;
          });
        } else if (reply.status >= 200 && reply.status < 300 && !res.destroyed) {
          // Counted once the answer is handed to the socket: a caller that gave up (timed out) gets nothing.
          res.once('finish', () => countSuccess(taskId));
        }
        if (reply.streamBytes !== undefined) {
          if (!res.headersSent && !res.destroyed) await streamAnswer(res, reply.streamBytes);
        } else send(res, reply);
      } finally {
        if (released) release();
      }
    } catch (error) {
      if (error instanceof BadRequestError) {
        send(res, { status: error.status, body: errorBody(error.code, error.message) });
        return;
      }
      if (error instanceof AsyncEchoInputError) {
        send(res, { status: 400, body: errorBody('BadRequest', error.message) });
        return;
      }
      send(res, { status: 500, body: errorBody('InternalError', (error as Error).message) });
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    successes: () => successes,
    overlaps: () => overlaps,
    callbacks: () => callbackRecords,
    asyncRuns: () => ({ started: runsStarted, active: runs.size }),
    asyncRunAttempts: () => runAttempts,
    limited: limitedStats,
    calls: (type?: string) =>
      type === undefined ? [...counts.values()].reduce((sum, n) => sum + n, 0) : (counts.get(type) ?? 0),
    close: async () => {
      closing = true;
      stopping.abort();
      for (const entry of sleeps) {
        clearTimeout(entry.timer);
        entry.wake();
      }
      sleeps.clear();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
        // Woken sleeps answer 503 on the next tick; give them that tick, then drop what is left.
        setImmediate(() => server.closeAllConnections());
      });
      // Async runs see `closing` at their next step (their sleeps woken, their callbacks aborted) and return.
      await Promise.allSettled([...runs]);
    },
  };
}
