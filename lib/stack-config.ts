import { existsSync, readFileSync } from 'node:fs';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  type AgentTargetConfig,
  parseAgentTarget,
  type TopicDefinitions,
  topicErrors,
} from '../lambda/contract';
import { type AgentDefinition, type AgentRegistry, TASK_TYPE_PATTERN } from './agents';
import type { LogLevel } from './handler-function';
import type { TaskApiAuth } from './task-api';

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
   * The most tasks of one tenant running at once, across all agents and both tiers (the construct's
   * `tenantMaxConcurrency`).
   * @default - no cap
   */
  readonly tenantMaxConcurrency?: number;
  /** The longest a task waiting for a limit goes between two asks (the construct's `limitWakeUp`). @default 5 */
  readonly limitWakeUpSeconds?: number;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
}

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
  checkTopics(config, source);
  return config;
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
