import { Duration, type Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { type AgentTarget, type AgentTargets, DEFAULTS } from '../lambda/contract';

/** An agent reached over HTTPS (or HTTP, for local use). */
export interface HttpAgent {
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
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
}

/** An agent that is a Lambda function, invoked synchronously. */
export interface LambdaAgent {
  readonly kind: 'lambda';
  /**
   * The agent. When it is a `lambda.Function` of this app, its own timeout must not be longer than the agent
   * timeout: the consumer stops waiting at the agent timeout, but the function would keep running into the
   * next attempt (lambda/core/agent-timeout.ts `functionTimeoutFits`).
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

export function agentTimeout(agent: AgentDefinition): Duration {
  return agent.timeout ?? DEFAULT_AGENT_TIMEOUT;
}

/**
 * Lambda's own default function timeout, when a function sets none.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
 */
const LAMBDA_DEFAULT_TIMEOUT = Duration.seconds(3);

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
    Object.entries(agents).map(([type, agent]): [string, AgentTarget] => [
      type,
      agent.kind === 'http'
        ? {
            kind: 'http',
            url: agent.url,
            timeoutSeconds: agentTimeout(agent).toSeconds(),
            ...(agent.authSecret && { authSecretArn: agent.authSecret.secretArn }),
          }
        : {
            kind: 'lambda',
            functionArn: agent.function.functionArn,
            timeoutSeconds: agentTimeout(agent).toSeconds(),
          },
    ]),
  );
  return scope.toJsonString(targets);
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
