/**
 * `taskq local`: runs a CDK app on this machine from its synthesized template, with no AWS and no Docker
 * (local/runtime.ts). `npm start` is `taskq local --demo-agents` on this repository's app.
 *
 *   taskq local [--app COMMAND|DIR] [--stack NAME] [--demo-agents] [--agent TYPE=URL]… [--port 3000]
 *               [--aws-port 4566] [--dynamodb-port 8000] [--dynamodb-endpoint URL] [--persist DIR] [--consumer-timeout S]
 *               [--max-receive-count N] [--heartbeat-timeout S] [--tenant-max-concurrency N] [--limit-wake-up S]
 *               [--faults SPEC]; with --demo-agents also [--agents-url URL] [--agent-limits JSON] [--topics JSON]
 *
 * The runtime's modules load only when the command runs: they pull in the emulators (fauxqs is ESM-only), which
 * the other commands, and the tests that build the program, do not need.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { TopicDefinitions } from '../../lambda/contract';
import { maxAgentTimeoutSeconds } from '../../lambda/core/agent-timeout';
import { MAX_LIMIT } from '../../lambda/core/limits';
import type { FaultPlan } from '../../local/faults';
import type { DemoAgentLimitsByType } from '../../local/local-config';
import type { LocalRuntime, LocalRuntimeOptions, RuntimeStatus } from '../../local/runtime';
import type { StatusLine } from '../../local/status-line';
import { CommandError, UsageError } from '../errors';
import { type ActionFactory, type CliDeps, ExitCode } from '../session';

interface LocalOptions {
  readonly app?: string;
  readonly stack?: string;
  readonly demoAgents?: boolean;
  readonly agent: Readonly<Record<string, string>>;
  readonly port: number;
  readonly awsPort: number;
  readonly dynamodbPort: number;
  readonly dynamodbEndpoint?: string;
  readonly persist?: string;
  readonly outdir?: string;
  readonly maxReceiveCount?: number;
  readonly agentsUrl?: string;
  readonly faults?: FaultPlan;
  readonly consumerTimeout?: number;
  readonly heartbeatTimeout?: number;
  readonly tenantMaxConcurrency?: number;
  readonly limitWakeUp?: number;
  readonly agentLimits?: DemoAgentLimitsByType;
  readonly topics?: TopicDefinitions;
}

/** The flags that configure the demo agents, refused without --demo-agents. */
const DEMO_ONLY_FLAGS: ReadonlyArray<[keyof LocalOptions, string]> = [
  ['agentsUrl', '--agents-url'],
  ['agentLimits', '--agent-limits'],
  ['topics', '--topics'],
];

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer of 1 or more');
  return n;
}

/** The largest tenant cap the limiter takes (lambda/core/limits.ts `MAX_LIMIT`). */
function tenantCap(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    throw new InvalidArgumentError(`must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

/** Parsers that load their module when used: local-config.ts and faults.ts are light, but keep to one rule. */
function parsedWith<T>(parse: () => (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse()(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/** `--agent TYPE=URL`, repeatable: collects the overrides by type. */
function agentOverride(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  const type = value.slice(0, eq);
  const url = value.slice(eq + 1);
  if (eq <= 0 || url === '')
    throw new InvalidArgumentError('must be TYPE=URL, e.g. summarize=http://127.0.0.1:9000');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`'${url}' is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InvalidArgumentError(`'${url}' must be an http(s) URL`);
  if (previous[type] !== undefined) throw new InvalidArgumentError(`agent '${type}' is given twice`);
  return { ...previous, [type]: url };
}

function banner(runtime: LocalRuntime, persist: string | undefined): string {
  const lines = [
    `agent-task-queue local runtime (stack ${runtime.stackName}; synth cache: ${runtime.synthCache})`,
    ...runtime.apis.flatMap((api) => [
      `  API          ${api.url}${runtime.apis.length > 1 ? `  (${api.label})` : ''}`,
      `  Routes       ${api.routes.join(', ') || 'none'}`,
    ]),
    `  Dashboard    ${runtime.dashboardUrl}  (the token enables its actions: keep it to yourself)`,
    `  SQS/SNS/S3   ${runtime.awsEndpoint}  (fauxqs)`,
    `  Lambda       ${runtime.lambdaEndpoint}  (Invoke: RequestResponse, Event with destinations, DryRun)`,
    `  DynamoDB     ${runtime.dynamodbEndpoint}  (DynamoDB Local)`,
    runtime.agentsUrl !== undefined
      ? `  Agents       ${runtime.agentsUrl}  (types: ${runtime.taskTypes.join(', ')})`
      : `  Agents       types: ${runtime.taskTypes.join(', ') || 'none (no TaskQueue in this stack)'}`,
    ...runtime.overrideNotes.map((note) => `  Override     ${note}`),
    ...topicLines(runtime),
    ...eventLines(runtime),
    ...asyncLines(runtime),
    ...limitLines(runtime),
    `  State        ${persist ? `persisted in ${persist}` : 'in memory (use --persist DIR to keep it)'}`,
    '  Every port listens on 127.0.0.1 only; the emulators refuse requests from web pages.',
    '  Authorizers and API throttling are not enforced locally: requests need no signature or JWT',
    "  (the callback routes still check the attempt's token: their function does).",
    ...(runtime.ignoredTypes.length > 0
      ? [
          `  Ignored      ${runtime.ignoredTypes.join(', ')}: no local effect (permissions, logs, alarms, dashboards, keys)`,
        ]
      : []),
    ...runtime.notEmulated.map((what) => `  Not emulated: ${what}`),
    'Outputs',
    ...Object.entries(runtime.outputs).map(([name, value]) => `  ${name} = ${value}`),
  ];
  return lines.join('\n');
}

/** The topics, each with its subscribers: `demo.fanout → echo, sleep`. */
function topicLines(runtime: LocalRuntime): string[] {
  const topics = Object.entries(runtime.topics);
  if (topics.length === 0) return [];
  return [
    `  Topics       ${topics.map(([name, subscribers]) => `${name} → ${subscribers.join(', ')}`).join('; ')}`,
    `               a task whose type is a topic runs once on each subscriber${runtime.agentsUrl !== undefined ? ' (--topics JSON adds topics)' : ''}`,
  ];
}

/** The events topic, what it publishes, and how to watch it. */
function eventLines(runtime: LocalRuntime): string[] {
  const topicArn =
    runtime.outputs.TaskEventsTopicArn ??
    Object.entries(runtime.snsTopics).find(([label]) => label === 'Events' || label.endsWith('/Events'))?.[1];
  if (runtime.eventTransitions.length === 0 || topicArn === undefined) return [];
  return [
    `  Events       ${topicArn}  (${runtime.eventTransitions.join(', ')})`,
    `               npx taskq events tail --endpoint ${runtime.apiUrl} prints them; a queue subscribed at run time gets them`,
  ];
}

/** The async agents, and how an agent that is not a process of this machine reaches the callback routes. */
function asyncLines(runtime: LocalRuntime): string[] {
  const types = Object.entries(runtime.asyncTaskTypes);
  if (types.length === 0) return [];
  const port = new URL(runtime.apiUrl).port;
  return [
    `  Async        ${types.map(([type, s]) => `${type} (heartbeat timeout ${s} s)`).join(', ')}; --heartbeat-timeout S changes it`,
    `  Callbacks    ${runtime.apiUrl}/tasks/{id}/heartbeat|complete. An agent in a container reaches them with`,
    `               host networking (docker run --network host) or a forward of 127.0.0.1:${port} inside the`,
    "               container to this host's loopback (socat, ssh -L): see docs/local-mode.md",
  ];
}

/** The agents' limits and the tenant cap, and how to change the cap. */
function limitLines(runtime: LocalRuntime): string[] {
  if (runtime.taskTypes.length === 0) return [];
  const agents = Object.entries(runtime.agentLimits).map(([type, limits]) => {
    const parts = [
      ...(limits.maxConcurrency !== undefined ? [`${limits.maxConcurrency} at once`] : []),
      ...(limits.rateLimit ? [`${limits.rateLimit.requests} per ${limits.rateLimit.per} s`] : []),
    ];
    return `${type} (${parts.join(', ')})`;
  });
  const tenants =
    runtime.tenantMaxConcurrency !== undefined
      ? `tenants: ${runtime.tenantMaxConcurrency} at once each`
      : 'no tenant cap; --tenant-max-concurrency N sets one';
  return [
    `  Limited      ${agents.length > 0 ? `${agents.join(', ')}; ` : ''}${tenants}`,
    `               a waiting task asks again within ${runtime.limitWakeUpSeconds} s (--limit-wake-up S)`,
  ];
}

function statusText(s: RuntimeStatus): string {
  const queues = s.queues.map((q) => `${q.label} ${q.depth}`).join('  ');
  return `${queues} | in flight ${s.inFlight} | succeeded ${s.succeeded} | failed ${s.failed}`;
}

/** The runtime's options from the flags; throws a UsageError for a flag that does not apply. */
export function runtimeOptions(opts: LocalOptions, cwd: string): LocalRuntimeOptions {
  if (!opts.demoAgents) {
    const demoOnly = DEMO_ONLY_FLAGS.filter(([key]) => opts[key] !== undefined).map(([, flag]) => flag);
    if (demoOnly.length > 0)
      throw new UsageError(
        `${demoOnly.join(', ')} configure${demoOnly.length === 1 ? 's' : ''} the demo agents: ${demoOnly.length === 1 ? 'it needs' : 'they need'} --demo-agents`,
      );
  }
  return {
    // An app left out is cdk.json's in the current folder, as `cdk synth` reads it.
    appDir: cwd,
    ...(opts.app !== undefined && { app: opts.app }),
    ...(opts.stack !== undefined && { stack: opts.stack }),
    demoAgents: opts.demoAgents === true,
    agentOverrides: opts.agent,
    port: opts.port,
    awsPort: opts.awsPort,
    dynamodbPort: opts.dynamodbPort,
    ...(opts.dynamodbEndpoint !== undefined && { dynamodbEndpoint: opts.dynamodbEndpoint }),
    ...(opts.persist !== undefined && { persistDir: opts.persist }),
    ...(opts.outdir !== undefined && { outdir: opts.outdir }),
    ...(opts.maxReceiveCount !== undefined && { maxReceiveCount: opts.maxReceiveCount }),
    ...(opts.agentsUrl !== undefined && { agentsUrl: opts.agentsUrl }),
    ...(opts.faults !== undefined && { faults: opts.faults }),
    ...(opts.heartbeatTimeout !== undefined && { heartbeatTimeoutSeconds: opts.heartbeatTimeout }),
    ...(opts.tenantMaxConcurrency !== undefined && { tenantMaxConcurrency: opts.tenantMaxConcurrency }),
    ...(opts.limitWakeUp !== undefined && { limitWakeUpSeconds: opts.limitWakeUp }),
    ...(opts.agentLimits !== undefined && { agentLimits: opts.agentLimits }),
    ...(opts.topics !== undefined && { topics: opts.topics }),
    ...(opts.consumerTimeout !== undefined && {
      timeouts: {
        consumerSeconds: opts.consumerTimeout,
        // The demo's agents wait as long as the consumer timeout allows; any other app's move with the rewrite.
        ...(opts.demoAgents && { agentSeconds: Math.max(1, maxAgentTimeoutSeconds(opts.consumerTimeout)) }),
      },
    }),
  };
}

/**
 * Resolves with the name of the signal that stops the runtime: the deps' abort (tests), else SIGINT or SIGTERM.
 * Until then, in a process of its own, a signal during start exits at once (the exit hook still stops DynamoDB
 * Local's JVM).
 */
function stopSignal(deps: CliDeps): { started(): Promise<string>; dispose(): void } {
  if (deps.signal) {
    const signal = deps.signal;
    return {
      started: () =>
        new Promise((resolve) =>
          signal.aborted ? resolve('abort') : signal.addEventListener('abort', () => resolve('abort')),
        ),
      dispose: () => {},
    };
  }
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  return {
    started: () => {
      process.off('SIGINT', early);
      process.off('SIGTERM', early);
      return new Promise((resolve) => {
        let stopping = false;
        const stop = (name: string) => {
          // A second signal while stopping: exit now.
          if (stopping) process.exit(130);
          stopping = true;
          resolve(name);
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
    },
    dispose: () => {
      process.off('SIGINT', early);
      process.off('SIGTERM', early);
    },
  };
}

export function registerLocal(program: Command, action: ActionFactory): void {
  program
    .command('local')
    .description(
      'run a CDK app on this machine: its queues, tables, topics, functions, event sources, schedules and HTTP APIs, with no AWS and no Docker (Java 17 runs DynamoDB Local)',
    )
    .option(
      '--app <command|dir>',
      "the app: a command that synthesizes it, or a cloud assembly folder (default: cdk.json's app)",
    )
    .option(
      '--stack <name>',
      'the stack to run, by name or construct path (required when the app has several)',
    )
    .option(
      '--demo-agents',
      "run the demo agents and give the app the demo configuration (this repository's app: npm start)",
    )
    .option(
      '--agent <type=url>',
      'point the agent of TYPE (HTTP or Lambda) at a local HTTP endpoint; repeatable',
      agentOverride,
      {},
    )
    .option('--port <port>', 'the first HTTP API port; other APIs take the next free ones', portNumber, 3000)
    .option('--aws-port <port>', 'fauxqs (SQS, SNS, S3) port', portNumber, 4566)
    .option('--dynamodb-port <port>', 'DynamoDB Local port', portNumber, 8000)
    .option(
      '--dynamodb-endpoint <url>',
      'share a DynamoDB Local already running at http://127.0.0.1:PORT instead of starting one (tables get a prefix of their own; not with --persist)',
    )
    .option('--persist <dir>', 'keep queues, messages and tasks in DIR across restarts')
    .option(
      '--outdir <dir>',
      "CDK output folder and synth cache (default: cdk.local.out in the app's folder)",
    )
    .option(
      '--max-receive-count <n>',
      'deliveries before a message goes to its DLQ (default: as synthesized; 5 with --demo-agents)',
      positiveInteger,
    )
    .option(
      '--faults <spec>',
      'inject faults, e.g. "dynamodbThrottle=0.05,dieAfterAgent=0.02" or "all=0.02" (see local/faults.ts)',
      parsedWith(() => (require('../../local/faults') as typeof import('../../local/faults')).parseFaultPlan),
    )
    .option(
      '--consumer-timeout <seconds>',
      'every consumer timeout, and what derives from it (default: as synthesized; 75 with --demo-agents)',
      positiveInteger,
    )
    .option(
      '--heartbeat-timeout <seconds>',
      'heartbeat timeout of every async agent (default: as synthesized; 10 with --demo-agents)',
      positiveInteger,
    )
    .option(
      '--tenant-max-concurrency <n>',
      "the most tasks of one tenant (POST /tasks's tenant_id) running at once, across all agents",
      tenantCap,
    )
    .option(
      '--limit-wake-up <seconds>',
      'the longest a task waiting for a limit goes between two asks (default: as synthesized)',
      positiveInteger,
    )
    .option(
      '--agents-url <url>',
      'with --demo-agents: agents already running at this base URL stand in for every demo type',
    )
    .option(
      '--agent-limits <json>',
      'with --demo-agents: replace demo types\' limits, e.g. \'{"limited":{"maxConcurrency":4,"rateLimit":{"requests":20,"per":1}}}\'',
      parsedWith(
        () =>
          (require('../../local/local-config') as typeof import('../../local/local-config')).parseAgentLimits,
      ),
    )
    .option(
      '--topics <json>',
      'with --demo-agents: topics besides demo.fanout, e.g. \'{"t.mixed":{"subscribers":["echo","flaky"]}}\'',
      parsedWith(
        () =>
          (require('../../local/local-config') as typeof import('../../local/local-config'))
            .parseTopicsOption,
      ),
    )
    .action(
      action(async (session, command) => {
        const deps = session.deps;
        const options = runtimeOptions(command.opts<LocalOptions>(), deps.cwd);
        // require, not import(): bin/taskq runs this file through tsx's CommonJS hook, which import() bypasses.
        const { startLocalRuntime, LocalOptionsError } =
          require('../../local/runtime') as typeof import('../../local/runtime');
        const { JavaMissingError } =
          require('../../local/emulators') as typeof import('../../local/emulators');
        const { PortInUseError } = require('../../local/ports') as typeof import('../../local/ports');
        const { startStatusLine } =
          require('../../local/status-line') as typeof import('../../local/status-line');
        const signals = stopSignal(deps);
        const realProcess = deps.signal === undefined;
        let status: StatusLine | undefined;
        const log = (line: string) => (status ? status.log(line) : deps.stdout(`${line}\n`));
        let runtime: LocalRuntime;
        try {
          runtime = await startLocalRuntime({ ...options, log });
        } catch (error) {
          signals.dispose();
          if (error instanceof LocalOptionsError) throw new UsageError(error.message);
          if (error instanceof JavaMissingError || error instanceof PortInUseError)
            throw new CommandError(error.name, error.message);
          throw error;
        }
        deps.stdout(`${banner(runtime, options.persistDir)}\n`);
        deps.stdout(`ready in ${process.uptime().toFixed(1)} s\n`);
        status = realProcess
          ? startStatusLine(process.stdout, async () => statusText(runtime.status()))
          : undefined;

        const signal = await signals.started();
        status?.stop();
        deps.stdout(`${signal}: stopping…\n`);
        const force = setTimeout(() => {
          deps.stderr('did not stop within 5 s; exiting\n');
          if (realProcess) process.exit(1);
        }, 5000);
        force.unref();
        await runtime.stop();
        clearTimeout(force);
        // In a process of its own, nothing may keep it alive once the runtime stopped (start.ts did the same).
        if (realProcess) process.exit(0);
        return ExitCode.Success;
      }),
    );
}
