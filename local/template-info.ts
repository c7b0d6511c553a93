/**
 * What the banner and `LocalRuntime` say about the app's task queues, read from the template rather than from a
 * configuration, so that it is right for any app: each TaskQueue's functions carry it in their environment
 * (lambda/contract/environment.ts), written by the construct. The producers name the task types and topics, the
 * consumers the agents (`AGENTS`, contract/agent-target.ts) and the limits, the event publisher the transitions.
 */
import { EnvName, FunctionRole, parseAgentTarget, parseTopics } from '../lambda/contract';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import { resourcesOfType } from './template';

/** An agent type's limits (`per` in seconds). */
export interface AgentLimitsInfo {
  readonly maxConcurrency?: number;
  readonly rateLimit?: { readonly requests: number; readonly per: number };
}

export interface TaskQueueInfo {
  /** The task types of every TaskQueue of the stack. */
  readonly taskTypes: readonly string[];
  /** Topic → subscribers. */
  readonly topics: Readonly<Record<string, readonly string[]>>;
  /** Async task types and their heartbeat timeout in seconds. */
  readonly asyncTaskTypes: Readonly<Record<string, number>>;
  readonly agentLimits: Readonly<Record<string, AgentLimitsInfo>>;
  /** The tenant cap; undefined when no TaskQueue has one. */
  readonly tenantMaxConcurrency?: number;
  /** The longest limit wake-up of the stack's TaskQueues; undefined when it has none. */
  readonly limitWakeUpSeconds?: number;
  /** The transitions the events topics publish; empty when no TaskQueue publishes. */
  readonly eventTransitions: readonly string[];
  /**
   * Lambda agents whose function is not one of the stack's (imported by ARN), as `TYPE → ARN`: nothing runs them
   * locally.
   */
  readonly notRunnable: readonly string[];
}

/** The functions of one role with their environment, intrinsics resolved. */
function environments(ctx: IntrinsicContext, role: string): Array<Record<string, unknown>> {
  return resourcesOfType(ctx.template, 'AWS::Lambda::Function').flatMap(([, fn]) => {
    const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    if (variables?.[EnvName.FunctionRole] !== role) return [];
    return [resolveIntrinsics(variables, ctx) as Record<string, unknown>];
  });
}

/** In first-seen order, each once. */
const unique = (values: Iterable<string>) => [...new Set(values)];

export function taskQueueInfo(ctx: IntrinsicContext): TaskQueueInfo {
  const producers = environments(ctx, FunctionRole.Producer);
  const consumers = environments(ctx, FunctionRole.Consumer);
  const publishers = environments(ctx, FunctionRole.EventPublisher);
  const functionArns = new Set(
    resourcesOfType(ctx.template, 'AWS::Lambda::Function').map(
      ([id]) => ctx.resources.get(id)?.attributes.Arn,
    ),
  );

  const taskTypes = unique(
    producers.flatMap((env) =>
      String(env[EnvName.TaskTypes] ?? '')
        .split(',')
        .filter((t) => t !== ''),
    ),
  );
  const topics: Record<string, readonly string[]> = {};
  for (const env of producers) {
    const encoded = env[EnvName.Topics];
    if (typeof encoded === 'string') Object.assign(topics, parseTopics(encoded));
  }
  const asyncTaskTypes: Record<string, number> = {};
  const agentLimits: Record<string, AgentLimitsInfo> = {};
  const notRunnable = new Set<string>();
  for (const env of consumers) {
    const agents = JSON.parse(String(env[EnvName.Agents] ?? '{}')) as Record<string, unknown>;
    for (const [type, value] of Object.entries(agents)) {
      const agent = parseAgentTarget(type, value);
      if (agent.mode === 'async') asyncTaskTypes[type] = agent.heartbeatTimeoutSeconds ?? 0;
      if (agent.maxConcurrency !== undefined || agent.rateLimit !== undefined) {
        agentLimits[type] = {
          ...(agent.maxConcurrency !== undefined && { maxConcurrency: agent.maxConcurrency }),
          ...(agent.rateLimit !== undefined && { rateLimit: agent.rateLimit }),
        };
      }
      if (agent.kind === 'lambda' && !functionArns.has(agent.functionArn.replace(/:\$LATEST$/, '')))
        notRunnable.add(`${type} → ${agent.functionArn}`);
    }
  }
  const caps = consumers.map((env) => Number(env[EnvName.TenantMaxConcurrency] ?? 0)).filter((n) => n > 0);
  const wakeUps = consumers.map((env) => Number(env[EnvName.LimitWakeUpSeconds])).filter((n) => n > 0);
  return {
    taskTypes,
    topics,
    asyncTaskTypes,
    agentLimits,
    ...(caps.length > 0 && { tenantMaxConcurrency: Math.min(...caps) }),
    ...(wakeUps.length > 0 && { limitWakeUpSeconds: Math.max(...wakeUps) }),
    eventTransitions: unique(
      publishers.flatMap((env) =>
        String(env[EnvName.EventTransitions] ?? '')
          .split(',')
          .filter((t) => t !== ''),
      ),
    ),
    notRunnable: [...notRunnable],
  };
}
