/**
 * The handlers' side of the contract with lib/ (lambda/contract/environment.ts): each handler reads every
 * variable of its function's environment, and has no fallback for any of them.
 */
import { FUNCTION_ENV, FunctionRole } from '../../../lambda/contract';

/** A value for every variable a handler may read: enough for its module to load. */
const VALUES: Record<string, string> = {
  TASK_TABLE_NAME: 'tasks',
  HIGH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/high',
  LOW_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/low',
  TASK_TYPES: 'echo',
  TOPICS: JSON.stringify({ 'echo.twice': ['echo'] }),
  MAX_BODY_BYTES: '262144',
  MAX_JSON_DEPTH: '32',
  TASK_RETENTION_SECONDS: '600',
  RESULT_BUCKET_NAME: 'results',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/high',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/high-dlq',
  DEAD_LETTER_QUEUE_URLS: 'https://sqs.eu-west-1.amazonaws.com/123456789012/high-dlq',
  AGENTS: JSON.stringify({ echo: { kind: 'http', url: 'https://agent.example/echo', timeoutSeconds: 5 } }),
  MAX_RECEIVE_COUNT: '5',
  LEASE_SECONDS: '240',
  BACKOFF_BASE_SECONDS: '2',
  BACKOFF_CAP_SECONDS: '300',
  MAX_RESULT_BYTES: '262144',
  REDRIVE_GRACE_SECONDS: '900',
  SWEEP_MAX_MESSAGES: '1000',
  CALLBACK_BASE_URL: 'https://api.example.com',
  LIMITS_TABLE_NAME: 'limits',
  TENANT_MAX_CONCURRENCY: '0',
  LIMIT_WAKE_UP_SECONDS: '5',
  EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:events',
  UNPUBLISHED_EVENTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/unpublished',
  EVENT_TRANSITIONS: 'SUCCEEDED,FAILED,CANCELLED',
};

const HANDLERS = [
  [FunctionRole.Producer, 'enqueue'],
  [FunctionRole.Status, 'task-status'],
  [FunctionRole.Consumer, 'consumer'],
  [FunctionRole.Sweeper, 'dead-letter-sweeper'],
  [FunctionRole.Callback, 'callback'],
  [FunctionRole.Completion, 'completion'],
  [FunctionRole.EventPublisher, 'event-publisher'],
  [FunctionRole.AcceptedTasks, 'accepted-tasks'],
] as const;

const cases = HANDLERS.flatMap(([role, file]) => FUNCTION_ENV[role].map((name) => [file, name] as const));

describe('Handlers: configuration from the environment', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    process.env.AWS_REGION = 'eu-west-1';
    process.env.LOG_LEVEL = 'SILENT';
    for (const name of Object.keys(VALUES)) delete process.env[name];
  });

  afterAll(() => {
    process.env = saved;
  });

  const load = (file: string) =>
    jest.isolateModules(() => {
      require(`../../../lambda/handlers/${file}`);
    });

  test.each(HANDLERS)('the %s handler loads with its function environment', (role, file) => {
    // Prepare
    for (const name of FUNCTION_ENV[role]) process.env[name] = VALUES[name];

    // Act / Assess
    expect(() => load(file)).not.toThrow();
  });

  test.each(cases)('the %s handler throws when %s is not set', (file, missing) => {
    // Prepare
    const role = HANDLERS.find(([, f]) => f === file)![0];
    for (const name of FUNCTION_ENV[role]) if (name !== missing) process.env[name] = VALUES[name];

    // Act / Assess
    expect(() => load(file)).toThrow(`${missing} environment variable is not set`);
  });

  test.each(HANDLERS)('the %s handler throws when LOG_LEVEL is not set or is no level', (role, file) => {
    // Prepare: the function's environment, set by HandlerFunction for every function, but its log level
    for (const name of FUNCTION_ENV[role]) process.env[name] = VALUES[name];
    delete process.env.LOG_LEVEL;

    // Act / Assess
    expect(() => load(file)).toThrow('LOG_LEVEL environment variable is not set');
    process.env.LOG_LEVEL = 'VERBOSE';
    expect(() => load(file)).toThrow(
      "LOG_LEVEL environment variable must be one of DEBUG, INFO, WARN, ERROR, SILENT, but 'VERBOSE' was set",
    );
  });
});
