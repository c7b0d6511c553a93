import { existsSync, readFileSync } from 'node:fs';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions_ from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  type AgentTargetConfig,
  parseAgentTarget,
  type TopicDefinitions,
  topicErrors,
} from '../lambda/contract';
import type { TaskStatus } from '../lambda/core/task';
import { eventTransitionErrors } from '../lambda/core/task-events';
import { type AgentDefinition, type AgentRegistry, TASK_TYPE_PATTERN } from './agents';
import type { LogLevel, SystemLogLevel } from './handler-function';
import type { TaskApiAuth } from './task-api';
import type { TaskEventFilter } from './task-events';
import type { ProvisionedPollers } from './task-tier';

/**
 * One agent as written in a config file or in CDK context: the consumers' agent target (the same shape and
 * parser as the AGENTS environment variable), with the timeout optional.
 */
export type AgentConfig = AgentTargetConfig;

/**
 * The stack's configuration file (default `config/agents.json`, or `-c configFile=PATH`), or the same JSON in
 * the `taskQueue` context value (`-c taskQueue='{"agents":{…}}'`). See docs/operating.md, "Configuration".
 *
 * This is the shape of a JSON file, so its times are numbers of seconds (`...Seconds`, and an agent's
 * `timeoutSeconds`). The construct API (`TaskQueueProps`, `TaskTierProps`, ...) takes every time as a `Duration`;
 * `TaskQueueStack` converts one to the other.
 */
export interface StackConfig {
  /**
   * Task types and their agents. A Lambda agent is imported by ARN.
   * @default - none besides the echo agent
   */
  readonly agents?: Readonly<Record<string, AgentConfig>>;
  /**
   * Topics: a task submitted with a topic as its `type` runs once per subscriber (the construct's `topics`).
   * Each subscriber is an agent type of this configuration (`echo` included while `echoAgent` is on).
   * @example { "document.uploaded": { "subscribers": ["summarize", "index"] } }
   * @default - no topics
   */
  readonly topics?: TopicDefinitions;
  /** Register the built-in `echo` Lambda agent. @default true */
  readonly echoAgent?: boolean;
  /** @default { kind: 'iam' } */
  readonly auth?: TaskApiAuth;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 2 */
  readonly backoffBaseSeconds?: number;
  /** @default 300 */
  readonly backoffCapSeconds?: number;
  /** Both tiers' consumer timeout. @default 120 */
  readonly consumerTimeoutSeconds?: number;
  /** @default { high: 50, low: 10 } */
  readonly maxConcurrency?: { readonly high?: number; readonly low?: number };
  /**
   * A tier's event source in provisioned mode (the construct's `TierOptions.provisionedPollers`), e.g.
   * `{ "high": { "minimum": 2, "maximum": 100 } }`: the minimum pollers are an always-on cost (docs/operating.md).
   * Mutually exclusive with that tier's `maxConcurrency`.
   * @default - the default polling on both tiers
   */
  readonly provisionedPollers?: { readonly high?: ProvisionedPollers; readonly low?: ProvisionedPollers };
  /**
   * The most tasks of one tenant running at once, across all agents and both tiers (the construct's
   * `tenantMaxConcurrency`).
   * @default - no cap
   */
  readonly tenantMaxConcurrency?: number;
  /**
   * The longest a task waiting for a limit goes between two asks, plus its tier's batching window (the construct's
   * `limitWakeUp`).
   * @default 5
   */
  readonly limitWakeUpSeconds?: number;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /**
   * Lambda's own start, end and report records of every invocation (the construct's `systemLogLevel`): `INFO`
   * writes them, `WARN` none.
   * @default 'WARN'
   */
  readonly systemLogLevel?: SystemLogLevel;
  /**
   * Task lifecycle events. Present, it turns publishing on (the construct's `events.publish`), and subscribes
   * what it lists. See docs/events.md.
   * @default - no events published
   */
  readonly events?: EventsConfig;
}

/** The config file's `events`. */
export interface EventsConfig {
  /** Statuses whose transitions make an event. @default ["SUCCEEDED", "FAILED", "CANCELLED"] */
  readonly transitions?: readonly TaskStatus[];
  /** Subscribers outside the stack, imported by ARN or URL. @default - none */
  readonly subscriptions?: readonly EventSubscriptionConfig[];
}

/**
 * One subscriber of the events topic. The subscriber's own resource policy must let the topic deliver (a queue
 * policy for `sqs`, a function permission for `lambda`): an imported resource's policy is not the stack's to
 * change. See docs/events.md.
 */
export type EventSubscriptionConfig = (
  | {
      readonly kind: 'sqs';
      readonly queueArn: string /** @default true */;
      readonly rawMessageDelivery?: boolean;
    }
  | { readonly kind: 'lambda'; readonly functionArn: string }
  | {
      readonly kind: 'https';
      readonly url: string /** @default false */;
      readonly rawMessageDelivery?: boolean;
    }
  | {
      readonly kind: 'firehose';
      readonly deliveryStreamArn: string;
      /** @default true */
      readonly rawMessageDelivery?: boolean;
    }
) & {
  /** @default - every event */
  readonly filter?: TaskEventFilter;
};

export const DEFAULT_CONFIG_FILE = 'config/agents.json';

/** Reads the configuration from context or file. Throws one clear error naming the source when it is malformed. */
export function loadStackConfig(scope: Construct): StackConfig {
  const inline = scope.node.tryGetContext('taskQueue');
  if (inline !== undefined) {
    return checkConfig(
      typeof inline === 'string' ? parseJson(inline, "context 'taskQueue'") : inline,
      "context 'taskQueue'",
    );
  }
  const file = (scope.node.tryGetContext('configFile') as string | undefined) ?? DEFAULT_CONFIG_FILE;
  if (!existsSync(file)) {
    if (scope.node.tryGetContext('configFile') !== undefined)
      throw new Error(`config file ${file} does not exist`);
    return {};
  }
  return checkConfig(parseJson(readFileSync(file, 'utf8'), file), file);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`);
  }
}

function checkConfig(value: unknown, source: string): StackConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${source} must be a JSON object`);
  }
  const config = value as StackConfig;
  for (const [type, agent] of Object.entries(config.agents ?? {})) {
    try {
      parseAgentTarget(type, agent, { timeout: 'optional' });
    } catch (error) {
      throw new Error(`${source}: ${(error as Error).message}`);
    }
  }
  const auth = config.auth as { kind?: unknown; issuer?: unknown; audience?: unknown } | undefined;
  const authOk =
    auth === undefined ||
    auth?.kind === 'iam' ||
    (auth?.kind === 'jwt' &&
      typeof auth.issuer === 'string' &&
      auth.issuer !== '' &&
      Array.isArray(auth.audience) &&
      auth.audience.length > 0 &&
      auth.audience.every((a) => typeof a === 'string'));
  if (!authOk) {
    throw new Error(
      `${source}: auth must be { "kind": "iam" } or { "kind": "jwt", "issuer": "https://…", "audience": ["…"] }`,
    );
  }
  checkProvisionedPollers(config.provisionedPollers, source);
  checkTopics(config, source);
  const eventErrors = eventsConfigErrors(config.events);
  if (eventErrors.length > 0) throw new Error(`${source}: ${eventErrors.join('; ')}`);
  return config;
}

/** The shape of `provisionedPollers`; its bounds are the construct's to check (TierOptions). */
function checkProvisionedPollers(value: unknown, source: string): void {
  if (value === undefined) return;
  const shape = 'provisionedPollers must be { "high"?: { "minimum": n, "maximum"?: n }, "low"?: … }';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${source}: ${shape}`);
  for (const [tier, pollers] of Object.entries(value)) {
    const p = pollers as { minimum?: unknown; maximum?: unknown } | null;
    const ok =
      (tier === 'high' || tier === 'low') &&
      typeof p === 'object' &&
      p !== null &&
      typeof p.minimum === 'number' &&
      (p.maximum === undefined || typeof p.maximum === 'number') &&
      Object.keys(p).every((k) => k === 'minimum' || k === 'maximum');
    if (!ok) throw new Error(`${source}: ${shape}, but ${JSON.stringify({ [tier]: pollers })} was given`);
  }
}

const SUBSCRIPTION_TARGET = {
  sqs: 'queueArn',
  lambda: 'functionArn',
  https: 'url',
  firehose: 'deliveryStreamArn',
} as const;
const FILTER_FIELDS = ['type', 'priority', 'status', 'event'] as const;

/**
 * The shape problems of the config file's `events`. The values of a filter are checked by the construct
 * (eventFilterPolicy), which knows the published transitions.
 */
function eventsConfigErrors(events: unknown): string[] {
  if (events === undefined) return [];
  if (typeof events !== 'object' || events === null || Array.isArray(events)) {
    return ['events must be an object: { "transitions"?: [...], "subscriptions"?: [...] }'];
  }
  const { transitions, subscriptions } = events as { transitions?: unknown; subscriptions?: unknown };
  const errors: string[] = [];
  if (transitions !== undefined) {
    if (!Array.isArray(transitions)) errors.push('events.transitions must be a list of task statuses');
    else errors.push(...eventTransitionErrors(transitions));
  }
  if (subscriptions === undefined) return errors;
  if (!Array.isArray(subscriptions)) return [...errors, 'events.subscriptions must be a list'];
  subscriptions.forEach((raw: unknown, i) => {
    const at = `events.subscriptions[${i}]`;
    const sub = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const kind = sub.kind as keyof typeof SUBSCRIPTION_TARGET;
    if (!Object.hasOwn(SUBSCRIPTION_TARGET, kind)) {
      errors.push(`${at}.kind must be one of ${Object.keys(SUBSCRIPTION_TARGET).join(', ')}`);
      return;
    }
    const target = SUBSCRIPTION_TARGET[kind];
    const value = sub[target];
    if (typeof value !== 'string' || value === '')
      errors.push(`${at}: a '${kind}' subscription needs ${target}`);
    else if (kind === 'https' && !value.startsWith('https://'))
      errors.push(`${at}.url must start with https://`);
    else if (kind !== 'https' && !value.startsWith('arn:')) errors.push(`${at}.${target} must be an ARN`);
    if (
      sub.rawMessageDelivery !== undefined &&
      (kind === 'lambda' || typeof sub.rawMessageDelivery !== 'boolean')
    ) {
      errors.push(`${at}.rawMessageDelivery must be true or false, and is not for a 'lambda' subscription`);
    }
    const filter = sub.filter;
    if (filter === undefined) return;
    if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
      errors.push(`${at}.filter must be an object`);
      return;
    }
    for (const [field, values] of Object.entries(filter)) {
      if (!(FILTER_FIELDS as readonly string[]).includes(field)) {
        errors.push(`${at}.filter.${field} is not a filter field (${FILTER_FIELDS.join(', ')})`);
      } else if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
        errors.push(`${at}.filter.${field} must be a list of strings`);
      }
    }
  });
  return errors;
}

/**
 * `topics`: an object of topic name to `{ "subscribers": [agent types] }`, with the construct's rules (contract/
 * topics.ts `topicErrors`), checked here so that the error names the file or context value it came from.
 */
function checkTopics(config: StackConfig, source: string): void {
  const topics: unknown = config.topics;
  if (topics === undefined) return;
  const example = '{ "<topic>": { "subscribers": ["<agent type>", …] } }';
  if (typeof topics !== 'object' || topics === null || Array.isArray(topics)) {
    throw new Error(`${source}: topics must be an object ${example}`);
  }
  for (const [name, topic] of Object.entries(topics)) {
    if (typeof topic !== 'object' || topic === null || Array.isArray(topic)) {
      throw new Error(`${source}: topic '${name}' must be an object { "subscribers": [...] }`);
    }
  }
  const agentTypes = [
    ...Object.keys(config.agents ?? {}),
    ...((config.echoAgent ?? true) && !config.agents?.echo ? ['echo'] : []),
  ];
  const errors = topicErrors(topics as TopicDefinitions, agentTypes, TASK_TYPE_PATTERN);
  if (errors.length > 0) throw new Error(`${source}: ${errors.join('; ')}`);
}

/**
 * Turns configured agents into construct definitions; Lambda agents are imported by ARN (so an async one reports
 * through the callback routes). `mode`, `heartbeatTimeoutSeconds` and `maxRunTimeSeconds` become the agent's
 * `mode`, `heartbeatTimeout` and `maxRunTime`; left out, the construct's defaults apply. `maxConcurrency` is
 * passed as it is, and `rateLimit: { requests, per }` with `per` in seconds becomes a `per` Duration.
 */
export function agentsFromConfig(
  scope: Construct,
  agents: Readonly<Record<string, AgentConfig>>,
): AgentRegistry {
  return Object.fromEntries(
    Object.entries(agents).map(([type, agent]): [string, AgentDefinition] => {
      const timeout = agent.timeoutSeconds !== undefined ? Duration.seconds(agent.timeoutSeconds) : undefined;
      // parseAgentTarget (checkConfig) has checked the limits, and that the async ones come with mode 'async' only.
      const options = {
        mode: agent.mode,
        heartbeatTimeout:
          agent.heartbeatTimeoutSeconds !== undefined
            ? Duration.seconds(agent.heartbeatTimeoutSeconds)
            : undefined,
        maxRunTime:
          agent.maxRunTimeSeconds !== undefined ? Duration.seconds(agent.maxRunTimeSeconds) : undefined,
        maxConcurrency: agent.maxConcurrency,
        rateLimit: agent.rateLimit && {
          requests: agent.rateLimit.requests,
          per: Duration.seconds(agent.rateLimit.per),
        },
      };
      return agent.kind === 'http'
        ? [
            type,
            {
              kind: 'http',
              url: agent.url,
              timeout,
              ...options,
              authSecret: agent.authSecretArn
                ? secretsmanager.Secret.fromSecretCompleteArn(
                    scope,
                    `AgentSecret-${type}`,
                    agent.authSecretArn,
                  )
                : undefined,
            },
          ]
        : [
            type,
            {
              kind: 'lambda',
              function: lambda.Function.fromFunctionArn(scope, `Agent-${type}`, agent.functionArn),
              timeout,
              ...options,
            },
          ];
    }),
  );
}

/**
 * Turns configured event subscriptions into SNS subscriptions of resources imported by ARN or URL, each with
 * its filter. Queues and Firehose streams get raw message delivery unless told otherwise: they then hold the
 * event JSON itself rather than SNS's envelope around it.
 */
export function eventSubscriptionsFromConfig(
  scope: Construct,
  subscriptions: readonly EventSubscriptionConfig[],
): { subscription: sns.ITopicSubscription; filter?: TaskEventFilter }[] {
  return subscriptions.map((sub, i) => {
    const id = `EventSubscriber${i}`;
    const subscription = ((): sns.ITopicSubscription => {
      switch (sub.kind) {
        case 'sqs':
          return new subscriptions_.SqsSubscription(sqs.Queue.fromQueueArn(scope, id, sub.queueArn), {
            rawMessageDelivery: sub.rawMessageDelivery ?? true,
          });
        case 'lambda':
          return new subscriptions_.LambdaSubscription(
            lambda.Function.fromFunctionArn(scope, id, sub.functionArn),
          );
        case 'https':
          return new subscriptions_.UrlSubscription(sub.url, {
            protocol: sns.SubscriptionProtocol.HTTPS,
            rawMessageDelivery: sub.rawMessageDelivery ?? false,
          });
        case 'firehose':
          Validations.of(Stack.of(scope)).acknowledge({
            id: 'CloudFormation-Validate::W7001',
            reason:
              'aws-kinesisfirehose adds its region-to-CIDR mapping to any stack that imports a delivery stream; the events subscription uses no VPC connection, so the mapping stays unreferenced.',
          });
          return new subscriptions_.FirehoseSubscription(
            firehose.DeliveryStream.fromDeliveryStreamArn(scope, id, sub.deliveryStreamArn),
            { rawMessageDelivery: sub.rawMessageDelivery ?? true },
          );
      }
    })();
    return { subscription, ...(sub.filter && { filter: sub.filter }) };
  });
}
