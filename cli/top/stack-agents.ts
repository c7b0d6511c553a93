/**
 * A deployed stack's agent types and their limits, read from its template: the consumers' `AGENTS` environment
 * variable (lambda/contract/agent-target.ts), the same value the consumers run with. CloudWatch only knows the
 * types that have emitted a metric; the template also names the quiet ones, and their limits.
 */
import { EnvName } from '../../lambda/contract/environment';
import { readJoinedJson } from '../../local/joined-json';
import { CommandError } from '../errors';

export interface StackAgent {
  readonly type: string;
  /** @default - no concurrency limit */
  readonly maxConcurrency?: number;
  /** @default - no rate limit */
  readonly rateLimit?: { readonly requests: number; readonly perSeconds: number };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function toAgent(type: string, target: unknown): StackAgent {
  const agent: { -readonly [K in keyof StackAgent]: StackAgent[K] } = { type };
  if (!isObject(target)) return agent;
  if (typeof target.maxConcurrency === 'number') agent.maxConcurrency = target.maxConcurrency;
  const rate = target.rateLimit;
  if (isObject(rate) && typeof rate.requests === 'number' && typeof rate.per === 'number')
    agent.rateLimit = { requests: rate.requests, perSeconds: rate.per };
  return agent;
}

/**
 * The agent types of every function with an `AGENTS` variable (the consumers of both tiers carry the same one),
 * in the order first met. `templateBody` is what CloudFormation's GetTemplate answers (JSON: the CDK deploys
 * JSON templates).
 */
export function agentsFromTemplate(templateBody: string): StackAgent[] {
  let template: unknown;
  try {
    template = JSON.parse(templateBody);
  } catch {
    throw new CommandError(
      'InvalidTemplate',
      'the stack template is not JSON: is it an agent-task-queue stack?',
    );
  }
  const resources = isObject(template) && isObject(template.Resources) ? template.Resources : {};
  const agents = new Map<string, StackAgent>();
  for (const resource of Object.values(resources)) {
    if (!isObject(resource) || resource.Type !== 'AWS::Lambda::Function') continue;
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    const environment = isObject(properties.Environment) ? properties.Environment : {};
    const variables = isObject(environment.Variables) ? environment.Variables : {};
    const value = variables[EnvName.Agents];
    if (value === undefined) continue;
    let targets: unknown;
    try {
      targets = readJoinedJson(value)?.value;
    } catch {
      targets = undefined;
    }
    if (!isObject(targets)) continue;
    for (const [type, target] of Object.entries(targets))
      if (!agents.has(type)) agents.set(type, toAgent(type, target));
  }
  return [...agents.values()];
}
