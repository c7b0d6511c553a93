/**
 * The local dashboard (`GET /_local/dashboard`): a page of plain HTML, CSS and one script, with uPlot for its charts,
 * all served by the runtime itself from local/dashboard/assets and the uplot package (no build step, no CDN), and
 * the JSON it polls:
 *
 *   GET  /_local/dashboard/api/overview             tiers, agents, 15-minute series (collector.ts)
 *   GET  /_local/dashboard/api/tasks?status=&type=&tier=&limit=
 *   GET  /_local/dashboard/api/tasks/{id}           record, API view (deliveries), messages still queued
 *   GET  /_local/dashboard/api/dlq                  dead letters per tier
 *   GET  /_local/dashboard/api/session              whether this browser holds the run's secret
 *   POST /_local/dashboard/api/dlq/{tier}/redrive   the code of `taskq dlq redrive` (cli/dlq/operations.ts)
 *   POST /_local/dashboard/api/dlq/{tier}/purge     the code of `taskq dlq purge`
 *   POST /_local/dashboard/api/tasks/{id}/cancel    DELETE /tasks/{id} of the task API
 *
 * Every request is checked by security.ts before anything else; actions also need the run's secret.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { FauxqsServer } from 'fauxqs';
import { DeadLetterQueue, toDeadLetter } from '../../cli/dlq/dead-letter-queue';
import { toRow } from '../../cli/dlq/format';
import { purgeTier, redriveTier, type TierTarget } from '../../cli/dlq/operations';
import { DynamoLimiter } from '../../lambda/adapters/dynamodb-limiter';
import { DynamoTaskStore } from '../../lambda/adapters/dynamodb-task-store';
import type { CounterState } from '../../lambda/core/limits';
import { type Priority, TASK_ID_PATTERN } from '../../lambda/core/task';
import type { HttpRoute } from '../http-api';
import { DashboardCollector, type TaskRow } from './collector';
import type { TaskQueueLayout, TierLayout } from './layout';
import {
  checkHost,
  checkOrigin,
  checkToken,
  cookieValue,
  DASHBOARD_PATH,
  newToken,
  type Refusal,
  SECURITY_HEADERS,
  TOKEN_COOKIE,
  TOKEN_HEADER,
  tokenCookie,
} from './security';
import { asReceived, heldMessages, queueState, scanTable, watchQueueEvents } from './sources';
import { DEFAULT_TASK_LIMIT, filterProblem, findRecord, listTasks, shownRecord, taskMessages } from './tasks';

export interface DashboardOptions {
  readonly stackName: string;
  readonly layouts: readonly TaskQueueLayout[];
  /** The task API's URL (`http://127.0.0.1:<port>`): its port is the only one `Host` may name. */
  readonly apiUrl: string;
  readonly fauxqs: Pick<FauxqsServer, 'inspectQueue' | 'spy'>;
  /** For the DLQ actions: queue URLs name their own endpoint. */
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  /** @default - a fresh random secret */
  readonly token?: string;
  /** Seconds between two points of the series. @default 5 */
  readonly sampleSeconds?: number;
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface LocalDashboard {
  readonly routes: readonly HttpRoute[];
  readonly token: string;
  /** The URL the banner prints: the page, with the secret that enables its actions. */
  readonly url: string;
  readonly collector: DashboardCollector;
  start(): void;
  stop(): Promise<void>;
}

/** A dashboard request, as the handlers see it. */
export interface DashboardRequest {
  readonly method: string;
  /** Under /_local/dashboard: `''`, `/api/overview`, … */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly cookies: readonly string[];
  readonly body?: string;
}

export interface DashboardResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly cookies?: string[];
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * The files under /_local/dashboard/assets/, read once at start. uPlot draws the charts: its browser-ready build
 * (about 50 KB minified, no dependencies) is served as the package ships it, so the page needs no build step and no
 * CDN. It is found through its package.json, which resolves from this repository and from an installed taskq alike.
 */
function assetFiles(assetsDir: string): Readonly<Record<string, { type: string; file: string }>> {
  const uplot = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
  return {
    'app.js': { type: JS, file: path.join(assetsDir, 'app.js') },
    'style.css': { type: CSS, file: path.join(assetsDir, 'style.css') },
    'uplot.js': { type: JS, file: path.join(uplot, 'uPlot.iife.min.js') },
    'uplot.css': { type: CSS, file: path.join(uplot, 'uPlot.min.css') },
  };
}

const json = (
  statusCode: number,
  value: unknown,
  extra: Partial<DashboardResponse> = {},
): DashboardResponse => ({
  statusCode,
  headers: { ...SECURITY_HEADERS, 'content-type': 'application/json' },
  body: JSON.stringify(value),
  ...extra,
});

const problem = (statusCode: number, code: string, message: string) =>
  json(statusCode, { error: { code, message } });

const refuse = (refusal: Refusal) => problem(403, refusal.code, refusal.message);

/** The agent figures read only what they need of each task. */
const AGENT_FIELDS = [
  'task_id',
  'type',
  'status',
  'started_at',
  'finished_at',
  'agent_mode',
  'progress',
  'heartbeat_at',
  'lease_until',
] as const;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function createDashboard(options: DashboardOptions): LocalDashboard {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const token = options.token ?? newToken();
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const port = Number(new URL(apiUrl).port || 80);
  const { layouts, fauxqs, dynamodb } = options;
  const assetsDir = path.join(__dirname, 'assets');
  const page = readFileSync(path.join(assetsDir, 'index.html'), 'utf8');
  const assets = new Map(
    Object.entries(assetFiles(assetsDir)).map(([name, { type, file }]) => [
      name,
      { type, body: readFileSync(file, 'utf8') },
    ]),
  );

  const collector = new DashboardCollector(
    {
      stackName: options.stackName,
      layouts,
      now,
      queueState: (name) => queueState(fauxqs, name),
      tasks: (layout) => scanTable<TaskRow>(dynamodb, layout.tableName, AGENT_FIELDS),
      counters: async (layout): Promise<ReadonlyMap<string, CounterState>> =>
        layout.limitsTableName ? new DynamoLimiter(dynamodb, layout.limitsTableName).counters() : new Map(),
    },
    options.sampleSeconds,
  );
  let unwatch: (() => void) | undefined;
  const running = new Set<string>();

  const tierOf = (
    req: DashboardRequest,
    tier: string,
  ): { layout: TaskQueueLayout; tier: TierLayout } | undefined => {
    const layout = req.query.queue ? layouts.find((l) => l.queue === req.query.queue) : layouts[0];
    const found = layout?.tiers.find((t) => t.tier === tier);
    return layout && found ? { layout, tier: found } : undefined;
  };
  const target = (t: TierLayout): TierTarget => ({
    tier: t.tier as Priority,
    deadLetterQueue: new DeadLetterQueue(options.sqs, t.deadLetterQueueUrl),
    sourceQueueUrl: t.queueUrl,
  });

  const deadLetters = async () => {
    const date = new Date(now());
    const tiers = [];
    for (const layout of layouts) {
      const store = new DynamoTaskStore(dynamodb, layout.tableName);
      for (const t of layout.tiers) {
        const held = heldMessages(fauxqs, t.deadLetterQueueName);
        const messages = held.slice(0, 100).map((h) => toDeadLetter(asReceived(h.message)));
        const ids = [...new Set(messages.flatMap((m) => (m.taskId ? [m.taskId] : [])))];
        const records = await store.getMany(ids);
        tiers.push({
          queue: layout.queue,
          tier: t.tier,
          dead_letter_queue_url: t.deadLetterQueueUrl,
          depth: held.length,
          dead_letters: messages.map((message) => {
            const record = message.taskId ? records.get(message.taskId) : undefined;
            return toRow(t.tier, { message, ...(record && { record }) }, date);
          }),
        });
      }
    }
    return { tiers };
  };

  const taskPage = async (taskId: string) => {
    const found = await findRecord(dynamodb, layouts, taskId);
    if (!found) return problem(404, 'TaskNotFound', `no task ${taskId} in the task table`);
    const viewResponse = await doFetch(`${apiUrl}/tasks/${taskId}`, {
      headers: { accept: 'application/json' },
    });
    const view = viewResponse.ok ? ((await viewResponse.json()) as unknown) : null;
    const messages = taskMessages(taskId, found.layout, (name) => heldMessages(fauxqs, name));
    return json(200, {
      task_id: taskId,
      queue: found.layout.queue,
      record: shownRecord(found.record),
      view,
      messages,
      payload_note:
        messages.length > 0
          ? 'The payload is shown while a queue holds the message; the task record does not keep it.'
          : 'No queue holds a message of this task any more: the payload is gone (the task record does not keep it).',
    });
  };

  const action = async (key: string, run: () => Promise<DashboardResponse>) => {
    if (running.has(key)) return problem(409, 'ActionRunning', `an action on ${key} is still running`);
    running.add(key);
    try {
      return await run();
    } catch (error) {
      return problem(502, (error as Error).name || 'ActionFailed', (error as Error).message);
    } finally {
      running.delete(key);
    }
  };

  const handleAction = async (req: DashboardRequest): Promise<DashboardResponse> => {
    const dlq = /^\/api\/dlq\/([^/]+)\/(redrive|purge)$/.exec(req.path);
    if (dlq) {
      const found = tierOf(req, dlq[1]!);
      if (!found)
        return problem(
          404,
          'TierNotFound',
          `no tier ${dlq[1]} (${layouts.flatMap((l) => l.tiers.map((t) => t.tier)).join(', ')})`,
        );
      let body: { task_id?: unknown } = {};
      if (req.body) {
        try {
          body = JSON.parse(req.body) as typeof body;
        } catch {
          return problem(400, 'InvalidJson', 'the body must be JSON, e.g. {} or {"task_id": "…"}');
        }
      }
      const taskId = body?.task_id;
      if (taskId !== undefined && (typeof taskId !== 'string' || !TASK_ID_PATTERN.test(taskId)))
        return problem(400, 'InvalidTaskId', 'task_id must be a task id (a lowercase UUID)');
      const store = new DynamoTaskStore(dynamodb, found.layout.tableName);
      const key = `${found.layout.queue}/${found.tier.tier}`;
      if (dlq[2] === 'purge')
        return action(key, async () =>
          json(200, await purgeTier(target(found.tier), store, { now: () => new Date(now()) })),
        );
      return action(key, async () => {
        const warnings: string[] = [];
        const result = await redriveTier(target(found.tier), store, {
          now: () => new Date(now()),
          pollIntervalMs: 1000,
          sleep,
          progressBar: () => ({ update: () => {}, stop: () => {} }),
          warn: (text) => warnings.push(text),
          ...(typeof taskId === 'string' && { taskId }),
        });
        options.log?.(`[dashboard] redrive ${key}: ${result.requeued.length} task(s) requeued`);
        return json(200, { ...result, warnings });
      });
    }
    const cancel = /^\/api\/tasks\/([^/]+)\/cancel$/.exec(req.path);
    if (cancel) {
      const taskId = cancel[1]!;
      if (!TASK_ID_PATTERN.test(taskId))
        return problem(400, 'InvalidTaskId', 'the task id must be a lowercase UUID');
      const answer = await doFetch(`${apiUrl}/tasks/${taskId}`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      });
      const text = await answer.text();
      return {
        statusCode: answer.status,
        headers: { ...SECURITY_HEADERS, 'content-type': 'application/json' },
        body: text,
      };
    }
    return problem(404, 'NotFound', `no dashboard action ${req.method} ${DASHBOARD_PATH}${req.path}`);
  };

  const handleRead = async (req: DashboardRequest): Promise<DashboardResponse> => {
    if (req.path === '' || req.path === '/' || /^\/tasks\/[^/]+$/.test(req.path)) {
      const given = req.query.token;
      if (given !== undefined && checkToken({ header: given }, token) === undefined)
        // Keep the secret in a cookie and take it out of the address bar and the history.
        return {
          statusCode: 303,
          headers: { ...SECURITY_HEADERS, location: `${DASHBOARD_PATH}${req.path === '/' ? '' : req.path}` },
          body: '',
          cookies: [tokenCookie(token)],
        };
      return {
        statusCode: 200,
        headers: { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' },
        body: page,
      };
    }
    const asset = /^\/assets\/([\w.-]+)$/.exec(req.path);
    if (asset) {
      const found = assets.get(asset[1]!);
      if (!found) return problem(404, 'NotFound', `no asset ${asset[1]}`);
      return {
        statusCode: 200,
        headers: { ...SECURITY_HEADERS, 'content-type': found.type },
        body: found.body,
      };
    }
    if (req.path === '/api/overview') return json(200, await collector.overview());
    if (req.path === '/api/session') {
      const refused = checkToken(
        { cookie: cookieValue(req.cookies, TOKEN_COOKIE), header: req.headers[TOKEN_HEADER] },
        token,
      );
      return json(200, { actions: refused === undefined, ...(refused && { reason: refused }) });
    }
    if (req.path === '/api/dlq') return json(200, await deadLetters());
    if (req.path === '/api/tasks') {
      const tiers = [...new Set(layouts.flatMap((l) => l.tiers.map((t) => t.tier)))];
      const bad = filterProblem(req.query, tiers);
      if (bad) return problem(400, 'InvalidFilter', bad);
      const result = await listTasks(dynamodb, layouts, {
        ...(req.query.status && { status: req.query.status }),
        ...(req.query.type && { type: req.query.type }),
        ...(req.query.tier && { tier: req.query.tier }),
        limit: req.query.limit ? Number(req.query.limit) : DEFAULT_TASK_LIMIT,
      });
      return json(200, result);
    }
    const task = /^\/api\/tasks\/([^/]+)$/.exec(req.path);
    if (task) {
      if (!TASK_ID_PATTERN.test(task[1]!))
        return problem(400, 'InvalidTaskId', 'the task id must be a lowercase UUID');
      return taskPage(task[1]!);
    }
    return problem(404, 'NotFound', `nothing at ${DASHBOARD_PATH}${req.path}`);
  };

  /** Every request: Host first; then, for actions, Origin and the secret. */
  const handle = async (req: DashboardRequest): Promise<DashboardResponse> => {
    const foreignHost = checkHost(req.headers.host, port);
    if (foreignHost) return refuse(foreignHost);
    if (req.method === 'GET' || req.method === 'HEAD') return handleRead(req);
    if (req.method !== 'POST')
      return problem(405, 'MethodNotAllowed', `${req.method} is not a dashboard method (GET, POST)`);
    const foreignOrigin = checkOrigin(req.headers.origin, port);
    if (foreignOrigin) return refuse(foreignOrigin);
    const refused = checkToken(
      { cookie: cookieValue(req.cookies, TOKEN_COOKIE), header: req.headers[TOKEN_HEADER] },
      token,
    );
    if (refused) return refuse(refused);
    return handleAction(req);
  };

  const invoke = async (event: APIGatewayProxyEventV2) => {
    const body =
      event.body === undefined
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    const response = await handle({
      method: event.requestContext.http.method.toUpperCase(),
      path: event.rawPath.slice(DASHBOARD_PATH.length),
      query: event.queryStringParameters ?? {},
      headers: event.headers,
      cookies: event.cookies ?? [],
      ...(body !== undefined && { body }),
    });
    return { ok: true as const, result: response };
  };

  return {
    routes: [
      { routeKey: `ANY ${DASHBOARD_PATH}`, invoke },
      { routeKey: `ANY ${DASHBOARD_PATH}/{proxy+}`, invoke },
    ],
    token,
    url: `${apiUrl}${DASHBOARD_PATH}?token=${token}`,
    collector,
    start: () => {
      unwatch ??= watchQueueEvents(fauxqs.spy, (event) => {
        if (event.status === 'published') collector.recordSent(event.queueName, event.timestamp);
        else if (event.status === 'consumed') collector.recordDeleted(event.queueName, event.timestamp);
      });
      collector.start();
    },
    stop: async () => {
      unwatch?.();
      collector.stop();
    },
  };
}
