/**
 * How a consumer reaches the agent of a task type: the `AGENTS` environment variable (a JSON object keyed by
 * task type), and the same shape in the stack's configuration file. lib/ writes it, the agents adapter reads it
 * through `parseAgentTargets`, which validates every field rather than casting.
 */

/** An agent reached over HTTPS (or HTTP, for local use). */
export interface HttpAgentTarget {
  readonly kind: 'http';
  readonly url: string;
  /** How long the consumer waits for an answer. */
  readonly timeoutSeconds: number;
  /**
   * A Secrets Manager secret whose value is sent as a bearer token.
   * @default - no Authorization header
   */
  readonly authSecretArn?: string;
}

/** An agent that is a Lambda function, invoked synchronously by its ARN. */
export interface LambdaAgentTarget {
  readonly kind: 'lambda';
  readonly functionArn: string;
  readonly timeoutSeconds: number;
}

export type AgentTarget = HttpAgentTarget | LambdaAgentTarget;

/** The value of `AGENTS`: task type → target. */
export type AgentTargets = Readonly<Record<string, AgentTarget>>;

/** A target whose timeout may be left out, as in the configuration file (the construct's default applies). */
export type AgentTargetConfig =
  | (Omit<HttpAgentTarget, 'timeoutSeconds'> & { readonly timeoutSeconds?: number })
  | (Omit<LambdaAgentTarget, 'timeoutSeconds'> & { readonly timeoutSeconds?: number });

const SHAPES = '{ "kind": "http", "url": … } or { "kind": "lambda", "functionArn": … }';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks one agent entry and returns it typed. Throws a message that names the task type and the field.
 * With `timeout: 'optional'`, `timeoutSeconds` may be left out (the configuration file); otherwise it is required.
 */
export function parseAgentTarget(
  type: string,
  value: unknown,
  opts: { timeout: 'optional' },
): AgentTargetConfig;
export function parseAgentTarget(type: string, value: unknown, opts?: { timeout: 'required' }): AgentTarget;
export function parseAgentTarget(
  type: string,
  value: unknown,
  opts: { timeout: 'optional' | 'required' } = { timeout: 'required' },
): AgentTargetConfig {
  const ok =
    isObject(value) &&
    ((value.kind === 'http' && typeof value.url === 'string' && value.url !== '') ||
      (value.kind === 'lambda' && typeof value.functionArn === 'string' && value.functionArn !== ''));
  if (!ok) throw new Error(`agent '${type}' must be ${SHAPES}`);
  const timeoutSeconds = value.timeoutSeconds;
  if (timeoutSeconds === undefined) {
    if (opts.timeout === 'required') throw new Error(`agent '${type}' timeoutSeconds must be set`);
  } else if (
    !(typeof timeoutSeconds === 'number' && Number.isInteger(timeoutSeconds) && timeoutSeconds > 0)
  ) {
    throw new Error(`agent '${type}' timeoutSeconds must be a positive integer`);
  }
  const timeout = timeoutSeconds === undefined ? {} : { timeoutSeconds };
  if (value.kind === 'lambda')
    return { kind: 'lambda', functionArn: value.functionArn as string, ...timeout };
  const authSecretArn = value.authSecretArn;
  if (authSecretArn !== undefined && (typeof authSecretArn !== 'string' || authSecretArn === '')) {
    throw new Error(`agent '${type}' authSecretArn must be a secret ARN`);
  }
  return {
    kind: 'http',
    url: value.url as string,
    ...timeout,
    ...(authSecretArn !== undefined && { authSecretArn }),
  };
}

/** Parses and checks the `AGENTS` environment variable. */
export function parseAgentTargets(json: string): AgentTargets {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`AGENTS environment variable is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(value))
    throw new Error('AGENTS environment variable must be a JSON object of task type → agent');
  try {
    return Object.fromEntries(
      Object.entries(value).map(([type, target]) => [type, parseAgentTarget(type, target)]),
    );
  } catch (error) {
    throw new Error(`AGENTS environment variable: ${(error as Error).message}`);
  }
}
