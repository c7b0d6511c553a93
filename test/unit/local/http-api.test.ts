import type { IncomingMessage } from 'node:http';
import {
  compileRoute,
  fromResult,
  type LocalHttpApi,
  lambdaRoutes,
  matchRoute,
  startHttpApi,
  toEvent,
} from '../../../local/http-api';
import { localContext } from './local-context';

const invoke = async () => ({ ok: true as const, result: null });
const routes = [
  'POST /tasks',
  'GET /tasks/{id}',
  'DELETE /tasks/{id}',
  'GET /tasks/stats',
  'ANY /files/{path+}',
].map((routeKey) => compileRoute({ routeKey, invoke }));

function request(headers: string[], url = '/tasks?a=1&a=2&b=x', method = 'POST'): IncomingMessage {
  return { url, method, rawHeaders: headers, httpVersion: '1.1' } as unknown as IncomingMessage;
}

describe('Function: matchRoute', () => {
  it('matches a method and a path parameter, decoding it', () => {
    const match = matchRoute(routes, 'GET', '/tasks/abc%20d');
    expect(match?.route.routeKey).toBe('GET /tasks/{id}');
    expect(match?.pathParameters).toEqual({ id: 'abc d' });
  });

  it('passes a malformed escape on as written instead of failing', () => {
    expect(matchRoute(routes, 'GET', '/tasks/%zz')?.pathParameters).toEqual({ id: '%zz' });
  });

  it('prefers a literal segment over a parameter', () => {
    expect(matchRoute(routes, 'GET', '/tasks/stats')?.route.routeKey).toBe('GET /tasks/stats');
  });

  it('matches a greedy parameter with ANY', () => {
    const match = matchRoute(routes, 'PUT', '/files/a/b/c.txt');
    expect(match?.pathParameters).toEqual({ path: 'a/b/c.txt' });
  });

  it('matches nothing for another method or path', () => {
    expect(matchRoute(routes, 'PUT', '/tasks')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/nowhere')).toBeUndefined();
  });
});

describe('Function: toEvent', () => {
  it('builds a payload 2.0 event: lower-case headers with repeats comma-joined, query and cookies', () => {
    // Act
    const event = toEvent(
      request(['Content-Type', 'application/json', 'X-Tag', 'a', 'x-tag', 'b', 'Cookie', 's=1; t=2']),
      Buffer.from('{"a":1}'),
      'POST /tasks',
      {},
      '127.0.0.1',
    );

    // Assess
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /tasks',
      rawPath: '/tasks',
      rawQueryString: 'a=1&a=2&b=x',
      headers: { 'content-type': 'application/json', 'x-tag': 'a,b' },
      cookies: ['s=1', 't=2'],
      queryStringParameters: { a: '1,2', b: 'x' },
      requestContext: { http: { method: 'POST', path: '/tasks', sourceIp: '127.0.0.1' }, stage: '$default' },
      body: '{"a":1}',
      isBase64Encoded: false,
    });
  });

  it('base64-encodes a body whose content type is not text', () => {
    const event = toEvent(
      request(['Content-Type', 'application/octet-stream']),
      Buffer.from([0xff, 0x00]),
      'POST /tasks',
      {},
      '',
    );
    expect(event).toMatchObject({ body: '/wA=', isBase64Encoded: true });
  });

  it('base64-encodes a JSON body that is not valid UTF-8, so the handler sees its real bytes', () => {
    const event = toEvent(
      request(['Content-Type', 'application/json']),
      Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
      'POST /tasks',
      {},
      '',
    );
    expect(event).toMatchObject({ body: 'e8MofQ==', isBase64Encoded: true });
  });
});

describe('Function: fromResult', () => {
  it('maps a structured result: status, lower-case headers, cookies and a base64 body', () => {
    const mapped = fromResult({
      statusCode: 201,
      headers: { 'Content-Type': 'image/png' },
      cookies: ['a=1'],
      body: Buffer.from('png').toString('base64'),
      isBase64Encoded: true,
    });
    expect(mapped.status).toBe(201);
    expect(mapped.headers).toEqual({ 'content-type': 'image/png', 'set-cookie': ['a=1'] });
    expect(mapped.body.toString()).toBe('png');
  });

  it('takes a result without statusCode as a 200 JSON body', () => {
    const mapped = fromResult({ ok: true });
    expect(mapped).toMatchObject({ status: 200, headers: { 'content-type': 'application/json' } });
    expect(mapped.body.toString()).toBe('{"ok":true}');
  });
});

describe('Function: startHttpApi, responses API Gateway makes itself', () => {
  const never = () => new Promise<never>(() => {});
  const timedOut = async () => ({
    ok: false as const,
    timedOut: true,
    error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' },
  });
  const failed = async () => ({
    ok: false as const,
    timedOut: false,
    error: { errorType: 'Error', errorMessage: 'boom' },
  });
  let api: LocalHttpApi;

  beforeAll(async () => {
    api = await startHttpApi({
      port: 0,
      routes: [
        { routeKey: 'GET /timeout', invoke: timedOut },
        { routeKey: 'GET /error', invoke: failed },
        { routeKey: 'GET /slow', invoke: never },
      ],
      log: () => {},
      integrationTimeoutMs: 50,
    });
  });

  afterAll(async () => {
    await api.stop();
  });

  it.each([
    ['/timeout', 'a function that times out'],
    ['/error', 'a function that fails'],
  ])('answers 500 {"message":"Internal Server Error"} for %s (%s)', async (route) => {
    const response = await fetch(`${api.url}${route}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('answers 503 {"message":"Service Unavailable"} when the integration outlives its timeout', async () => {
    const response = await fetch(`${api.url}/slow`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
  });
});

describe('Function: startHttpApi, loopback only', () => {
  it('listens on 127.0.0.1 even when asked for another interface', async () => {
    // Arrange: an options object that names an interface, as a caller outside the type might
    const options = { port: 0, host: '0.0.0.0', routes: [], log: () => {} } as Parameters<
      typeof startHttpApi
    >[0];

    // Act
    const api = await startHttpApi(options);

    // Assess
    try {
      expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await api.stop();
    }
  });
});

describe('Function: lambdaRoutes', () => {
  const ctx = localContext({
    Api: { Type: 'AWS::ApiGatewayV2::Api' },
    Producer: { Type: 'AWS::Lambda::Function' },
    ProducerIntegration: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: {
          'Fn::Join': [
            '',
            [
              'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/',
              { 'Fn::GetAtt': ['Producer', 'Arn'] },
              '/invocations',
            ],
          ],
        },
      },
    },
    HttpIntegration: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: { IntegrationType: 'HTTP_PROXY', IntegrationUri: 'https://example.com' },
    },
    PostTasks: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        RouteKey: 'POST /tasks',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'ProducerIntegration' }]] },
      },
    },
    Proxied: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: { RouteKey: 'GET /elsewhere', Target: 'integrations/HttpIntegration' },
    },
  });

  it('serves each Lambda proxy route by its function and reports other integrations', async () => {
    const named: string[] = [];
    const { routes, notEmulated } = lambdaRoutes(ctx, (arn, where) => {
      named.push(`${where} → ${arn}`);
      return { invoke: async (event) => ({ ok: true, result: event }) };
    });
    expect(routes.map((r) => r.routeKey)).toEqual(['POST /tasks']);
    expect(named).toEqual(['PostTasks → arn:aws:lambda:us-east-1:000000000000:function:Local-Producer']);
    expect(notEmulated).toEqual(['Proxied (GET /elsewhere: only Lambda proxy integrations run locally)']);
  });
});
