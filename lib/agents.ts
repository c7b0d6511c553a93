import { Duration, type Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  type AgentMode,
  type AgentTarget,
  type AgentTargets,
  BundlePart,
  DEFAULTS,
} from '../lambda/contract';
import { LAMBDA_DEFAULT_TIMEOUT_SECONDS } from '../lambda/contract/settings-rules';
import { MAX_LIMIT, MAX_RATE_WINDOW_SECONDS } from '../lambda/core/limits';

/**
 * How the consumer runs an agent, for either kind. `sync` (the default): it waits for the answer, within the
 * agent timeout. `async`: it hands the task over and returns; the agent reports back through
 * `POST /tasks/{id}/heartbeat` and `POST /tasks/{id}/complete` (or, for a Lambda agent of the app, through its
 * destinations) within its heartbeat window, for at most `maxRunTime`. See docs/agents.md.
 */
export interface AgentModeOptions {
  /**
   * `sync`: the consumer waits for the answer. `async`: the consumer hands the task over (a 202 from an HTTP
   * agent, an `Event` invoke of a Lambda agent) and the agent reports back; the attempt may run up to
   * `maxRunTime`, far beyond the consumer's own timeout.
   * @default 'sync'
   */
  readonly mode?: AgentMode;
  /**
   * Async agents only: the longest silence allowed between the hand-off, the heartbeats and the completion.
   * An attempt that stays silent longer fails with the transient `HeartbeatTimeout` and is tried again with
   * backoff. At most `maxRunTime`.
   * @default Duration.minutes(5)
   */
  readonly heartbeatTimeout?: Duration;
  /**
   * Async agents only: the longest one attempt may run, heartbeats or not; past it the attempt fails with the
   * transient `AgentRunTimeExceeded`. At most 12 hours less the consumer timeout less 60 s
   * (lambda/contract/agent-target.ts `maxRunTimeLimitSeconds`): an attempt keeps its SQS message in flight, and
   * SQS holds a received message in flight for at most 12 hours from the receive.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
   * @default Duration.hours(1)
   */
  readonly maxRunTime?: Duration;
}

/**
 * An agent's rate limit: in any sliding interval of length `per`, at most `requests` agent calls start.
 */
export interface RateLimit {
  /** Calls that may start within one interval: an integer from 1 to `MAX_LIMIT` (1000). */
  readonly requests: number;
  /** The interval: whole seconds, from 1 second to `MAX_RATE_WINDOW_SECONDS` (1 hour). */
  readonly per: Duration;
}

/**
 * Limits toward the agent, enforced across all consumers and both tiers by the limiter's table (LimitTable;
 * lambda/core/limits.ts). A task held back by a limit keeps its status and its attempts, and shows
 * `waiting: { reason, since }` until a slot frees; see the README's "Limits and fairness".
 */
export interface AgentLimitOptions {
  /**
   * Tasks of this type running at once, across all consumers and both tiers: an integer from 1 to `MAX_LIMIT`
   * (1000). A sync task counts from its claim to its outcome; an async task until it completes or its heartbeat
   * times out; an attempt that timed out until its retry delay has passed (the agent may still be working).
   * @default - no limit
   */
  readonly maxConcurrency?: number;
  /**
   * At most `requests` agent calls start in any sliding interval of length `per`.
   * @default - no limit
   */
  readonly rateLimit?: RateLimit;
}

/** An agent reached over HTTPS (or HTTP, for local use). */
export interface HttpAgent extends AgentModeOptions, AgentLimitOptions {
  readonly kind: 'http';
  readonly url: string;
  /**
   * A Secrets Manager secret whose value the consumer sends as `Authorization: Bearer <value>`.
   * The value is read at run time and cached for five minutes; it never appears in the template or the environment.
   * @default - no Authorization header
   */
  readonly authSecret?: secretsmanager.ISecret;
  /**
   * How long the consumer waits for an answer before it counts a transient failure (`AgentTimeout`). The agent
   * gets the moment as `deadline`; after a time-out the task waits at least this long before its next attempt.
   * At most the consumer timeout less its margin (lambda/core/agent-timeout.ts `maxAgentTimeoutSeconds`).
   * For an async agent, how long the consumer waits for the hand-off answer (the 202).
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
}

/**
 * An agent that is a Lambda function: invoked synchronously (`RequestResponse`) in `sync` mode, and with
 * `InvocationType: 'Event'` in `async` mode.
 */
export interface LambdaAgent extends AgentModeOptions, AgentLimitOptions {
  readonly kind: 'lambda';
  /**
   * The agent. In `sync` mode, when it is a `lambda.Function` of this app, its own timeout must not be longer
   * than the agent timeout: the consumer stops waiting at the agent timeout, but the function would keep running
   * into the next attempt (lambda/core/agent-timeout.ts `functionTimeoutFits`).
   *
   * In `async` mode, a `lambda.Function` of this app completes through Lambda destinations: the construct gives
   * it its event invoke config (no retries, a maximum event age of `heartbeatTimeout` less its function timeout,
   * which must leave at least 60 s, and the completion function as its destination on success and on failure),
   * so the function itself needs no callback code. It must not have an event invoke config of its own. A
   * function imported by ARN or name gets no event invoke config: it can be async only by reporting through the
   * callback routes itself (the request carries `callback.url` and `callback.token`). Either way, a Lambda agent
   * runs for at most Lambda's 15 minutes.
   */
  readonly function: lambda.IFunction;
  /**
   * As for HTTP agents. A function that runs out of its own time is an `AgentTimeout` too.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
}

export type AgentDefinition = HttpAgent | LambdaAgent;

/** Maps a task `type` to the agent that runs it. Consumers can reach only the agents listed here. */
export type AgentRegistry = Readonly<Record<string, AgentDefinition>>;

export const DEFAULT_AGENT_TIMEOUT = Duration.seconds(DEFAULTS.agentTimeoutSeconds);

/** Task types are the `type` field of the task contract; keep them to the same pattern as the JSON Schema. */
export const TASK_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const DEFAULT_HEARTBEAT_TIMEOUT = Duration.seconds(DEFAULTS.heartbeatTimeoutSeconds);
export const DEFAULT_MAX_RUN_TIME = Duration.seconds(DEFAULTS.maxRunTimeSeconds);

export function agentTimeout(agent: AgentDefinition): Duration {
  return agent.timeout ?? DEFAULT_AGENT_TIMEOUT;
}

/** The resolved limits of an async agent, or `undefined` for a sync one. */
export function asyncAgentLimits(
  agent: AgentDefinition,
): { readonly heartbeatTimeout: Duration; readonly maxRunTime: Duration } | undefined {
  if (agent.mode !== 'async') return undefined;
  return {
    heartbeatTimeout: agent.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT,
    maxRunTime: agent.maxRunTime ?? DEFAULT_MAX_RUN_TIME,
  };
}

/**
 * The function of an async Lambda agent that is a `lambda.Function` of this app: the one kind of agent that
 * completes through Lambda destinations. `undefined` for every other agent.
 */
export function destinationAgentFunction(agent: AgentDefinition): lambda.Function | undefined {
  if (agent.kind !== 'lambda' || agent.mode !== 'async') return undefined;
  return agent.function instanceof lambda.Function ? agent.function : undefined;
}

/** Lambda's own default function timeout, when a function sets none (settings-rules.ts). */
const LAMBDA_DEFAULT_TIMEOUT = Duration.seconds(LAMBDA_DEFAULT_TIMEOUT_SECONDS);

/**
 * The function timeout of a Lambda agent built in this app (a `lambda.Function`); `undefined` for HTTP agents,
 * for functions imported by ARN or name, and for timeouts not known until deploy time.
 */
export function agentFunctionTimeout(agent: AgentDefinition): Duration | undefined {
  if (agent.kind !== 'lambda' || !(agent.function instanceof lambda.Function)) return undefined;
  const timeout = agent.function.timeout ?? LAMBDA_DEFAULT_TIMEOUT;
  return Token.isUnresolved(timeout.toSeconds()) ? undefined : timeout;
}

/** The AGENTS environment variable of the consumers (see lambda/contract/agent-target.ts). */
export function agentTargetsJson(scope: Stack, agents: AgentRegistry): string {
  const targets: AgentTargets = Object.fromEntries(
    Object.entries(agents).map(([type, agent]): [string, AgentTarget] => {
      // A sync agent's target is written as it always was: no mode field.
      const limits = asyncAgentLimits(agent);
      const mode = limits && {
        mode: 'async' as const,
        heartbeatTimeoutSeconds: limits.heartbeatTimeout.toSeconds(),
        maxRunTimeSeconds: limits.maxRunTime.toSeconds(),
      };
      // An agent without limits is written as it always was: no limit fields.
      const slots = {
        ...(agent.maxConcurrency !== undefined && { maxConcurrency: agent.maxConcurrency }),
        ...(agent.rateLimit && {
          rateLimit: { requests: agent.rateLimit.requests, per: agent.rateLimit.per.toSeconds() },
        }),
      };
      return [
        type,
        agent.kind === 'http'
          ? {
              kind: 'http',
              url: agent.url,
              timeoutSeconds: agentTimeout(agent).toSeconds(),
              ...(agent.authSecret && { authSecretArn: agent.authSecret.secretArn }),
              ...mode,
              ...slots,
            }
          : {
              kind: 'lambda',
              functionArn: agent.function.functionArn,
              timeoutSeconds: agentTimeout(agent).toSeconds(),
              ...mode,
              ...slots,
            },
      ];
    }),
  );
  return scope.toJsonString(targets);
}

/**
 * Lists every rule the agents' limits break, worded as the CDK does: `maxConcurrency` and `rateLimit.requests`
 * are integers from 1 to `MAX_LIMIT` (they bound the size of a counter item), `rateLimit.per` is whole seconds
 * from 1 to `MAX_RATE_WINDOW_SECONDS`. The consumers' parser of AGENTS (lambda/contract/agent-target.ts) holds
 * them to the same bounds.
 */
export function agentLimitErrors(agents: AgentRegistry): string[] {
  const errors: string[] = [];
  const inRange = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  for (const [type, agent] of Object.entries(agents)) {
    const { maxConcurrency, rateLimit } = agent;
    if (
      maxConcurrency !== undefined &&
      !Token.isUnresolved(maxConcurrency) &&
      !inRange(maxConcurrency, MAX_LIMIT)
    ) {
      errors.push(
        `agent '${type}' maxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but ${maxConcurrency} was provided`,
      );
    }
    if (!rateLimit) continue;
    if (!Token.isUnresolved(rateLimit.requests) && !inRange(rateLimit.requests, MAX_LIMIT)) {
      errors.push(
        `agent '${type}' rateLimit.requests must be an integer between 1 and ${MAX_LIMIT}, but ${rateLimit.requests} was provided`,
      );
    }
    const per = rateLimit.per.toMilliseconds() / 1000;
    if (!Token.isUnresolved(rateLimit.per.toMilliseconds()) && !inRange(per, MAX_RATE_WINDOW_SECONDS)) {
      errors.push(
        `agent '${type}' rateLimit.per must be a whole number of seconds between 1 and ${MAX_RATE_WINDOW_SECONDS}, but ${per} seconds was provided`,
      );
    }
  }
  return errors;
}

/**
 * The consumer's bundle parts (lambda/contract/bundle-parts.ts) that no agent of the registry needs: the Lambda
 * client without a Lambda agent, the Secrets Manager client without an HTTP agent that has an auth secret.
 */
export function unusedAgentClients(agents: AgentRegistry): BundlePart[] {
  const all = Object.values(agents);
  return [
    ...(all.some((agent) => agent.kind === 'http' && agent.authSecret !== undefined)
      ? []
      : [BundlePart.AgentSecrets]),
    ...(all.some((agent) => agent.kind === 'lambda') ? [] : [BundlePart.LambdaAgents]),
  ];
}

/**
 * Lets `grantee` invoke exactly the Lambda agents of the registry: their unqualified ARNs, not `:*`
 * (the consumer never invokes a version or alias).
 */
export function grantInvokeAgents(agents: AgentRegistry, grantee: iam.IGrantable): void {
  const arns = Object.values(agents).flatMap((agent) =>
    agent.kind === 'lambda' ? [agent.function.functionArn] : [],
  );
  for (const agent of Object.values(agents)) {
    if (agent.kind === 'http') agent.authSecret?.grantRead(grantee);
  }
  if (arns.length === 0) return;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: arns }),
  );
}
