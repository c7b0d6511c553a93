/**
 * How a consumer reaches the agent of a task type: the `AGENTS` environment variable (a JSON object keyed by
 * task type), and the same shape in the stack's configuration file. lib/ writes it, the agents adapter reads it
 * through `parseAgentTargets`, which validates every field rather than casting.
 */
import { type AgentLimitConfig, MAX_LIMIT, MAX_RATE_WINDOW_SECONDS } from '../core/limits';

/**
 * How the consumer runs an agent. `sync`: it waits for the answer. `async`: it hands the task over (202, or an
 * `Event` invoke for a Lambda agent) and the agent reports back through the callback routes (or, for a Lambda
 * agent of the app, its destinations) within its heartbeat window (lambda/core/async-attempt.ts).
 */
export type AgentMode = 'sync' | 'async';

/** What an async agent's attempts are held to. Present exactly when `mode` is `async`. */
export interface AgentLimits {
  /** A heartbeat or completion must come within this many seconds of the hand-off or the last heartbeat. */
  readonly heartbeatTimeoutSeconds: number;
  /** The longest one attempt may run, heartbeats or not (at most `maxRunTimeLimitSeconds`). */
  readonly maxRunTimeSeconds: number;
}

/**
 * An agent's rate limit: in any sliding interval of `per` seconds, at most `requests` calls start. The same shape
 * in AGENTS and in the configuration file (the construct takes a `Duration`).
 */
export interface RateLimitConfig {
  readonly requests: number;
  readonly per: number;
}

/** Fields every agent target has, whatever its kind. */
interface AgentTargetMode {
  /**
   * Tasks of this type running at once, across all consumers and both tiers (an async task counts until it
   * completes or its heartbeat times out).
   * @default - no limit
   */
  readonly maxConcurrency?: number;
  /** @default - no limit */
  readonly rateLimit?: RateLimitConfig;
  /** @default 'sync' */
  readonly mode?: AgentMode;
  /** Required with `mode: 'async'` in AGENTS; optional in the configuration file. */
  readonly heartbeatTimeoutSeconds?: number;
  readonly maxRunTimeSeconds?: number;
}

/** An agent reached over HTTPS (or HTTP, for local use). */
export interface HttpAgentTarget extends AgentTargetMode {
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
export interface LambdaAgentTarget extends AgentTargetMode {
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
  const timeout = {
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    ...parseMode(type, value, opts),
    ...parseSlotLimits(type, value),
  };
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

/**
 * The longest `maxRunTimeSeconds`: SQS holds a received message in flight for at most 12 hours, counted from the
 * receive that returned it, and an async attempt keeps its message in flight. The receive comes before the
 * consumer's invocation, whose hand-off takes at most the consumer's timeout; a minute more covers the time from
 * the receive to the invocation.
 */
export const SQS_MAX_IN_FLIGHT_SECONDS = 43_200;
export function maxRunTimeLimitSeconds(consumerTimeoutSeconds: number): number {
  return SQS_MAX_IN_FLIGHT_SECONDS - consumerTimeoutSeconds - 60;
}

const positiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;

/** The mode fields of a target: none for a sync agent, both limits for an async one (when required). */
function parseMode(
  type: string,
  value: Record<string, unknown>,
  opts: { timeout: 'optional' | 'required' },
): AgentTargetMode {
  const { mode, heartbeatTimeoutSeconds, maxRunTimeSeconds } = value;
  if (mode !== undefined && mode !== 'sync' && mode !== 'async')
    throw new Error(`agent '${type}' mode must be 'sync' or 'async'`);
  if (mode !== 'async') {
    if (heartbeatTimeoutSeconds !== undefined || maxRunTimeSeconds !== undefined)
      throw new Error(`agent '${type}' heartbeatTimeoutSeconds and maxRunTimeSeconds need mode 'async'`);
    return mode === undefined ? {} : { mode };
  }
  for (const [name, limit] of Object.entries({ heartbeatTimeoutSeconds, maxRunTimeSeconds })) {
    if (limit === undefined) {
      if (opts.timeout === 'required') throw new Error(`agent '${type}' ${name} must be set`);
    } else if (!positiveInteger(limit)) {
      throw new Error(`agent '${type}' ${name} must be a positive integer`);
    }
  }
  if (
    positiveInteger(heartbeatTimeoutSeconds) &&
    positiveInteger(maxRunTimeSeconds) &&
    heartbeatTimeoutSeconds > maxRunTimeSeconds
  )
    throw new Error(`agent '${type}' heartbeatTimeoutSeconds must not be longer than maxRunTimeSeconds`);
  if (positiveInteger(maxRunTimeSeconds) && maxRunTimeSeconds > SQS_MAX_IN_FLIGHT_SECONDS)
    throw new Error(
      `agent '${type}' maxRunTimeSeconds must be at most ${SQS_MAX_IN_FLIGHT_SECONDS} (12 hours)`,
    );
  return {
    mode,
    ...(heartbeatTimeoutSeconds !== undefined && {
      heartbeatTimeoutSeconds: heartbeatTimeoutSeconds as number,
    }),
    ...(maxRunTimeSeconds !== undefined && { maxRunTimeSeconds: maxRunTimeSeconds as number }),
  };
}

/** The limit fields of a target: `maxConcurrency` and `rateLimit`, each optional, each checked. */
function parseSlotLimits(
  type: string,
  value: Record<string, unknown>,
): Pick<AgentTargetMode, 'maxConcurrency' | 'rateLimit'> {
  const { maxConcurrency, rateLimit } = value;
  if (maxConcurrency !== undefined && !(positiveInteger(maxConcurrency) && maxConcurrency <= MAX_LIMIT))
    throw new Error(`agent '${type}' maxConcurrency must be an integer from 1 to ${MAX_LIMIT}`);
  if (rateLimit !== undefined) {
    if (!isObject(rateLimit))
      throw new Error(`agent '${type}' rateLimit must be { "requests": …, "per": … }`);
    const { requests, per } = rateLimit;
    if (!(positiveInteger(requests) && requests <= MAX_LIMIT))
      throw new Error(`agent '${type}' rateLimit.requests must be an integer from 1 to ${MAX_LIMIT}`);
    if (!(positiveInteger(per) && per <= MAX_RATE_WINDOW_SECONDS))
      throw new Error(
        `agent '${type}' rateLimit.per must be a whole number of seconds from 1 to ${MAX_RATE_WINDOW_SECONDS}`,
      );
  }
  return {
    ...(maxConcurrency !== undefined && { maxConcurrency: maxConcurrency as number }),
    ...(rateLimit !== undefined && {
      rateLimit: {
        requests: (rateLimit as Record<string, number>).requests!,
        per: (rateLimit as Record<string, number>).per!,
      },
    }),
  };
}

/** The concurrency and rate limits of a target, or undefined when it has neither. */
export function slotLimits(target: AgentTargetMode): AgentLimitConfig | undefined {
  if (target.maxConcurrency === undefined && target.rateLimit === undefined) return undefined;
  return {
    ...(target.maxConcurrency !== undefined && { maxConcurrency: target.maxConcurrency }),
    ...(target.rateLimit !== undefined && {
      rateLimit: { requests: target.rateLimit.requests, perSeconds: target.rateLimit.per },
    }),
  };
}

/** The async limits of a target, or undefined for a sync one. */
export function asyncLimits(target: AgentTarget): AgentLimits | undefined {
  if (target.mode !== 'async') return undefined;
  return {
    heartbeatTimeoutSeconds: target.heartbeatTimeoutSeconds!,
    maxRunTimeSeconds: target.maxRunTimeSeconds!,
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
