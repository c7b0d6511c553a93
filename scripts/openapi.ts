/**
 * Generates openapi.json, the OpenAPI 3.1 document of the whole HTTP API, from schema/task.schema.json (the body
 * of POST /tasks, embedded as it is) and from the code: the error codes (lambda/core/error-codes.ts), the task
 * view's fields (lambda/core/task.ts, topics.ts), statuses, patterns and limits. Nothing in it is written twice.
 *
 *   npx tsx scripts/openapi.ts          write openapi.json
 *   npx tsx scripts/openapi.ts --check  exit 1 when the committed file is stale
 *
 * The local runtime serves the same document at GET /openapi.json (local/openapi-route.ts), and the integration
 * tests check every response they receive against the file (test/integration/support/openapi-check.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../lambda/contract/environment';
import { MAX_ERROR_CODE_CHARS } from '../lambda/core/agent-outcome';
import { MAX_PROGRESS_MESSAGE_BYTES } from '../lambda/core/async-attempt';
import {
  COMPLETION_ERROR_CODE,
  type heartbeatTask,
  MAX_HEARTBEAT_BODY_BYTES,
} from '../lambda/core/async-callbacks';
import {
  API_ERROR_CODES,
  ApiErrorCode,
  isTaskErrorFamily,
  TASK_ERROR_CODES,
} from '../lambda/core/error-codes';
import { LimitReason } from '../lambda/core/limits';
import { LARGEST_MAX_BODY_BYTES } from '../lambda/core/payload-storage';
import { PRINTABLE_ASCII } from '../lambda/core/submission';
import { PRIORITIES, TASK_ID_PATTERN, TaskStatus, type TaskView, VIEW_FIELDS } from '../lambda/core/task';
import { DELIVERY_VIEW_FIELDS, type DeliveryView } from '../lambda/core/topics';
import { MAX_REQUEST_BYTES } from '../local/http-api';

const root = join(__dirname, '..');
const target = join(root, 'openapi.json');

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** The keywords the task schema may use: each means the same in draft-07 and in 2020-12 (OpenAPI 3.1's). */
const PORTABLE_KEYWORDS = new Set([
  'title',
  'description',
  'type',
  'additionalProperties',
  'required',
  'properties',
  'minLength',
  'maxLength',
  'pattern',
  'enum',
  'default',
  'minimum',
  'maximum',
]);

/**
 * schema/task.schema.json as an OpenAPI 3.1 schema: without its draft-07 `$schema` and its `$id` (which would move
 * the base of every `$ref` beside it), and refused if it uses a keyword whose meaning differs between the drafts.
 */
function taskSubmissionSchema(): Schema {
  const {
    $schema: _,
    $id: __,
    ...schema
  } = JSON.parse(readFileSync(join(root, 'schema/task.schema.json'), 'utf8')) as Schema;
  const check = (node: Schema, at: string) => {
    for (const [key, value] of Object.entries(node)) {
      if (!PORTABLE_KEYWORDS.has(key))
        throw new Error(
          `schema/task.schema.json uses ${key} at ${at}: not known to mean the same in 2020-12`,
        );
      if (key === 'properties')
        for (const [name, sub] of Object.entries(value as Record<string, Schema>))
          check(sub, `${at}/${name}`);
    }
  };
  check(schema, '#');
  return schema;
}

const dateTime = (description: string): Schema => ({ type: 'string', format: 'date-time', description });

/** Property → schema of the task view: the `Record` makes the compiler ask for every field the view can show. */
const TASK_VIEW_PROPERTIES: Record<keyof TaskView, Schema> = {
  task_id: ref('TaskId'),
  type: {
    ...ref('TaskType'),
    description: 'The agent type it runs on; for a published task, the topic.',
  },
  priority: ref('Priority'),
  tenant_id: { ...ref('TenantId'), description: 'Who the task is for, when it was submitted with one.' },
  topic: { ...ref('TaskType'), description: 'A published task, or one of its deliveries: the topic.' },
  published_task_id: { ...ref('TaskId'), description: 'A delivery: the published task it belongs to.' },
  status: ref('TaskStatus'),
  attempts: {
    type: 'integer',
    minimum: 0,
    description: 'Agent invocations so far; for a published task, the sum of its deliveries.',
  },
  created_at: dateTime('When the task was accepted.'),
  updated_at: dateTime('The last change.'),
  started_at: dateTime('The start of its first attempt.'),
  finished_at: dateTime('When it ended.'),
  result: { description: "The agent's result (SUCCEEDED): any JSON value, numbers as the agent wrote them." },
  error: ref('TaskError'),
  progress: ref('TaskProgress'),
  heartbeat_at: dateTime("A running async attempt: its agent's last heartbeat."),
  cancel_requested: {
    type: 'boolean',
    description:
      'A running async attempt: a client asked to cancel it; its agent learns it at its next heartbeat.',
  },
  waiting: ref('TaskWaiting'),
  deadline: dateTime(
    'A running async attempt: when it counts as lost, unless a heartbeat or completion comes first.',
  ),
  deliveries: {
    type: 'object',
    description: 'A published task: its delivery to each subscriber, by agent type.',
    propertyNames: ref('TaskType'),
    additionalProperties: ref('Delivery'),
  },
};
// The view's fields that every task has.
const TASK_VIEW_REQUIRED = [
  'task_id',
  'type',
  'priority',
  'status',
  'attempts',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof TaskView)[];

/** The view's fields, in its order (task.ts VIEW_FIELDS, then the derived ones). */
function properties<K extends string>(fields: readonly K[], schemas: Record<K, Schema>): Schema {
  return Object.fromEntries(fields.map((field) => [field, schemas[field]]));
}

function componentSchemas(): Record<string, Schema> {
  const submission = taskSubmissionSchema();
  const submitted = submission.properties as Record<string, Schema>;
  const fixedTaskCodes = Object.keys(TASK_ERROR_CODES).filter((code) => !isTaskErrorFamily(code));
  const heartbeatAnswer: Record<keyof Awaited<ReturnType<typeof heartbeatTask>>, Schema> = {
    status: { const: TaskStatus.RUNNING },
    cancel_requested: {
      type: 'boolean',
      description: 'A client asked to cancel the task: stop, and complete with the error `Cancelled`.',
    },
  };
  return {
    TaskSubmission: submission,
    TaskId: {
      type: 'string',
      pattern: TASK_ID_PATTERN.source,
      description: 'A task id: a lowercase UUID.',
    },
    TaskType: { ...submitted.type, description: 'An agent type or a topic.' },
    TenantId: submitted.tenant_id!,
    Priority: { type: 'string', enum: [...PRIORITIES], description: 'The tier the task runs in.' },
    TaskStatus: {
      type: 'string',
      enum: Object.values(TaskStatus),
      description: 'QUEUED → RUNNING → SUCCEEDED | RETRYING | FAILED; CANCELLED.',
    },
    TaskError: {
      type: 'object',
      description:
        'The last failure. Its code is one of the fixed codes listed in `examples`, `AgentHttp<status>`, ' +
        "a Lambda agent's `errorType`, or an async agent's own code (docs/operating.md, Task error codes).",
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', minLength: 1, examples: fixedTaskCodes },
        message: { type: 'string' },
      },
    },
    TaskProgress: {
      type: 'object',
      description: 'What an async agent last reported of its progress.',
      additionalProperties: false,
      properties: {
        percent: { type: 'number', minimum: 0, maximum: 100 },
        message: {
          type: 'string',
          description: `At most ${MAX_PROGRESS_MESSAGE_BYTES} bytes of UTF-8.`,
        },
      },
    },
    TaskWaiting: {
      type: 'object',
      description: 'A QUEUED or RETRYING task held back by a limit: why, and since when.',
      additionalProperties: false,
      required: ['reason', 'since'],
      properties: {
        reason: { type: 'string', enum: Object.values(LimitReason) },
        since: dateTime('When it first waited.'),
      },
    },
    Task: {
      type: 'object',
      description:
        'A task as GET /tasks/{id} shows it. A published task (its type is a topic) also has `topic` and `deliveries`.',
      additionalProperties: false,
      required: [...TASK_VIEW_REQUIRED],
      properties: properties([...VIEW_FIELDS, 'deadline', 'deliveries'], TASK_VIEW_PROPERTIES),
    },
    Delivery: {
      type: 'object',
      description: 'One delivery of a published task: a task of its own, at GET /tasks/{task_id}.',
      additionalProperties: false,
      required: ['task_id', 'status', 'attempts'],
      properties: properties(['task_id', ...DELIVERY_VIEW_FIELDS], {
        task_id: ref('TaskId'),
        status: ref('TaskStatus'),
        attempts: { type: 'integer', minimum: 0 },
        result: TASK_VIEW_PROPERTIES.result,
        error: ref('TaskError'),
        started_at: TASK_VIEW_PROPERTIES.started_at,
        finished_at: TASK_VIEW_PROPERTIES.finished_at,
        waiting: ref('TaskWaiting'),
      } satisfies Record<keyof DeliveryView, Schema>),
    },
    SubmittedTask: {
      type: 'object',
      description: 'The answer of POST /tasks: the new task, or the one its idempotency key named.',
      additionalProperties: false,
      required: ['task_id', 'status', 'type', 'priority', 'created_at'],
      properties: {
        task_id: ref('TaskId'),
        status: ref('TaskStatus'),
        type: ref('TaskType'),
        priority: ref('Priority'),
        created_at: TASK_VIEW_PROPERTIES.created_at,
      },
    },
    Heartbeat: {
      type: 'object',
      description: `A heartbeat: nothing, \`{}\`, or progress. At most ${MAX_HEARTBEAT_BODY_BYTES} bytes.`,
      additionalProperties: false,
      properties: { progress: ref('TaskProgress') },
    },
    HeartbeatAnswer: {
      type: 'object',
      additionalProperties: false,
      required: ['status', 'cancel_requested'],
      properties: heartbeatAnswer,
    },
    Completion: {
      description: "The end of an async agent's attempt: its result, or its error.",
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['result'],
          properties: { result: { description: 'Any JSON value.' } },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              additionalProperties: false,
              required: ['code'],
              description:
                '`retryable` is required, except for the stop after a cancel request (`Cancelled`).',
              properties: {
                code: {
                  type: 'string',
                  pattern: COMPLETION_ERROR_CODE.source,
                  maxLength: MAX_ERROR_CODE_CHARS,
                },
                message: { type: 'string' },
                retryable: { type: 'boolean' },
              },
            },
          },
        },
      ],
    },
    ApiError: {
      type: 'object',
      description: "An error of the API's functions.",
      additionalProperties: false,
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          additionalProperties: false,
          required: ['code', 'message'],
          properties: {
            code: ref('ApiErrorCode'),
            message: { type: 'string', description: 'For people; safe to show.' },
            details: {
              type: 'array',
              description: 'A validation error: each problem, and where it is.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['path', 'message'],
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    ApiErrorCode: {
      type: 'string',
      description: Object.entries(API_ERROR_CODES)
        .map(([code, info]) => `- \`${code}\` (${info.status}): ${info.meaning}`)
        .join('\n'),
      enum: Object.keys(ApiErrorCode),
    },
    GatewayError: {
      type: 'object',
      description:
        'An answer of API Gateway itself, before or after the functions (no route, throttled, unauthorized, ' +
        'a function that failed or ran past 30 s). A client tells it apart by the missing `error` key.',
      additionalProperties: false,
      required: ['message'],
      properties: { message: { type: 'string' } },
    },
  };
}

/** One operation's possible error codes; their statuses come from the catalogue. */
type Gateway = { readonly status: number; readonly when: string };
const GATEWAY = {
  unauthorized: { status: 401, when: 'JWT auth: no token, or one the authorizer refuses' },
  forbidden: {
    status: 403,
    when: 'IAM auth: no valid SigV4 signature, or no `execute-api:Invoke` permission',
  },
  tooLarge: { status: 413, when: `the body is over API Gateway's ${MAX_REQUEST_BYTES / 1024 / 1024} MB` },
  throttled: {
    status: 429,
    when: 'the throttle is spent: retry with backoff (and the same idempotency key)',
  },
  failed: { status: 500, when: 'the function failed, timed out, or answered malformed' },
  timedOut: { status: 503, when: 'the integration ran past 30 s' },
} as const satisfies Record<string, Gateway>;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Service unavailable',
};

/** The error responses of an operation: by status, the API's codes and API Gateway's own answers. */
function errorResponses(codes: readonly ApiErrorCode[], gateway: readonly Gateway[]): Record<string, Schema> {
  const statuses = [
    ...new Set([...codes.map((c) => API_ERROR_CODES[c].status), ...gateway.map((g) => g.status)]),
  ].sort();
  return Object.fromEntries(
    statuses.map((status) => {
      const ours = codes.filter((c) => API_ERROR_CODES[c].status === status);
      const theirs = gateway.filter((g) => g.status === status);
      const apiError: Schema = {
        allOf: [
          ref('ApiError'),
          { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: ours } } } } },
        ],
      };
      const schemas = [
        ...(ours.length > 0 ? [apiError] : []),
        ...(theirs.length > 0 ? [ref('GatewayError')] : []),
      ];
      const lines = [
        ...ours.map((c) => `\`${c}\`: ${API_ERROR_CODES[c].meaning}.`),
        ...theirs.map((g) => `API Gateway (\`{ "message" }\`): ${g.when}.`),
      ];
      return [
        String(status),
        {
          description: `${STATUS_TEXT[status] ?? 'Error'}. ${lines.join(' ')}`,
          content: { 'application/json': { schema: schemas.length === 1 ? schemas[0] : { oneOf: schemas } } },
        },
      ];
    }),
  );
}

const json = (schema: Schema, description: string, headers?: Schema): Schema => ({
  description,
  ...(headers && { headers }),
  content: { 'application/json': { schema } },
});

const taskIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The task id. Anything else is answered 400 `ValidationError` (401 on the callback routes).',
  schema: ref('TaskId'),
};

const c = ApiErrorCode;
const SERVER_ERRORS = [c.InternalError, c.ServiceUnavailable] as const;
const AUTHORIZED_GATEWAY = [
  GATEWAY.unauthorized,
  GATEWAY.forbidden,
  GATEWAY.throttled,
  GATEWAY.failed,
  GATEWAY.timedOut,
];
const CALLBACK_GATEWAY = [GATEWAY.tooLarge, GATEWAY.throttled, GATEWAY.failed, GATEWAY.timedOut];

function paths(): Record<string, Schema> {
  const location = {
    Location: {
      description: 'The task: `/tasks/{task_id}`.',
      required: true,
      schema: { type: 'string', pattern: `^/tasks/${TASK_ID_PATTERN.source.replace(/^\^/, '')}` },
    },
  };
  const callbackSecurity = [{ attemptToken: [] }];
  return {
    '/tasks': {
      post: {
        operationId: 'submitTask',
        tags: ['tasks'],
        summary: 'Submit a task',
        description:
          'Validates the task and queues it in its tier; answers at once with its id. With an idempotency key, ' +
          'the same request again answers 200 with the original task and queues nothing.',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'The same as `idempotency_key` in the body (both sent: they must match). Printable ASCII.',
            schema: { type: 'string', minLength: 1, maxLength: 128, pattern: PRINTABLE_ASCII.source },
          },
        ],
        requestBody: {
          required: true,
          description:
            `JSON (\`application/json\` or \`application/*+json\`, UTF-8), at most ${DEFAULTS.maxBodyBytes} bytes ` +
            `by default (the construct's \`maxBodyBytes\`, up to ${LARGEST_MAX_BODY_BYTES} bytes) and nested at ` +
            `most ${DEFAULTS.maxJsonDepth} levels deep. The payload reaches the agent exactly as sent.`,
          content: { 'application/json': { schema: ref('TaskSubmission') } },
        },
        responses: {
          '200': json(
            ref('SubmittedTask'),
            'A replay: the idempotency key named this task; nothing new was queued.',
            location,
          ),
          '202': json(ref('SubmittedTask'), 'Accepted and queued.', location),
          ...errorResponses(
            [
              c.InvalidJson,
              c.ValidationError,
              c.UnknownTaskType,
              c.IdempotencyConflict,
              c.PayloadTooLarge,
              c.UnsupportedMediaType,
              ...SERVER_ERRORS,
            ],
            [...AUTHORIZED_GATEWAY, GATEWAY.tooLarge],
          ),
        },
      },
    },
    '/tasks/{id}': {
      parameters: [taskIdParameter],
      get: {
        operationId: 'getTask',
        tags: ['tasks'],
        summary: 'Read a task',
        description:
          'The task: its status, attempts, result or error, progress, and a published task’s deliveries.',
        responses: {
          '200': json(ref('Task'), 'The task.'),
          ...errorResponses([c.ValidationError, c.NotFound, ...SERVER_ERRORS], AUTHORIZED_GATEWAY),
        },
      },
      delete: {
        operationId: 'cancelTask',
        tags: ['tasks'],
        summary: 'Cancel a task',
        description:
          'Cancels a QUEUED or RETRYING task (200), or asks the agent of a RUNNING async task to stop (202). ' +
          'For a published task, each delivery that can still be cancelled.',
        responses: {
          '200': json(ref('Task'), 'Cancelled: the task (for a published task, with its deliveries).'),
          '202': json(ref('Task'), 'Requested: a running async agent is told at its next heartbeat.'),
          ...errorResponses(
            [c.ValidationError, c.NotFound, c.NotCancellable, ...SERVER_ERRORS],
            AUTHORIZED_GATEWAY,
          ),
        },
      },
    },
    '/tasks/{id}/heartbeat': {
      parameters: [taskIdParameter],
      post: {
        operationId: 'heartbeat',
        tags: ['callbacks'],
        summary: 'An async agent reports that its attempt runs',
        description:
          "Moves the attempt's deadline by its heartbeat window, and records its progress. Authenticated by the " +
          `attempt's token; throttled apart (\`callbackThrottle\`, by default ${DEFAULTS.callbackThrottle.rateLimit} ` +
          `requests per second, burst ${DEFAULTS.callbackThrottle.burstLimit}).`,
        security: callbackSecurity,
        requestBody: { required: false, content: { 'application/json': { schema: ref('Heartbeat') } } },
        responses: {
          '200': json(
            ref('HeartbeatAnswer'),
            'The attempt goes on; `cancel_requested` says whether to stop.',
          ),
          ...errorResponses(
            [
              c.InvalidJson,
              c.ValidationError,
              c.Unauthorized,
              c.AttemptNotCurrent,
              c.PayloadTooLarge,
              ...SERVER_ERRORS,
            ],
            CALLBACK_GATEWAY,
          ),
        },
      },
    },
    '/tasks/{id}/complete': {
      parameters: [taskIdParameter],
      post: {
        operationId: 'completeAttempt',
        tags: ['callbacks'],
        summary: 'An async agent ends its attempt',
        description:
          "Settles the attempt with its result or error, by the queue's retry rules. The same completion sent " +
          'again answers 200. Authenticated by the attempt’s token; throttled as the heartbeat.',
        security: callbackSecurity,
        requestBody: { required: true, content: { 'application/json': { schema: ref('Completion') } } },
        responses: {
          '200': json(ref('Task'), 'Settled: the task as it is now.'),
          ...errorResponses(
            [
              c.InvalidJson,
              c.ValidationError,
              c.Unauthorized,
              c.AttemptNotCurrent,
              c.CompletionConflict,
              ...SERVER_ERRORS,
            ],
            CALLBACK_GATEWAY,
          ),
        },
      },
    },
  };
}

/** The API's limits, for tools (`x-limits`) and people (the description). */
export const API_LIMITS = {
  maxBodyBytes: DEFAULTS.maxBodyBytes,
  maxBodyBytesCeiling: LARGEST_MAX_BODY_BYTES,
  maxJsonDepth: DEFAULTS.maxJsonDepth,
  maxHeartbeatBodyBytes: MAX_HEARTBEAT_BODY_BYTES,
  maxGatewayBodyBytes: MAX_REQUEST_BYTES,
  throttle: DEFAULTS.throttle,
  callbackThrottle: DEFAULTS.callbackThrottle,
} as const;

export function buildOpenApi(): Schema {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const l = API_LIMITS;
  return {
    openapi: '3.1.0',
    info: {
      title: 'agent-task-queue',
      version,
      summary:
        'A task queue for AI-agent workloads: submit tasks, read and cancel them; async agents report back.',
      description: [
        'Generated by scripts/openapi.ts from schema/task.schema.json and the code; do not edit.',
        '',
        'Limits (the construct’s defaults):',
        `- a POST /tasks body: at most ${l.maxBodyBytes} bytes (\`maxBodyBytes\`, up to ${l.maxBodyBytesCeiling}), nested at most ${l.maxJsonDepth} levels;`,
        `- a heartbeat body: at most ${l.maxHeartbeatBodyBytes} bytes; any body: at most ${l.maxGatewayBodyBytes} bytes (API Gateway);`,
        `- throttling (429): ${l.throttle.rateLimit} requests per second, burst ${l.throttle.burstLimit} (\`throttle\`), ` +
          `and apart from it the callback routes: ${l.callbackThrottle.rateLimit} per second, burst ${l.callbackThrottle.burstLimit} (\`callbackThrottle\`).`,
        '',
        'On a 5xx, retry with the same idempotency key: the task may or may not have been queued.',
      ].join('\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'The local runtime (`npm start`): no authentication.' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stack (its `ApiUrl` output).',
        variables: {
          apiId: { default: 'abcdef1234', description: 'The HTTP API id.' },
          region: { default: 'us-east-1', description: 'The stack’s region.' },
        },
      },
    ],
    tags: [
      { name: 'tasks', description: 'Producers: submit, read and cancel tasks (IAM or JWT).' },
      {
        name: 'callbacks',
        description: 'Async agents report on their attempt (the attempt’s bearer token).',
      },
    ],
    // One or the other, as the stack's `auth` says.
    security: [{ sigv4: [] }, { jwt: [] }],
    paths: paths(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'IAM (the default, `auth: { kind: "iam" }`): AWS Signature Version 4 for the service `execute-api`, ' +
            'with credentials allowed `execute-api:Invoke` on the route (`grantSubmit`, `grantRead`).',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'JWT (`auth: { kind: "jwt", issuer, audience }`): a token of your identity provider; API Gateway checks its issuer, audience, expiry and signature.',
        },
        attemptToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The callback routes: the token the consumer gave this attempt (`callback.token`), not IAM or JWT.',
        },
      },
    },
    'x-limits': API_LIMITS,
  };
}

/** The document as written to openapi.json. */
export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

if (require.main === module) {
  const text = renderOpenApi();
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(target, 'utf8');
    } catch {}
    if (committed !== text) {
      console.error(`${target} is stale: run npx tsx scripts/openapi.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
