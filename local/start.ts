/**
 * `npm start`: runs the whole queue on this machine from the synthesized template, with no AWS and no Docker.
 *
 *   npm start -- [--port 3000] [--aws-port 4566] [--dynamodb-port 8000] [--persist DIR] [--heartbeat-timeout S]
 *                [--tenant-max-concurrency N] [--limit-wake-up S] [--agent-limits JSON] [--topics JSON]
 */

import { Command, InvalidArgumentError } from 'commander';
import type { TopicDefinitions } from '../lambda/contract';
import { maxAgentTimeoutSeconds } from '../lambda/core/agent-timeout';
import { MAX_LIMIT } from '../lambda/core/limits';
import { JavaMissingError } from './emulators';
import { type FaultPlan, parseFaultPlan } from './faults';
import { type DemoAgentLimitsByType, parseAgentLimits, parseTopicsOption } from './local-config';
import { PortInUseError } from './ports';
import { type LocalRuntime, type RuntimeStatus, startLocalRuntime } from './runtime';
import { type StatusLine, startStatusLine } from './status-line';

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

function agentLimits(value: string): DemoAgentLimitsByType {
  try {
    return parseAgentLimits(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function topics(value: string): TopicDefinitions {
  try {
    return parseTopicsOption(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function banner(runtime: LocalRuntime, persist: string | undefined): string {
  const lines = [
    `agent-task-queue local runtime (stack ${runtime.stackName}; synth cache: ${runtime.synthCache})`,
    `  API          ${runtime.apiUrl}`,
    `  Dashboard    ${runtime.dashboardUrl}  (the token enables its actions: keep it to yourself)`,
    `  Routes       ${runtime.routes.join(', ')}`,
    `  SQS/SNS/S3   ${runtime.awsEndpoint}  (fauxqs)`,
    `  DynamoDB     ${runtime.dynamodbEndpoint}  (DynamoDB Local)`,
    `  Agents       ${runtime.agentsUrl}  (types: ${runtime.taskTypes.join(', ')})`,
    ...topicLines(runtime),
    ...eventLines(runtime),
    ...asyncLines(runtime),
    ...limitLines(runtime),
    `  State        ${persist ? `persisted in ${persist}` : 'in memory (use --persist DIR to keep it)'}`,
    '  Every port listens on 127.0.0.1 only; the emulators refuse requests from web pages.',
    '  Authorizers and API throttling are not enforced locally: requests need no signature or JWT',
    "  (the callback routes still check the attempt's token: their function does).",
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
    '               a task whose type is a topic runs once on each subscriber (--topics JSON adds topics)',
  ];
}

/** The events topic, what it publishes, and how to watch it. */
function eventLines(runtime: LocalRuntime): string[] {
  const topicArn = runtime.outputs.TaskEventsTopicArn;
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

async function main(): Promise<void> {
  const program = new Command()
    .name('npm start --')
    .description('Run the task queue locally from its synthesized template')
    .option('--port <port>', 'HTTP API port', portNumber, 3000)
    .option('--aws-port <port>', 'fauxqs (SQS, SNS, S3) port', portNumber, 4566)
    .option('--dynamodb-port <port>', 'DynamoDB Local port', portNumber, 8000)
    .option('--persist <dir>', 'keep queues, messages and tasks in DIR across restarts')
    .option('--max-receive-count <n>', 'deliveries before a message goes to its DLQ', positiveInteger, 5)
    .option('--agents-url <url>', 'use agents already running at this base URL instead of the demo agents')
    .option('--outdir <dir>', 'CDK output folder (also the bundle cache)')
    .option(
      '--faults <spec>',
      'inject faults, e.g. "dynamodbThrottle=0.05,dieAfterAgent=0.02" or "all=0.02" (see local/faults.ts)',
      parseFaultPlan,
    )
    .option('--consumer-timeout <seconds>', 'shorter consumer timeout (default 75)', positiveInteger)
    .option(
      '--heartbeat-timeout <seconds>',
      'heartbeat timeout of every async agent, e.g. async-echo (default 10)',
      positiveInteger,
    )
    .option(
      '--tenant-max-concurrency <n>',
      "the most tasks of one tenant (POST /tasks's tenant_id) running at once, across all agents",
      tenantCap,
    )
    .option(
      '--agent-limits <json>',
      'replace demo types\' limits, e.g. \'{"limited":{"maxConcurrency":4,"rateLimit":{"requests":20,"per":1}}}\'',
      agentLimits,
    )
    .option(
      '--topics <json>',
      'topics besides demo.fanout, e.g. \'{"t.mixed":{"subscribers":["echo","flaky"]}}\'',
      topics,
    )
    .option(
      '--limit-wake-up <seconds>',
      'the longest a task waiting for a limit goes between two asks (default 5)',
      positiveInteger,
    )
    .parse();
  const opts = program.opts<{
    port: number;
    awsPort: number;
    dynamodbPort: number;
    persist?: string;
    maxReceiveCount: number;
    agentsUrl?: string;
    outdir?: string;
    faults?: FaultPlan;
    consumerTimeout?: number;
    heartbeatTimeout?: number;
    tenantMaxConcurrency?: number;
    limitWakeUp?: number;
    agentLimits?: DemoAgentLimitsByType;
    topics?: TopicDefinitions;
  }>();

  // Until the runtime is up, a signal exits at once; the exit hook still stops DynamoDB Local's JVM.
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);

  let status: StatusLine | undefined;
  const log = (line: string) => (status ? status.log(line) : console.log(line));
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      port: opts.port,
      awsPort: opts.awsPort,
      dynamodbPort: opts.dynamodbPort,
      persistDir: opts.persist,
      maxReceiveCount: opts.maxReceiveCount,
      agentsUrl: opts.agentsUrl,
      outdir: opts.outdir,
      log,
      faults: opts.faults,
      heartbeatTimeoutSeconds: opts.heartbeatTimeout,
      tenantMaxConcurrency: opts.tenantMaxConcurrency,
      limitWakeUpSeconds: opts.limitWakeUp,
      agentLimits: opts.agentLimits,
      topics: opts.topics,
      ...(opts.consumerTimeout && {
        timeouts: {
          consumerSeconds: opts.consumerTimeout,
          agentSeconds: Math.max(1, maxAgentTimeoutSeconds(opts.consumerTimeout)),
        },
      }),
    });
  } catch (error) {
    if (error instanceof JavaMissingError || error instanceof PortInUseError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  console.log(banner(runtime, opts.persist));
  console.log(`ready in ${process.uptime().toFixed(1)} s`);
  status = startStatusLine(process.stdout, async () => statusText(runtime.status()));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    status?.stop();
    console.log(`${signal}: stopping…`);
    const force = setTimeout(() => {
      console.error('did not stop within 5 s; exiting');
      process.exit(1);
    }, 5000);
    force.unref();
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
