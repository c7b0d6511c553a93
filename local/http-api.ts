/**
 * Serves an API Gateway HTTP API from the template's routes and Lambda proxy integrations, with
 * payload format 2.0 events and responses. Authorizers and throttling are not enforced.
 *
 * The responses API Gateway makes itself have its bodies, `{"message": …}`, not the API's
 * `{error: {code, message}}`: no route (404), a body over 10 MB (413), a function that fails, times out
 * or answers malformed (500), and an integration over 30 s (503).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { FunctionLookup } from './functions';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import type { InvokeResult } from './lambda-pool';
import { LOOPBACK } from './loopback';
import { resourcesOfType } from './template';

export interface HttpRoute {
  /** `METHOD /path/{param}`, `ANY /path/{proxy+}` or `$default`. */
  readonly routeKey: string;
  /** The logical id of the AWS::ApiGatewayV2::Api the route belongs to. @default - the runtime's own route */
  readonly apiId?: string;
  readonly invoke: (event: APIGatewayProxyEventV2) => Promise<InvokeResult>;
}

interface CompiledRoute extends HttpRoute {
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  /** Higher wins: literal segments beat parameters, which beat greedy parameters and `$default`. */
  readonly rank: number;
}

/** API Gateway's own limit on a request body. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** HTTP API's longest integration timeout; past it API Gateway answers 503 while the function runs on. */
const INTEGRATION_TIMEOUT_MS = 30_000;

/** The responses API Gateway makes itself, with the bodies it sends. */
export const GATEWAY_RESPONSES = {
  notFound: { status: 404, message: 'Not Found' },
  tooLarge: { status: 413, message: 'Request Entity Too Large' },
  internalError: { status: 500, message: 'Internal Server Error' },
  unavailable: { status: 503, message: 'Service Unavailable' },
} as const;
const TEXT_MEDIA_TYPE = /^(text\/|application\/([\w.+-]+\+)?(json|xml|javascript|x-www-form-urlencoded)\b)/i;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function compileRoute(route: HttpRoute): CompiledRoute {
  if (route.routeKey === '$default') return { ...route, method: 'ANY', pattern: /^/, params: [], rank: -1 };
  const [method = 'ANY', routePath = '/'] = route.routeKey.split(' ');
  const params: string[] = [];
  let rank = 0;
  const source = routePath
    .split('/')
    .map((segment) => {
      const greedy = /^\{(\w+)\+\}$/.exec(segment);
      if (greedy) {
        params.push(greedy[1]!);
        return '(.+)';
      }
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param) {
        params.push(param[1]!);
        rank += 1;
        return '([^/]+)';
      }
      rank += 1000;
      return escapeRegExp(segment);
    })
    .join('/');
  return { ...route, method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), params, rank };
}

export function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
  const candidates = routes
    .filter((r) => r.method === method || r.method === 'ANY')
    .map((route) => ({ route, match: route.pattern.exec(path) }))
    .filter((c) => c.match !== null)
    .sort(
      (a, b) =>
        b.route.rank - a.route.rank || Number(b.route.method !== 'ANY') - Number(a.route.method !== 'ANY'),
    );
  const best = candidates[0];
  if (!best) return undefined;
  const pathParameters = Object.fromEntries(
    best.route.params.map((name, i) => [name, safeDecode(best.match![i + 1]!)]),
  );
  return { route: best.route, pathParameters };
}

/** A malformed escape (`%zz`) is passed on as written; the handler judges the value. */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function sendGateway(res: ServerResponse, response: { status: number; message: string }): void {
  if (res.headersSent) return;
  send(
    res,
    response.status,
    { 'content-type': 'application/json' },
    JSON.stringify({ message: response.message }),
  );
}

/** The invocation's outcome, or `undefined` when it outlives API Gateway's integration timeout. */
function withinIntegrationTimeout(
  invocation: Promise<InvokeResult>,
  ms: number,
): Promise<InvokeResult | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([invocation, late]).finally(() => clearTimeout(timer));
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | string,
) {
  res.writeHead(status, headers);
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function toEvent(
  req: IncomingMessage,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string>,
  sourceIp: string,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams)
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  const now = new Date();
  // A text body that is not valid UTF-8 travels base64-encoded, so the handler sees its real bytes.
  const text = body.length === 0 || (TEXT_MEDIA_TYPE.test(headers['content-type'] ?? '') && isUtf8(body));
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 && { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: !text,
  };
}

/**
 * Maps a Lambda result back to HTTP. A result without `statusCode` is taken as a JSON body with status
 * 200, as payload format 2.0 does.
 */
export function fromResult(result: unknown): {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
} {
  const structured =
    typeof result === 'object' && result !== null && 'statusCode' in (result as Record<string, unknown>);
  if (!structured) {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body ?? '') };
  }
  const r = result as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    multiValueHeaders?: Record<string, Array<string | number | boolean>>;
    cookies?: string[];
    body?: string;
    isBase64Encoded?: boolean;
  };
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.multiValueHeaders ?? {})) headers[k.toLowerCase()] = v.map(String);
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  const body =
    r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
  return { status: r.statusCode, headers, body };
}

/**
 * The template's AWS::ApiGatewayV2::Route resources whose integration is a Lambda proxy integration, each
 * invoking its function; any other integration is reported as not emulated.
 */
export function lambdaRoutes(
  ctx: IntrinsicContext,
  functions: FunctionLookup,
): { readonly routes: HttpRoute[]; readonly notEmulated: string[] } {
  const integrations = new Map(
    resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Integration').map(([id, r]) => [
      id,
      resolveIntrinsics(r.Properties ?? {}, ctx) as Record<string, unknown>,
    ]),
  );
  const routes: HttpRoute[] = [];
  const notEmulated: string[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Route')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as {
      RouteKey: string;
      Target?: string;
      ApiId?: string;
    };
    const integration = integrations.get(String(props.Target ?? '').replace(/^integrations\//, ''));
    const uri = String(integration?.IntegrationUri ?? '');
    // Either the function ARN, or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations.
    const functionArn = /functions\/(.+)\/invocations$/.exec(uri)?.[1] ?? uri;
    if (integration?.IntegrationType !== 'AWS_PROXY' || !functionArn.includes(':function:')) {
      notEmulated.push(`${id} (${props.RouteKey}: only Lambda proxy integrations run locally)`);
      continue;
    }
    const fn = functions(functionArn, id);
    routes.push({
      routeKey: props.RouteKey,
      ...(props.ApiId !== undefined && { apiId: apiLogicalId(ctx, String(props.ApiId)) }),
      invoke: (event) => fn.invoke(event),
    });
  }
  return { routes, notEmulated };
}

/** The logical id of the API whose `Ref` (its local id) is `ref`. */
function apiLogicalId(ctx: IntrinsicContext, ref: string): string {
  for (const [id] of resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Api'))
    if (ctx.resources.get(id)?.ref === ref) return id;
  return ref;
}

export interface LocalHttpApi {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startHttpApi(options: {
  readonly port: number;
  readonly routes: readonly HttpRoute[];
  readonly log: (line: string) => void;
  /** @default 30000, HTTP API's limit */
  readonly integrationTimeoutMs?: number;
}): Promise<LocalHttpApi> {
  const routes = options.routes.map(compileRoute);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const matched = matchRoute(routes, method, url.pathname);
    if (!matched) {
      req.resume();
      sendGateway(res, GATEWAY_RESPONSES.notFound);
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      sendGateway(res, GATEWAY_RESPONSES.tooLarge);
      return;
    }
    const event = toEvent(
      req,
      body,
      matched.route.routeKey,
      matched.pathParameters,
      req.socket.remoteAddress ?? '',
    );
    const outcome = await withinIntegrationTimeout(
      matched.route.invoke(event),
      options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS,
    );
    if (!outcome) {
      options.log(`[api] ${matched.route.routeKey}: the integration timed out`);
      sendGateway(res, GATEWAY_RESPONSES.unavailable);
      return;
    }
    if (!outcome.ok) {
      options.log(
        `[api] ${matched.route.routeKey}: ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
      );
      // A function error or time-out (Lambda's own timeout, under 30 s) is a 500 from API Gateway.
      sendGateway(res, GATEWAY_RESPONSES.internalError);
      return;
    }
    let mapped: ReturnType<typeof fromResult>;
    try {
      mapped = fromResult(outcome.result);
    } catch (error) {
      options.log(
        `[api] ${matched.route.routeKey}: malformed function response: ${(error as Error).message}`,
      );
      sendGateway(res, GATEWAY_RESPONSES.internalError);
      return;
    }
    send(res, mapped.status, mapped.headers, mapped.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log(`[api] ${(error as Error).message}`);
      sendGateway(res, GATEWAY_RESPONSES.internalError);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${LOOPBACK}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
