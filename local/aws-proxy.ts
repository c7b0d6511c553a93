/**
 * A pass-through HTTP proxy in front of the local AWS emulators. The Lambda workers' AWS_ENDPOINT_URL_* point
 * here, so the local runtime sees every AWS call a handler makes, without a line of local-mode code in the
 * handlers: the benchmarks count requests per service and operation, and fault injection answers some calls
 * with the errors AWS itself would send.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsHttpRequest, HttpReply } from './lambda-api';
import { LOOPBACK, refuseForeign } from './loopback';

/**
 * SNS calls get a port of their own, so that a fault plan can tell a Publish from an SQS call by its service.
 * Lambda calls (a function invoking another) are answered by the local Lambda API (lambda-api.ts).
 */
export type AwsService = 'sqs' | 'dynamodb' | 'sns' | 'lambda' | 's3';

export interface AwsCall {
  readonly service: AwsService;
  /** The API operation, e.g. `SendMessage` or `UpdateItem`. */
  readonly operation: string;
  readonly body: Buffer;
  /** The caller's `AWS_SDK_UA_APP_ID`, which the local runtime sets to the worker's id. */
  readonly appId?: string;
}

/** An answer the proxy gives instead of forwarding the call. */
export interface ProxyReply {
  /** Never answer: the caller is about to die (injected worker death). */
  readonly hang?: boolean;
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AwsInterceptor {
  /** Before forwarding: return a reply to answer in the emulator's place, or nothing to forward. */
  before?(call: AwsCall): ProxyReply | undefined | Promise<ProxyReply | undefined>;
  /**
   * After the emulator answered, before the caller gets the answer. Returning `'hang'` keeps the answer from
   * the caller (whose worker is being killed).
   */
  after?(call: AwsCall, status: number): 'hang' | undefined | Promise<'hang' | undefined>;
}

export interface AwsProxy {
  /** Endpoint URL that stands in for a service. */
  endpoint(service: AwsService): string;
  /** Calls seen, keyed `service:Operation`. */
  counts(): Record<string, number>;
  /**
   * The same calls by the function that made them (the logical id in its SDK app id, cut at 40 characters as the
   * runtime sets it), then `service:Operation`; calls without an app id are left out.
   */
  countsByFunction(): Record<string, Record<string, number>>;
  /** The messages the SQS SendMessageBatch calls of each function carried (same keys as `countsByFunction`). */
  batchEntriesByFunction(): Record<string, number>;
  /**
   * DynamoDB calls by the table they name (the first `TableName` of the request: a transaction's first item's),
   * then operation; a call that names none (BatchGetItem, BatchWriteItem) is counted under `''`. Calls the
   * emulator answered 400 (a condition that failed, a transaction cancelled) are counted again under
   * `<Operation>:400`.
   */
  countsByTable(): Record<string, Record<string, number>>;
  resetCounts(): void;
  close(): Promise<void>;
}

/** The entries of an SQS SendMessageBatch request (JSON protocol; 0 when the body is not JSON). */
function batchEntries(body: Buffer): number {
  try {
    const entries = (JSON.parse(body.toString('utf8')) as { Entries?: unknown }).Entries;
    return Array.isArray(entries) ? entries.length : 0;
  } catch {
    return 0;
  }
}

/**
 * The operation of an AWS JSON-protocol request (`X-Amz-Target: DynamoDB_20120810.PutItem`), a query-protocol
 * one, or a Lambda rest-json one (`POST /2015-03-31/functions/{name}/invocations` is `Invoke`).
 */
export function operationOf(
  headers: http.IncomingHttpHeaders,
  body: Buffer,
  url = '',
  method = 'POST',
): string {
  if (/^\/2015-03-31\/functions\/[^/]+\/invocations/.test(url)) return 'Invoke';
  const object = S3_OBJECT_OPERATIONS[method];
  // S3's REST protocol: an object's operation is its method on a path-style `/<bucket>/<key>`.
  if (object && /^\/[^/?]+\/[^?]/.test(url) && headers['x-amz-target'] === undefined) return object;
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('utf8'));
  return action?.[1] ?? 'Unknown';
}

/** S3 object operations by HTTP method (path-style requests, as the SDK sends them to an IP endpoint). */
const S3_OBJECT_OPERATIONS: Readonly<Record<string, string>> = {
  PUT: 'PutObject',
  GET: 'GetObject',
  HEAD: 'HeadObject',
  DELETE: 'DeleteObject',
};

/** The first table a DynamoDB request names, or `''`. */
export function tableOf(body: Buffer): string {
  return /"TableName"\s*:\s*"([^"]+)"/.exec(body.toString('utf8'))?.[1] ?? '';
}

function appIdOf(headers: http.IncomingHttpHeaders): string | undefined {
  const ua = `${headers['x-amz-user-agent'] ?? ''} ${headers['user-agent'] ?? ''}`;
  // The runtime sets `<LogicalId>.<n>`; libraries may append their own suffix (Powertools adds `-PT-…`).
  return /(?:^|\s)app\/([A-Za-z0-9]+\.\d+)/.exec(ua)?.[1];
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  return (server.address() as AddressInfo).port;
}

/** Answers a service's calls in this process instead of forwarding them. */
export type LocalService = (request: AwsHttpRequest) => Promise<HttpReply>;

/**
 * Starts one proxy port per service given in `targets`, forwarding to its target, and one per service given in
 * `serve`, answered in this process (counted and intercepted all the same).
 */
export async function startAwsProxy(options: {
  targets: Readonly<Partial<Record<AwsService, string>>>;
  serve?: Readonly<Partial<Record<AwsService, LocalService>>>;
  interceptor?: AwsInterceptor;
  /** Told of each call the target answered, with its status, before the caller gets the answer. */
  onAnswered?: (call: AwsCall, status: number) => void;
}): Promise<AwsProxy> {
  const counts = new Map<string, number>();
  const byFunction = new Map<string, Map<string, number>>();
  const byTable = new Map<string, Map<string, number>>();
  const entriesByFunction = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const servers = new Map<AwsService, { server: http.Server; port: number }>();

  const services = new Set([...Object.keys(options.targets), ...Object.keys(options.serve ?? {})]);
  for (const service of services as Set<AwsService>) {
    const local = options.serve?.[service];
    const target = local ? undefined : new URL(options.targets[service]!);
    const server = http.createServer((req, res) => {
      if (refuseForeign(req, res)) return;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        const call: AwsCall = {
          service,
          operation: operationOf(req.headers, body, req.url, req.method),
          body,
          appId: appIdOf(req.headers),
        };
        const key = `${service}:${call.operation}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (call.appId) {
          const fn = call.appId.slice(0, call.appId.lastIndexOf('.'));
          const mine = byFunction.get(fn) ?? new Map<string, number>();
          byFunction.set(fn, mine.set(key, (mine.get(key) ?? 0) + 1));
          if (key === 'sqs:SendMessageBatch')
            entriesByFunction.set(fn, (entriesByFunction.get(fn) ?? 0) + batchEntries(body));
        }
        const table = service === 'dynamodb' ? tableOf(body) : undefined;
        const countByTable = (operation: string) => {
          if (table === undefined) return;
          const its = byTable.get(table) ?? new Map<string, number>();
          byTable.set(table, its.set(operation, (its.get(operation) ?? 0) + 1));
        };
        countByTable(call.operation);
        try {
          const reply = await options.interceptor?.before?.(call);
          if (reply?.hang) return;
          if (reply) {
            res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.0', ...reply.headers });
            res.end(reply.body);
            return;
          }
          if (local || !target) {
            const answer = await local!({
              method: req.method ?? 'GET',
              url: req.url ?? '/',
              headers: req.headers,
              body,
            });
            const verdict = await options.interceptor?.after?.(call, answer.status);
            if (verdict === 'hang' || res.destroyed) return;
            res.writeHead(answer.status, answer.headers);
            res.end(answer.body);
            return;
          }
          const upstream = http.request(
            {
              host: target.hostname,
              port: target.port,
              method: req.method,
              path: req.url,
              headers: { ...req.headers, host: target.host },
              agent,
            },
            (up) => {
              const out: Buffer[] = [];
              up.on('data', (c: Buffer) => out.push(c));
              up.on('end', async () => {
                if (up.statusCode === 400) countByTable(`${call.operation}:400`);
                options.onAnswered?.(call, up.statusCode ?? 0);
                const verdict = await options.interceptor?.after?.(call, up.statusCode ?? 0);
                if (verdict === 'hang' || res.destroyed) return;
                res.writeHead(up.statusCode ?? 502, up.headers);
                res.end(Buffer.concat(out));
              });
            },
          );
          upstream.on('error', (error) => {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(`proxy: ${error.message}`);
          });
          upstream.end(body);
        } catch (error) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`proxy: ${(error as Error).message}`);
        }
      });
    });
    servers.set(service, { server, port: await listen(server) });
  }

  return {
    endpoint: (service) => {
      const server = servers.get(service);
      if (!server) throw new Error(`the AWS proxy has no ${service} port`);
      return `http://${LOOPBACK}:${server.port}`;
    },
    counts: () => Object.fromEntries(counts),
    countsByFunction: () =>
      Object.fromEntries([...byFunction].map(([fn, calls]) => [fn, Object.fromEntries(calls)])),
    batchEntriesByFunction: () => Object.fromEntries(entriesByFunction),
    countsByTable: () =>
      Object.fromEntries([...byTable].map(([table, calls]) => [table, Object.fromEntries(calls)])),
    resetCounts: () => {
      counts.clear();
      byFunction.clear();
      byTable.clear();
      entriesByFunction.clear();
    },
    close: async () => {
      agent.destroy();
      await Promise.all(
        [...servers.values()].map(
          ({ server }) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
