/**
 * Where the dashboard reads from: every TaskQueue construct of the template, found by its consumer functions
 * (TASKQ_FUNCTION_ROLE=consumer), whose environment names the tier's queue, its DLQ, the task table, the limits
 * table and the agents. Read from the template, so the dashboard works for any CDK app that uses the construct,
 * with one TaskQueue or several.
 */
import { type AgentTargets, EnvName, FunctionRole, parseAgentTargets } from '../../lambda/contract';
import { type IntrinsicContext, resolveIntrinsics } from '../intrinsics';
import { resourcesOfType } from '../template';

/** One tier of one TaskQueue. */
export interface TierLayout {
  /** The tier, from the consumer's construct path: `high` or `low`. */
  readonly tier: string;
  readonly queueUrl: string;
  readonly queueName: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueName: string;
}

/** One TaskQueue construct. */
export interface TaskQueueLayout {
  /** The construct's path under the stack, e.g. `TaskQueue`. */
  readonly queue: string;
  readonly tableName: string;
  /** @default - the TaskQueue has no limits table */
  readonly limitsTableName?: string;
  readonly tiers: readonly TierLayout[];
  /** The agent types, with their limits and modes (the consumers' `AGENTS`). */
  readonly agents: AgentTargets;
}

/** A consumer function as the template declares it: its construct path and its resolved environment. */
export interface ConsumerFunction {
  /** e.g. `AgentTaskQueueLocal/TaskQueue/High/Consumer/Resource`. */
  readonly path: string;
  readonly env: Readonly<Record<string, string>>;
}

const queueNameOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/** Groups consumer functions into TaskQueues, tiers in the order they come (the construct declares high first). */
export function taskQueuesOf(consumers: readonly ConsumerFunction[]): TaskQueueLayout[] {
  const queues = new Map<string, { layout: Omit<TaskQueueLayout, 'tiers'>; tiers: TierLayout[] }>();
  for (const { path, env } of consumers) {
    const parts = path.split('/').filter((p) => p !== 'Resource');
    // <stack>/<queue…>/<Tier>/<Consumer>
    if (parts.length < 4) continue;
    const tierName = parts[parts.length - 2]!;
    const queue = parts.slice(1, -2).join('/');
    const queueUrl = env[EnvName.QueueUrl];
    const deadLetterQueueUrl = env[EnvName.DeadLetterQueueUrl];
    const tableName = env[EnvName.TaskTableName];
    if (!queueUrl || !deadLetterQueueUrl || !tableName) continue;
    let agents: AgentTargets = {};
    try {
      agents = parseAgentTargets(env[EnvName.Agents] ?? '{}');
    } catch {
      agents = {};
    }
    const entry = queues.get(queue) ?? {
      layout: {
        queue,
        tableName,
        ...(env[EnvName.LimitsTableName] && { limitsTableName: env[EnvName.LimitsTableName] }),
        agents,
      },
      tiers: [],
    };
    entry.tiers.push({
      tier: tierName.toLowerCase(),
      queueUrl,
      queueName: queueNameOf(queueUrl),
      deadLetterQueueUrl,
      deadLetterQueueName: queueNameOf(deadLetterQueueUrl),
    });
    queues.set(queue, entry);
  }
  return [...queues.values()].map(({ layout, tiers }) => ({ ...layout, tiers }));
}

/** The consumer functions of a template, with their environment resolved to local values. */
export function consumerFunctions(ctx: IntrinsicContext): ConsumerFunction[] {
  return resourcesOfType(ctx.template, 'AWS::Lambda::Function').flatMap(([id, resource]) => {
    const raw = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    if (raw?.[EnvName.FunctionRole] !== FunctionRole.Consumer) return [];
    const variables = resolveIntrinsics(raw, ctx) as Record<string, unknown>;
    return [
      {
        path: String(resource.Metadata?.['aws:cdk:path'] ?? id),
        env: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      },
    ];
  });
}
