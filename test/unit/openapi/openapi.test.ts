import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../../../lambda/contract/environment';
import { API_ERROR_CODES } from '../../../lambda/core/error-codes';
import { VIEW_FIELDS } from '../../../lambda/core/task';
import { localOpenApi, openApiRoutes } from '../../../local/openapi-route';
import { buildOpenApi, renderOpenApi } from '../../../scripts/openapi';
import { type CheckedResponse, OpenApiChecker } from '../../integration/support/openapi-check';

const ROOT = join(__dirname, '../../..');
const TASK_ID = '0b6f1a5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b';

// biome-ignore lint/suspicious/noExplicitAny: the tests walk the document by the shape they know it has.
type Json = Record<string, any>;

function response(status: number, body: unknown, headers: Record<string, string> = {}): CheckedResponse {
  return {
    status,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

const submitted = {
  task_id: TASK_ID,
  status: 'QUEUED',
  type: 'echo',
  priority: 'low',
  created_at: '2026-01-01T00:00:00.000Z',
};
const task = {
  ...submitted,
  attempts: 0,
  updated_at: '2026-01-01T00:00:00.000Z',
};

describe('File: openapi.json', () => {
  it('matches what scripts/openapi.ts generates', () => {
    // Prepare
    const committed = readFileSync(join(ROOT, 'openapi.json'), 'utf8');

    // Act
    const generated = renderOpenApi();

    // Assess: on failure, run `npx tsx scripts/openapi.ts`
    expect(committed).toBe(generated);
  });
});

describe('Function: buildOpenApi', () => {
  const document = buildOpenApi() as Json;
  const schemas = document.components.schemas as Json;

  it('embeds schema/task.schema.json as the body of POST /tasks, without its draft-07 $schema and $id', () => {
    // Prepare
    const {
      $schema: _,
      $id: __,
      ...source
    } = JSON.parse(readFileSync(join(ROOT, 'schema/task.schema.json'), 'utf8'));

    // Assess
    expect(schemas.TaskSubmission).toEqual(source);
    expect(document.paths['/tasks'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TaskSubmission',
    });
  });

  it('lists every API error code of the catalogue, and gives each error response only the codes of its status', () => {
    // Assess
    expect(schemas.ApiErrorCode.enum).toEqual(Object.keys(API_ERROR_CODES));
    const responses = document.paths['/tasks'].post.responses as Json;
    const codesOf = (status: string) => {
      const schema = responses[status].content['application/json'].schema;
      const api = (schema.oneOf ?? [schema]).find((s: Json) => s.allOf);
      return api.allOf[1].properties.error.properties.code.enum as string[];
    };
    expect(codesOf('400')).toEqual(['InvalidJson', 'ValidationError', 'UnknownTaskType']);
    expect(codesOf('413')).toEqual(['PayloadTooLarge']);
    for (const status of ['400', '409', '413', '415']) {
      for (const code of codesOf(status))
        expect(API_ERROR_CODES[code as keyof typeof API_ERROR_CODES].status).toBe(Number(status));
    }
  });

  it("shows every field of the task view, and the limits of the code's defaults", () => {
    // Assess
    expect(Object.keys(schemas.Task.properties)).toEqual([...VIEW_FIELDS, 'deadline', 'deliveries']);
    expect(document['x-limits']).toMatchObject({
      maxBodyBytes: DEFAULTS.maxBodyBytes,
      maxJsonDepth: DEFAULTS.maxJsonDepth,
      throttle: DEFAULTS.throttle,
      callbackThrottle: DEFAULTS.callbackThrottle,
    });
  });

  it('authorizes the task routes with IAM or JWT and the callback routes with the attempt token', () => {
    // Assess
    expect(document.security).toEqual([{ sigv4: [] }, { jwt: [] }]);
    expect(document.paths['/tasks/{id}/heartbeat'].post.security).toEqual([{ attemptToken: [] }]);
    expect(document.paths['/tasks/{id}/complete'].post.security).toEqual([{ attemptToken: [] }]);
    expect(document.components.securitySchemes.sigv4['x-amazon-apigateway-authtype']).toBe('awsSigv4');
  });
});

describe('Function: localOpenApi', () => {
  it("names the runtime's own URL as the first server, then the deployed API", () => {
    // Act
    const document = localOpenApi('http://127.0.0.1:4321') as Json;

    // Assess
    expect(document.servers.map((s: Json) => s.url)).toEqual([
      'http://127.0.0.1:4321',
      'https://{apiId}.execute-api.{region}.amazonaws.com',
    ]);
    expect(document.paths).toEqual((buildOpenApi() as Json).paths);
  });
});

describe('Function: openApiRoutes', () => {
  const route = (routeKey: string) => ({ routeKey, invoke: async () => ({ ok: true as const, result: {} }) });

  it("adds GET /openapi.json to a task queue's API (it has POST /tasks), and to no other API", () => {
    // Assess
    expect(
      openApiRoutes([route('POST /tasks'), route('GET /tasks/{id}')], 'http://127.0.0.1:3000').map(
        (r) => r.routeKey,
      ),
    ).toEqual(['GET /openapi.json']);
    expect(openApiRoutes([route('GET /orders')], 'http://127.0.0.1:3001')).toEqual([]);
  });
});

describe('Class: OpenApiChecker', () => {
  const checker = OpenApiChecker.fromFile();

  it('accepts responses the document declares', () => {
    // Assess
    expect(
      checker.check('POST', '/tasks', response(202, submitted, { location: `/tasks/${TASK_ID}` })),
    ).toEqual([]);
    expect(checker.check('GET', `/tasks/${TASK_ID}`, response(200, task))).toEqual([]);
    expect(
      checker.check(
        'GET',
        `/tasks/${TASK_ID}`,
        response(404, { error: { code: 'NotFound', message: 'no such task' } }),
      ),
    ).toEqual([]);
    expect(checker.check('POST', '/tasks', response(429, { message: 'Too Many Requests' }))).toEqual([]);
    expect(
      checker.check(
        'POST',
        `/tasks/${TASK_ID}/heartbeat`,
        response(200, { status: 'RUNNING', cancel_requested: false }),
      ),
    ).toEqual([]);
  });

  it('refuses a status the operation does not declare', () => {
    // Act
    const problems = checker.check('GET', `/tasks/${TASK_ID}`, response(418, {}));

    // Assess
    expect(problems).toEqual([expect.stringContaining('status 418 is not declared')]);
  });

  it('refuses a missing declared header, and one that breaks its schema', () => {
    // Assess
    expect(checker.check('POST', '/tasks', response(202, submitted))).toEqual([
      expect.stringContaining('header Location is missing'),
    ]);
    expect(checker.check('POST', '/tasks', response(202, submitted, { location: '/elsewhere' }))).toEqual([
      expect.stringContaining('header Location'),
    ]);
  });

  it('refuses a body that breaks the schema: a missing field, an unknown field, a wrong value', () => {
    // Prepare
    const { attempts: _, ...noAttempts } = task;

    // Assess
    expect(checker.check('GET', `/tasks/${TASK_ID}`, response(200, noAttempts))).toEqual([
      expect.stringContaining("must have required property 'attempts'"),
    ]);
    expect(checker.check('GET', `/tasks/${TASK_ID}`, response(200, { ...task, lease_until: 1 }))).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
    expect(checker.check('GET', `/tasks/${TASK_ID}`, response(200, { ...task, status: 'DONE' }))).toEqual([
      expect.stringContaining('must be equal to one of the allowed values'),
    ]);
    expect(
      checker.check('GET', `/tasks/${TASK_ID}`, response(200, { ...task, created_at: 'yesterday' })),
    ).toEqual([expect.stringContaining('must match format "date-time"')]);
  });

  it("refuses an error code of another status, and a gateway body where only the API's is declared", () => {
    // Assess
    expect(
      checker.check(
        'GET',
        `/tasks/${TASK_ID}`,
        response(404, { error: { code: 'Unauthorized', message: 'x' } }),
      ),
    ).not.toEqual([]);
    expect(checker.check('GET', `/tasks/${TASK_ID}`, response(404, { message: 'Not Found' }))).not.toEqual(
      [],
    );
  });

  it('refuses a content type the response does not declare, and a body that is not JSON', () => {
    // Assess
    expect(
      checker.check('GET', `/tasks/${TASK_ID}`, {
        ...response(200, task),
        headers: new Headers({ 'content-type': 'text/plain' }),
      }),
    ).toEqual([expect.stringContaining("content type 'text/plain' is not declared")]);
    expect(checker.check('GET', `/tasks/${TASK_ID}`, response(200, 'not json'))).toEqual([
      expect.stringContaining('the body is not JSON'),
    ]);
  });

  it('leaves alone a request that is no operation of the document', () => {
    // Assess
    expect(checker.operation('PUT', '/tasks')).toBeUndefined();
    expect(checker.check('GET', '/_local/stack', response(500, 'anything'))).toEqual([]);
    expect(checker.operation('POST', `/tasks/${TASK_ID}/complete`)?.template).toBe('/tasks/{id}/complete');
  });
});
