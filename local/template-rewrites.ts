/**
 * The `taskq local` flags that change timings and limits, applied to any app as one consistent rewrite of its
 * synthesized template: a flag moves every value the construct derives from it (function timeout, lease,
 * visibility timeout, redrive policy, agent timeouts), so that the rewritten template is one the construct itself
 * could have synthesized.
 *
 * The TaskQueue resources are found by what the construct writes: functions by their `TASKQ_FUNCTION_ROLE`, the
 * agents by the consumers' `AGENTS`, a consumer's tier queue by its event source mapping (or `QUEUE_URL`), the
 * async Lambda agents' event invoke configs by their destination (the completion function). Every derived value
 * is computed by the construct's own rule (lambda/contract/settings-rules.ts, lambda/core/agent-timeout.ts).
 * Intrinsics are left as they are; only literal numbers and the literal parts of `AGENTS` are rewritten.
 */

import { maxRunTimeLimitSeconds } from '../lambda/contract/agent-target';
import { EnvName, FunctionRole } from '../lambda/contract/environment';
import {
  asyncAgentLimitErrors,
  consumerTimeoutError,
  destinationHeartbeatError,
  LAMBDA_DEFAULT_TIMEOUT_SECONDS,
  leaseSeconds,
  limitWakeUpError,
  maxEventAgeSeconds,
  maxReceiveCountError,
  minimumVisibilitySeconds,
  tenantMaxConcurrencyError,
} from '../lambda/contract/settings-rules';
import {
  consumerMarginSeconds,
  functionTimeoutFits,
  maxAgentTimeoutSeconds,
} from '../lambda/core/agent-timeout';
import { type JoinedJson, readJoinedJson } from './joined-json';
import type { Template } from './template';

export interface LocalOverrides {
  /** `--consumer-timeout S`: every TaskQueue consumer's function timeout, and what derives from it. @default - as synthesized */
  readonly consumerTimeoutSeconds?: number;
  /** `--max-receive-count N`: every task queue's redrive policy, and the consumers' bound on attempts. @default - as synthesized */
  readonly maxReceiveCount?: number;
  /** `--heartbeat-timeout S`: every async agent's heartbeat timeout. @default - as synthesized */
  readonly heartbeatTimeoutSeconds?: number;
  /** `--tenant-max-concurrency N`. @default - as synthesized */
  readonly tenantMaxConcurrency?: number;
  /** `--limit-wake-up S`. @default - as synthesized */
  readonly limitWakeUpSeconds?: number;
  /** `--agent TYPE=URL`: the agent of TYPE (HTTP or Lambda) becomes an HTTP agent at URL. @default - none */
  readonly agentUrls?: Readonly<Record<string, string>>;
}

export interface RewrittenTemplate {
  readonly template: Template;
  /** Lines for the banner, e.g. `agent summarize → http://127.0.0.1:9000 (--agent)`. */
  readonly notes: readonly string[];
  /**
   * Agents that cannot run locally (a Lambda agent named by an ARN of a function outside the app, not mapped by
   * `--agent`), as `TYPE → ARN`: listed at start as not runnable locally.
   */
  readonly notRunnable: readonly string[];
}

/**
 * Parses the `--agent TYPE=URL` flag: a task type (the construct's type pattern), `=`, and an http or https URL.
 * Throws a message that says what is wrong and shows the form.
 */
export function parseAgentOverride(text: string): [type: string, url: string] {
  const at = text.indexOf('=');
  if (at < 0)
    throw new Error(`--agent must be TYPE=URL, e.g. summarize=http://127.0.0.1:9000, but got '${text}'`);
  const type = text.slice(0, at).trim();
  const url = text.slice(at + 1).trim();
  if (!TASK_TYPE.test(type)) {
    throw new Error(`--agent ${text}: '${type}' is not a task type (letters, digits, . _ : -, at most 64)`);
  }
  return [type, checkAgentUrl(type, url)];
}

/** The task contract's type pattern (lib/agents.ts `TASK_TYPE_PATTERN`, without loading aws-cdk-lib). */
const TASK_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function checkAgentUrl(type: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--agent ${type}: '${url}' is not a URL; give an http:// or https:// URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`--agent ${type}: '${url}' must be an http:// or https:// URL`);
  }
  return url;
}

type Json = Record<string, unknown>;
interface MutableResource {
  Type: string;
  Properties?: Json;
}
type Resources = Record<string, MutableResource>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isInteger = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n);

/** A Ref or GetAtt's target logical id. */
function referenceId(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** An intrinsic as readable text: `${Id.Attr}`, `${AWS::Region}`, joins spelled out. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    if (typeof value.Ref === 'string') return `\${${value.Ref}}`;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
    const join = value['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) return join[1].map(describe).join(String(join[0]));
  }
  return JSON.stringify(value);
}

/** One consumer's AGENTS, parsed, with its agents. */
interface AgentsEnv {
  readonly consumer: string;
  readonly json: JoinedJson;
  readonly agents: Record<string, Json>;
  dirty: boolean;
}

/** The seconds of a literal property, the default when it is absent; throws on an intrinsic. */
function literalSeconds(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  throw new Error(`${what} is ${describe(value)}, not a literal number: the template cannot be rewritten`);
}

class Rewrite {
  readonly notes: string[] = [];
  private readonly resources: Resources;
  /** TaskQueue functions (those with a TASKQ_FUNCTION_ROLE), by logical id, with their environment. */
  private readonly roles = new Map<string, { role: string; env: Json; props: Json }>();
  private readonly agentsEnvs: AgentsEnv[] = [];

  constructor(template: { Resources: Resources }) {
    this.resources = template.Resources;
    for (const [id, resource] of Object.entries(this.resources)) {
      if (resource.Type !== 'AWS::Lambda::Function' || !resource.Properties) continue;
      const env = (resource.Properties.Environment as Json | undefined)?.Variables;
      if (!isObject(env) || typeof env[EnvName.FunctionRole] !== 'string') continue;
      this.roles.set(id, { role: env[EnvName.FunctionRole] as string, env, props: resource.Properties });
      if (env[EnvName.FunctionRole] === FunctionRole.Consumer && env[EnvName.Agents] !== undefined) {
        this.agentsEnvs.push(this.parseAgents(id, env[EnvName.Agents]));
      }
    }
  }

  private parseAgents(consumer: string, value: unknown): AgentsEnv {
    let json: JoinedJson | undefined;
    try {
      json = readJoinedJson(value);
    } catch (error) {
      throw new Error(
        `AGENTS of ${consumer} is not JSON the rewrite understands: ${(error as Error).message}`,
      );
    }
    if (!json || !isObject(json.value) || !Object.values(json.value).every(isObject)) {
      throw new Error(`AGENTS of ${consumer} is not a JSON object of task type → agent: ${describe(value)}`);
    }
    return { consumer, json, agents: json.value as Record<string, Json>, dirty: false };
  }

  note(line: string): void {
    if (!this.notes.includes(line)) this.notes.push(line);
  }

  consumers(): string[] {
    return [...this.roles].filter(([, f]) => f.role === FunctionRole.Consumer).map(([id]) => id);
  }

  requireConsumers(flag: string): string[] {
    const consumers = this.consumers();
    if (consumers.length === 0) {
      throw new Error(
        `${flag}: the app has no TaskQueue (no function with ${EnvName.FunctionRole}=consumer)`,
      );
    }
    return consumers;
  }

  /** Every TaskQueue function that has the variable, by logical id. */
  withVariable(name: string): Array<[string, Json]> {
    return [...this.roles].filter(([, f]) => f.env[name] !== undefined).map(([id, f]) => [id, f.env]);
  }

  /** The consumer's tier queue (by its event source mapping, else QUEUE_URL) and batching window. */
  tierOf(consumer: string): { queue: string; windowSeconds: number } {
    for (const [id, r] of Object.entries(this.resources)) {
      if (r.Type !== 'AWS::Lambda::EventSourceMapping' || !r.Properties) continue;
      if (referenceId(r.Properties.FunctionName) !== consumer) continue;
      const queue = referenceId(r.Properties.EventSourceArn);
      if (queue && this.resources[queue]?.Type === 'AWS::SQS::Queue') {
        const window = literalSeconds(
          r.Properties.MaximumBatchingWindowInSeconds,
          0,
          `${id} MaximumBatchingWindowInSeconds`,
        );
        return { queue, windowSeconds: window };
      }
    }
    const queue = referenceId(this.roles.get(consumer)?.env[EnvName.QueueUrl]);
    if (queue && this.resources[queue]?.Type === 'AWS::SQS::Queue') return { queue, windowSeconds: 0 };
    throw new Error(`consumer ${consumer}: its tier queue is not in the template (no event source mapping)`);
  }

  /** The consumer whose AGENTS is `env` has this timeout now. */
  consumerTimeout(consumer: string): number {
    return literalSeconds(
      this.resources[consumer]!.Properties!.Timeout,
      LAMBDA_DEFAULT_TIMEOUT_SECONDS,
      `${consumer} Timeout`,
    );
  }

  /** The Lambda function of the template an agent's functionArn points to, if any. */
  agentFunction(env: AgentsEnv, agent: Json): string | undefined {
    if (agent.kind !== 'lambda' || typeof agent.functionArn !== 'string') return undefined;
    const id = referenceId(env.json.intrinsicOf(agent.functionArn));
    const type = id === undefined ? undefined : this.resources[id]?.Type;
    return type === 'AWS::Lambda::Function' ||
      type === 'AWS::Lambda::Version' ||
      type === 'AWS::Lambda::Alias'
      ? id
      : undefined;
  }

  functionTimeout(id: string): number {
    return literalSeconds(
      this.resources[id]?.Properties?.Timeout,
      LAMBDA_DEFAULT_TIMEOUT_SECONDS,
      `${id} Timeout`,
    );
  }

  setAgentField(env: AgentsEnv, agent: Json, field: string, value: unknown): void {
    if (agent[field] === value) return;
    agent[field] = value;
    env.dirty = true;
  }

  // --consumer-timeout ----------------------------------------------------------------------------------------

  consumerTimeoutTo(seconds: number): void {
    const flag = '--consumer-timeout';
    const error = consumerTimeoutError(`${flag}:`, seconds);
    if (error || !isInteger(seconds)) {
      throw new Error(
        error ?? `${flag}: consumerTimeout must be a whole number of seconds, but ${seconds} was provided`,
      );
    }
    if (maxAgentTimeoutSeconds(seconds) < 1) {
      throw new Error(
        `${flag}: ${seconds} seconds leaves no agent timeout: an agent timeout is at most consumerTimeout − ` +
          `max(5 s, 10 % of consumerTimeout) = ${maxAgentTimeoutSeconds(seconds)} seconds; give at least 6`,
      );
    }
    for (const consumer of this.requireConsumers(flag)) {
      const props = this.resources[consumer]!.Properties!;
      const before = this.consumerTimeout(consumer);
      props.Timeout = seconds;
      const { queue, windowSeconds } = this.tierOf(consumer);
      const queueProps = this.resources[queue]!.Properties ?? {};
      this.resources[queue]!.Properties = queueProps;
      const visibility = literalSeconds(queueProps.VisibilityTimeout, 30, `${queue} VisibilityTimeout`);
      const minimum = minimumVisibilitySeconds(seconds, windowSeconds);
      if (visibility === minimumVisibilitySeconds(before, windowSeconds) || visibility < minimum) {
        if (visibility !== minimumVisibilitySeconds(before, windowSeconds)) {
          this.note(
            `queue ${queue} visibility timeout ${visibility} s → ${minimum} s: at least 6 × --consumer-timeout + batching window`,
          );
        }
        queueProps.VisibilityTimeout = minimum;
      }
      const env = this.roles.get(consumer)!.env;
      if (env[EnvName.LeaseSeconds] !== undefined) env[EnvName.LeaseSeconds] = String(leaseSeconds(seconds));
    }
    for (const env of this.agentsEnvs) this.fitAgents(env, seconds);
  }

  /** Agent timeouts within the new consumer timeout's margin, sync Lambda agents within them, run times within SQS's. */
  private fitAgents(env: AgentsEnv, consumerSeconds: number): void {
    const most = maxAgentTimeoutSeconds(consumerSeconds);
    for (const [type, agent] of Object.entries(env.agents)) {
      if (isInteger(agent.timeoutSeconds) && agent.timeoutSeconds > most) {
        this.note(
          `agent '${type}' timeout ${agent.timeoutSeconds} s → ${most} s: at most --consumer-timeout ${consumerSeconds} − ` +
            `${consumerMarginSeconds(consumerSeconds)} (lambda/core/agent-timeout.ts)`,
        );
        this.setAgentField(env, agent, 'timeoutSeconds', most);
      }
      const fn = this.agentFunction(env, agent);
      const agentSeconds = agent.timeoutSeconds;
      if (
        fn &&
        agent.mode !== 'async' &&
        isInteger(agentSeconds) &&
        this.resources[fn]!.Type === 'AWS::Lambda::Function' &&
        !functionTimeoutFits(this.functionTimeout(fn), agentSeconds)
      ) {
        this.note(
          `function ${fn} (agent '${type}') timeout ${this.functionTimeout(fn)} s → ${agentSeconds} s: a sync Lambda agent stops by its agent timeout`,
        );
        this.resources[fn]!.Properties!.Timeout = agentSeconds;
      }
      const runLimit = maxRunTimeLimitSeconds(consumerSeconds);
      if (
        agent.mode === 'async' &&
        isInteger(agent.maxRunTimeSeconds) &&
        agent.maxRunTimeSeconds > runLimit
      ) {
        this.note(
          `agent '${type}' maxRunTime ${agent.maxRunTimeSeconds} s → ${runLimit} s: SQS's 12 hours in flight`,
        );
        this.setAgentField(env, agent, 'maxRunTimeSeconds', runLimit);
      }
    }
  }

  // --heartbeat-timeout ---------------------------------------------------------------------------------------

  heartbeatTo(seconds: number): void {
    const flag = '--heartbeat-timeout';
    if (!isInteger(seconds) || seconds < 1) {
      throw new Error(
        `${flag}: heartbeatTimeout must be a whole number of seconds, at least 1, but ${seconds} was provided`,
      );
    }
    let asyncAgents = 0;
    for (const env of this.agentsEnvs) {
      for (const agent of Object.values(env.agents)) {
        if (agent.mode !== 'async') continue;
        asyncAgents++;
        this.setAgentField(env, agent, 'heartbeatTimeoutSeconds', seconds);
      }
    }
    if (asyncAgents === 0) {
      throw new Error(`${flag}: no TaskQueue of the app has an async agent (mode 'async') to apply it to`);
    }
  }

  /** Every async agent's limits, as the construct checks them against its consumer's timeout. */
  checkAsyncAgents(flag: string): void {
    const errors: string[] = [];
    for (const env of this.agentsEnvs) {
      for (const [type, agent] of Object.entries(env.agents)) {
        const { heartbeatTimeoutSeconds, maxRunTimeSeconds } = agent;
        if (agent.mode !== 'async' || !isInteger(heartbeatTimeoutSeconds) || !isInteger(maxRunTimeSeconds))
          continue;
        errors.push(
          ...asyncAgentLimitErrors(
            type,
            { heartbeatTimeoutSeconds, maxRunTimeSeconds },
            this.consumerTimeout(env.consumer),
            `the consumerTimeout of ${env.consumer}`,
          ),
        );
      }
    }
    if (errors.length > 0) throw new Error(`${flag}: ${[...new Set(errors)].join('; ')}`);
  }

  /**
   * The event invoke config of each async Lambda agent of the app (its destination is a completion function):
   * its maximum event age follows from the agents' heartbeat window and the function's timeout.
   */
  destinationConfigs(flag: string): void {
    const completions = new Set(
      [...this.roles].filter(([, f]) => f.role === FunctionRole.Completion).map(([id]) => id),
    );
    for (const [id, r] of Object.entries(this.resources)) {
      if (r.Type !== 'AWS::Lambda::EventInvokeConfig' || !r.Properties) continue;
      const destinations = r.Properties.DestinationConfig as Json | undefined;
      const onSuccess = (destinations?.OnSuccess as Json | undefined)?.Destination;
      const completion = referenceId(onSuccess);
      if (!completion || !completions.has(completion)) continue;
      const fn = referenceId(r.Properties.FunctionName);
      if (!fn) continue;
      const windows = new Map<string, number>();
      for (const env of this.agentsEnvs) {
        for (const [type, agent] of Object.entries(env.agents)) {
          if (
            agent.mode === 'async' &&
            this.agentFunction(env, agent) === fn &&
            isInteger(agent.heartbeatTimeoutSeconds)
          ) {
            windows.set(type, agent.heartbeatTimeoutSeconds);
          }
        }
      }
      const heartbeats = new Set(windows.values());
      if (heartbeats.size !== 1) continue;
      const [heartbeat] = heartbeats as Set<number>;
      const functionTimeout = this.functionTimeout(fn);
      const names = [...windows.keys()].map((t) => `'${t}'`).join(', ');
      const error = destinationHeartbeatError(names, heartbeat!, functionTimeout);
      if (error) throw new Error(`${flag}: ${error}`);
      const age = maxEventAgeSeconds(heartbeat!, functionTimeout);
      if (r.Properties.MaximumEventAgeInSeconds !== age) {
        r.Properties.MaximumEventAgeInSeconds = age;
        this.note(
          `event invoke config ${id}: maximum event age ${age} s (heartbeat ${heartbeat} s − function timeout ${functionTimeout} s)`,
        );
      }
    }
  }

  // --max-receive-count ---------------------------------------------------------------------------------------

  maxReceiveCountTo(count: number): void {
    const flag = '--max-receive-count';
    const error = maxReceiveCountError(count);
    if (error || !isInteger(count)) {
      throw new Error(
        `${flag}: ${error ?? `maxReceiveCount must be a whole number, but ${count} was provided`}`,
      );
    }
    for (const consumer of this.requireConsumers(flag)) {
      const { queue } = this.tierOf(consumer);
      const redrive = this.resources[queue]!.Properties?.RedrivePolicy;
      if (!isObject(redrive))
        throw new Error(`${flag}: tier queue ${queue} has no redrive policy to rewrite`);
      redrive.maxReceiveCount = count;
    }
    for (const [, env] of this.withVariable(EnvName.MaxReceiveCount))
      env[EnvName.MaxReceiveCount] = String(count);
  }

  // --tenant-max-concurrency, --limit-wake-up -----------------------------------------------------------------

  variableTo(flag: string, name: string, value: number, error: string | undefined): void {
    if (error) throw new Error(`${flag}: ${error}`);
    const functions = this.withVariable(name);
    if (functions.length === 0) {
      this.requireConsumers(flag);
      throw new Error(
        `${flag}: no TaskQueue function of the app reads ${name} (a construct older than limits?)`,
      );
    }
    for (const [, env] of functions) env[name] = String(value);
  }

  // --agent TYPE=URL ------------------------------------------------------------------------------------------

  agentUrlsTo(urls: Readonly<Record<string, string>>): void {
    const known = [...new Set(this.agentsEnvs.flatMap((env) => Object.keys(env.agents)))];
    for (const [type, url] of Object.entries(urls)) {
      checkAgentUrl(type, url);
      if (!known.includes(type)) {
        throw new Error(
          `--agent ${type}: no TaskQueue of the app has an agent of type '${type}'; ` +
            (known.length > 0
              ? `its types are ${known.sort().join(', ')}`
              : 'the app has no TaskQueue agents'),
        );
      }
      for (const env of this.agentsEnvs) {
        const agent = env.agents[type];
        if (!agent) continue;
        if (agent.kind === 'lambda' && agent.mode === 'async') {
          this.note(
            `agent '${type}' was an async Lambda agent: ${url} must speak the async HTTP protocol ` +
              '(answer 202, then POST callback.url/heartbeat and /complete with the callback token; docs/agents.md)',
          );
        }
        if (agent.authSecretArn !== undefined)
          this.note(`agent '${type}': its authSecret is not sent to ${url}`);
        // The fields the construct writes for an HTTP agent, in its order (lib/agents.ts agentTargetsJson).
        const {
          kind: _kind,
          url: _url,
          functionArn: _arn,
          authSecretArn: _secret,
          timeoutSeconds,
          ...rest
        } = agent;
        env.agents[type] = { kind: 'http', url, timeoutSeconds, ...rest };
        env.dirty = true;
        this.note(`agent ${type} → ${url} (--agent)`);
      }
    }
  }

  notRunnable(): string[] {
    const lines = new Set<string>();
    for (const env of this.agentsEnvs) {
      for (const [type, agent] of Object.entries(env.agents)) {
        if (agent.kind !== 'lambda' || this.agentFunction(env, agent) !== undefined) continue;
        const arn = typeof agent.functionArn === 'string' ? agent.functionArn : '';
        lines.add(`${type} → ${env.json.render(arn, describe)}`);
      }
    }
    return [...lines];
  }

  writeAgents(): void {
    for (const env of this.agentsEnvs) {
      if (!env.dirty) continue;
      this.roles.get(env.consumer)!.env[EnvName.Agents] = env.json.toTemplate(env.agents);
    }
  }
}

/**
 * Applies the overrides to a copy of the template. Throws one clear error for an override that names nothing
 * (e.g. `--agent` of a type no TaskQueue of the template has) or a value the construct would refuse.
 *
 * Where a new consumer timeout leaves too little room, what the construct would refuse is brought within it and
 * noted: agent timeouts are cut to the consumer's margin, a sync Lambda agent's function timeout to its agent
 * timeout, an async agent's run time to SQS's in-flight limit, an explicit visibility timeout raised to 6 × the
 * consumer timeout plus the batching window.
 */
export function applyLocalOverrides(template: Template, overrides: LocalOverrides): RewrittenTemplate {
  const copy = structuredClone(template) as unknown as Template & { Resources: Resources };
  const rewrite = new Rewrite(copy);
  const { consumerTimeoutSeconds, heartbeatTimeoutSeconds, maxReceiveCount } = overrides;
  if (consumerTimeoutSeconds !== undefined) rewrite.consumerTimeoutTo(consumerTimeoutSeconds);
  if (heartbeatTimeoutSeconds !== undefined) rewrite.heartbeatTo(heartbeatTimeoutSeconds);
  if (consumerTimeoutSeconds !== undefined || heartbeatTimeoutSeconds !== undefined) {
    const flag = heartbeatTimeoutSeconds !== undefined ? '--heartbeat-timeout' : '--consumer-timeout';
    rewrite.checkAsyncAgents(flag);
    rewrite.destinationConfigs(flag);
  }
  if (maxReceiveCount !== undefined) rewrite.maxReceiveCountTo(maxReceiveCount);
  if (overrides.tenantMaxConcurrency !== undefined) {
    const cap = overrides.tenantMaxConcurrency;
    rewrite.variableTo(
      '--tenant-max-concurrency',
      EnvName.TenantMaxConcurrency,
      cap,
      tenantMaxConcurrencyError(cap),
    );
  }
  if (overrides.limitWakeUpSeconds !== undefined) {
    const seconds = overrides.limitWakeUpSeconds;
    rewrite.variableTo('--limit-wake-up', EnvName.LimitWakeUpSeconds, seconds, limitWakeUpError(seconds));
  }
  if (overrides.agentUrls) rewrite.agentUrlsTo(overrides.agentUrls);
  const notRunnable = rewrite.notRunnable();
  rewrite.writeAgents();
  return { template: copy, notes: rewrite.notes, notRunnable };
}
