import { Duration, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
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
   * How long the consumer waits for an answer before it counts a transient failure.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
}

/** An agent that is a Lambda function, invoked synchronously. */
export interface LambdaAgent {
  readonly kind: 'lambda';
  readonly function: lambda.IFunction;
  /**
   * How long the consumer waits for the function's answer before it counts a transient failure.
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
