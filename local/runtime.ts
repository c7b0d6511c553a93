/**
 * The local runtime: synthesizes a CDK app (assembly.ts), starts the emulators, creates one stack's resources in
 * them, and wires the emulated services, each of which reads its own part of the template: the functions
 * (functions.ts), the HTTP APIs (http-api.ts, one port each), the SQS event sources (event-source.ts), the table
 * stream event sources (stream-source.ts) and the schedules (schedules.ts). `taskq local` (cli/commands/local.ts,
 * and `npm start`) is a thin CLI over `startLocalRuntime`; tests and benchmarks call it too.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULTS, type TopicDefinitions } from '../lambda/contract';
import {
  cdkJsonApp,
  isAssemblyDir,
  type LocalAssembly,
  projectContext,
  readAssembly,
  synthesize,
} from './assembly';
import { startAwsProxy } from './aws-proxy';
import { resourceCoverage, snsSubscriptionsNotEmulated } from './coverage';
import { consumerFunctions, taskQueuesOf } from './dashboard/layout';
import { createDashboard } from './dashboard/server';
import { type DemoAgents, startDemoAgents } from './demo-agents';
import {
  type AwsEmulator,
  checkJava,
  type DynamoEmulator,
  startAwsEmulator,
  startDynamoEmulator,
} from './emulators';
import { sqsEventSources } from './event-source';
import { FaultInjector, type FaultPlan, type FaultReport } from './faults';
import { functionCode } from './function-code';
import { type LocalFunctions, startFunctions } from './functions';
import { type HttpRoute, type LocalHttpApi, lambdaRoutes, startHttpApi } from './http-api';
import type { IntrinsicContext } from './intrinsics';
import { lambdaApiSlot, startLambdaApi } from './lambda-api';
import type { Invocation } from './lambda-pool';
import {
  configFileAgents,
  DEMO_REWRITES,
  type DemoAgentLimitsByType,
  demoStackConfig,
  type LocalConfigOptions,
  localStackConfig,
} from './local-config';
import { LOOPBACK } from './loopback';
import { openApiRoutes } from './openapi-route';
import { resolvePhysicalIds } from './physical-ids';
import { reservePort } from './ports';
import { createResources, fairQueuesNotEmulated } from './resources';
import { startSchedules } from './schedules';
import { resolveOutputs } from './stack-outputs';
import { streamEventSources } from './stream-source';
import { resourcesOfType, type Template } from './template';
import { type AgentLimitsInfo, taskQueueInfo } from './template-info';
import { applyLocalOverrides, type LocalOverrides, type RewrittenTemplate } from './template-rewrites';

export interface LocalRuntimeOptions {
  /**
   * The CDK app, as the CDK CLI's `--app` takes it: a command that synthesizes it (run in `appDir` with
   * `CDK_OUTDIR` and `CDK_CONTEXT_JSON`), or a folder that holds a cloud assembly.
   * @default - `app` of this repository's cdk.json (bin/agent-task-queue.ts, the app `cdk deploy` deploys)
   */
  readonly app?: string;
  /**
   * The app's folder: a command runs there, with its cdk.json's context, and the cache (`cdk.local.out`) is there.
   * @default - this repository when `app` is left out, else the current folder
   */
  readonly appDir?: string;
  /** The stack to run, by stack name or construct path. @default - the app's only stack (required when it has several) */
  readonly stack?: string;
  /**
   * Runs the demo agents and gives the app the demo configuration as its `taskQueue` context (local-config.ts):
   * for this repository's app, or any app whose stack reads that context as lib/task-queue-stack.ts does.
   * @default false
   */
  readonly demoAgents?: boolean;
  /** `--agent TYPE=URL`: the agent of TYPE, HTTP or Lambda, becomes an HTTP agent at URL. @default - none */
  readonly agentOverrides?: Readonly<Record<string, string>>;
  /** The first HTTP API's port; the others take the next free ones. @default 3000 */
  readonly port?: number;
  /** fauxqs (SQS, SNS, S3) port. @default 4566 */
  readonly awsPort?: number;
  /** DynamoDB Local port. @default 8000 */
  readonly dynamodbPort?: number;
  /**
   * A DynamoDB Local already running on this machine (an http URL on 127.0.0.1), to share with other runtimes
   * instead of starting one (a JVM of some 4 s of CPU to start and warm up). This runtime then names its tables with
   * a prefix of its own (`rt<8 hex>-`), so that runtimes of the same stack do not meet, and deletes them when it
   * stops; `dynamodbPort` is then unused. Not with `persistDir`, whose DynamoDB Local keeps its data in that folder.
   * @default - the runtime starts DynamoDB Local on `dynamodbPort`
   */
  readonly dynamodbEndpoint?: string;
  /** Keep queues, messages and tasks in this folder across restarts. @default - state is in memory */
  readonly persistDir?: string;
  /** CDK output folder; also holds the synth cache. @default 'cdk.local.out' in the app's folder */
  readonly outdir?: string;
  /** Deliveries before a message goes to its DLQ. @default - as synthesized (5 with `demoAgents`) */
  readonly maxReceiveCount?: number;
  /** Base URL of already running agents (`demoAgents` only). @default - the demo agents are started on a free port */
  readonly agentsUrl?: string;
  /** Most execution environments per function. @default 4 */
  readonly maxWorkersPerFunction?: number;
  /** Where log lines go. @default console.log */
  readonly log?: (line: string) => void;
  /** Faults to inject (local/faults.ts). @default - none */
  readonly faults?: FaultPlan;
  /**
   * Shorter timeouts, for runs that kill consumers: the consumers' timeout on any app; the demo agents' own
   * timeout with `demoAgents` only. @default - as synthesized (see local-config.ts with `demoAgents`)
   */
  readonly timeouts?: { readonly consumerSeconds?: number; readonly agentSeconds?: number };
  /** Run every scheduled rule at this interval instead of its own rate. @default - the rule's rate */
  readonly scheduleIntervalSeconds?: number;
  /** Heartbeat timeout of every async agent, in seconds. @default - as synthesized (10 with `demoAgents`) */
  readonly heartbeatTimeoutSeconds?: number;
  /** Told of every invocation once it ends, with its duration (the benchmark's Lambda milliseconds). @default - none */
  readonly onInvocation?: (invocation: Invocation) => void;
  /** The most tasks of one tenant running at once, across all agents. @default - as synthesized */
  readonly tenantMaxConcurrency?: number;
  /** The longest a task waiting for a limit goes between two asks, in seconds. @default - as synthesized */
  readonly limitWakeUpSeconds?: number;
  /** Limits that replace demo types' own (`demoAgents` only). @default - local-config.ts `DEMO_AGENT_LIMITS` */
  readonly agentLimits?: DemoAgentLimitsByType;
  /** Topics besides the demo's, a same-named one replacing it (`demoAgents` only). @default - local-config.ts `DEMO_TOPICS` only */
  readonly topics?: TopicDefinitions;
  /** Task lifecycle events on (an object, its transitions) or off (`false`) (`demoAgents` only): local-config.ts. @default - on for SUCCEEDED, FAILED, CANCELLED, as the demo */
  readonly events?: LocalConfigOptions['events'];
}

/** Options that configure the demo, refused without `demoAgents`, with the flag that sets each. */
const DEMO_ONLY: ReadonlyArray<[keyof LocalRuntimeOptions, string]> = [
  ['agentsUrl', '--agents-url'],
  ['agentLimits', '--agent-limits'],
  ['topics', '--topics'],
  ['events', 'events'],
];

/** An option that does not apply: a demo option without `demoAgents`, a stack the app does not have… */
export class LocalOptionsError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'LocalOptionsError';
  }
}

/** An HTTP API of the stack, served on a port of its own. */
export interface LocalApi {
  /** Its construct path, e.g. `TaskQueue/Api/HttpApi`. */
  readonly label: string;
  readonly url: string;
  /** `METHOD /path` of each of its routes. */
  readonly routes: readonly string[];
}

/** An agent type's limits as configured (`per` in seconds). */
export type LocalAgentLimits = AgentLimitsInfo;

/** A message as a queue holds it. */
export interface QueuedMessage {
  readonly body: string;
  /** Its String message attributes. */
  readonly attributes: Readonly<Record<string, string>>;
  /** How many times it was received (SQS's `ApproximateReceiveCount`). */
  readonly receiveCount: number;
}

export interface QueueStatus {
  readonly label: string;
  readonly name: string;
  /** Messages ready or delayed. */
  readonly depth: number;
  readonly inFlight: number;
}

export interface RuntimeStatus {
  readonly queues: readonly QueueStatus[];
  readonly inFlight: number;
  readonly succeeded: number;
  readonly failed: number;
}

export interface LocalRuntime {
  /** The first HTTP API's URL (a server of the runtime's own routes alone when the stack has no HTTP API). */
  readonly apiUrl: string;
  /** Every HTTP API of the stack, the first at `apiUrl`. */
  readonly apis: readonly LocalApi[];
  /** The dashboard's URL, at `apiUrl`, with this run's secret (local/dashboard): print it, never log it elsewhere. */
  readonly dashboardUrl: string;
  readonly awsEndpoint: string;
  /** The Lambda API (Invoke) of the app's functions: the AWS endpoint, for `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly lambdaEndpoint: string;
  readonly dynamodbEndpoint: string;
  /** The demo agents' base URL (or `--agents-url`); undefined without `demoAgents`. */
  readonly agentsUrl?: string;
  readonly stackName: string;
  /** The template the runtime runs: the stack's, with the overrides applied. */
  readonly template: Template;
  /** The task types of the stack's TaskQueues, read from the template (template-info.ts). */
  readonly taskTypes: readonly string[];
  /** The topics of the stack's TaskQueues: name → subscribers. */
  readonly topics: Readonly<Record<string, readonly string[]>>;
  /** The task types whose agents are async, with their heartbeat timeout in seconds. */
  readonly asyncTaskTypes: Readonly<Record<string, number>>;
  /** The task types with a concurrency or rate limit, and their limits. */
  readonly agentLimits: Readonly<Record<string, LocalAgentLimits>>;
  /** The queue-wide cap on one tenant's running tasks; undefined, none. */
  readonly tenantMaxConcurrency?: number;
  /** The longest a task waiting for a limit goes between two asks, in seconds (the construct's default without a TaskQueue). */
  readonly limitWakeUpSeconds: number;
  /** The statuses whose transitions the events topic publishes; empty when publishing is off. */
  readonly eventTransitions: readonly string[];
  /** `METHOD /path` of every served route. */
  readonly routes: readonly string[];
  /** The stack's outputs, resolved to local values. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The template's SNS topics: label (e.g. `TaskQueue/Events`) → topic ARN (`topics` in `GET /_local/stack`). */
  readonly snsTopics: Readonly<Record<string, string>>;
  /** What the template declares that runs nowhere locally (e.g. a non-SQS event source, an unknown resource type). */
  readonly notEmulated: readonly string[];
  /** The template's resource types that the runtime ignores as having no local effect (IAM, logs, alarms…). */
  readonly ignoredTypes: readonly string[];
  /** Lines about the `--agent` overrides (template-rewrites.ts). */
  readonly overrideNotes: readonly string[];
  /** What the synth took from its cache: nothing, the Lambda bundles, or the whole template; `assembly`, read from a folder. */
  readonly synthCache: LocalAssembly['cached'];
  status(): RuntimeStatus;
  /** Every message of a queue (named by its URL), visible or not: for checks, not for consumers. */
  queueMessages(queueUrl: string): QueuedMessage[];
  /** AWS calls the functions made, keyed `service:Operation`. */
  awsCalls(): Record<string, number>;
  /** The same calls by function logical id (cut at 40 characters), then `service:Operation`. */
  awsCallsByFunction(): Record<string, Record<string, number>>;
  /** The messages each function's SQS SendMessageBatch calls carried, keyed as `awsCallsByFunction`. */
  awsBatchEntriesByFunction(): Record<string, number>;
  /** The functions' DynamoDB calls by table name, then operation. */
  awsCallsByTable(): Record<string, Record<string, number>>;
  resetAwsCalls(): void;
  /**
   * The SQS calls of the event source mappings since the start, keyed `sqs:Operation` (not among `awsCalls`, and
   * not reset by `resetAwsCalls`: take differences); `sqs:ReceiveMessage (empty)` counts the receives among them
   * that returned no message.
   */
  eventSourceCalls(): Record<string, number>;
  stop(): Promise<void>;
}

/** A runtime started with a fault plan: it also reports the faults it injected (chaos runs and tests only). */
export interface FaultyLocalRuntime extends LocalRuntime {
  readonly faults: FaultReport;
}

const REGION = 'us-east-1';
/** The DynamoDB operations that write items, and so may add records to a table's stream. */
const DYNAMODB_WRITES: ReadonlySet<string> = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'ExecuteStatement',
  'BatchExecuteStatement',
  'ExecuteTransaction',
]);
const ACCOUNT_ID = '000000000000';
const ROOT = path.join(__dirname, '..');

/** `AgentTaskQueueLocal/TaskQueue/High/Queue/Resource` → `High/Queue`. */
function label(template: Template, id: string): string {
  const p = String(template.Resources[id]?.Metadata?.['aws:cdk:path'] ?? id)
    .split('/')
    .filter((s) => s !== 'Resource');
  return p.length > 2 ? p.slice(-2).join('/') : id;
}

/** Where the app comes from: a command to synthesize it in its folder, or an assembly already synthesized. */
type AppSource =
  | { readonly kind: 'command'; readonly command: string; readonly appDir: string }
  | { readonly kind: 'assembly'; readonly dir: string };

function resolveApp(options: LocalRuntimeOptions): AppSource {
  const appDir = path.resolve(options.appDir ?? (options.app === undefined ? ROOT : process.cwd()));
  if (options.app === undefined) {
    try {
      return { kind: 'command', command: cdkJsonApp(appDir), appDir };
    } catch (error) {
      throw new LocalOptionsError((error as Error).message);
    }
  }
  const asFolder = path.resolve(appDir, options.app);
  if (isAssemblyDir(options.app, appDir)) {
    if (options.demoAgents)
      throw new LocalOptionsError(
        `--demo-agents gives the app its configuration as context when it synthesizes, but ${asFolder} is a cloud assembly already synthesized: give the app's command instead`,
      );
    return { kind: 'assembly', dir: asFolder };
  }
  if (existsSync(asFolder) && statSync(asFolder).isDirectory())
    throw new LocalOptionsError(`${asFolder} is a folder but not a cloud assembly: it has no manifest.json`);
  return { kind: 'command', command: options.app, appDir };
}

/**
 * The demo configuration over the app's configuration file, with the options that tune it (local-config.ts), but
 * for local-config.ts `DEMO_REWRITES`: those come from the template rewrite instead (rewriteTemplate).
 */
function demoConfig(appDir: string, agentsUrl: string, options: LocalRuntimeOptions) {
  return demoStackConfig(
    configFileAgents(appDir, projectContext(appDir)),
    localStackConfig({
      agentsUrl,
      consumerTimeoutSeconds: options.timeouts?.consumerSeconds,
      agentTimeoutSeconds: options.timeouts?.agentSeconds,
      tenantMaxConcurrency: options.tenantMaxConcurrency,
      agentLimits: options.agentLimits,
      topics: options.topics,
      events: options.events,
    }),
  );
}

/**
 * The agents URL the demo configuration is synthesized with when the real one is a loopback origin
 * (`http://127.0.0.1:PORT`, as the demo agents' and a test's agents are): the runtime then puts the real one into
 * the template. The agents' port changes with every start on free ports; synthesizing with this one instead keeps
 * the synth cache valid across such starts (a synth without bundling costs seconds of CPU). Same scheme and host,
 * so the app checks the configuration as it would the real one. Port 9 (discard): never a demo agent's.
 */
const SYNTH_AGENTS_URL = 'http://127.0.0.1:9';
const LOOPBACK_ORIGIN = /^http:\/\/127\.0\.0\.1:\d{1,5}$/;

/** The stacks with the agents URL they were synthesized with replaced by `agentsUrl`, in every string. */
function withAgentsUrl(assembly: LocalAssembly, agentsUrl: string): LocalAssembly {
  const from = `${SYNTH_AGENTS_URL}/`;
  const to = `${agentsUrl}/`;
  return {
    ...assembly,
    stacks: assembly.stacks.map((stack) => ({
      ...stack,
      // A loopback origin needs no escaping in JSON text: the replacement cannot break it.
      template: JSON.parse(JSON.stringify(stack.template).split(from).join(to)) as Template,
    })),
  };
}

async function appAssembly(
  app: AppSource,
  options: LocalRuntimeOptions,
  agentsUrl: string | undefined,
): Promise<LocalAssembly> {
  if (app.kind === 'assembly') return { stacks: readAssembly(app.dir), cached: 'assembly' };
  const placeholder = agentsUrl !== undefined && LOOPBACK_ORIGIN.test(agentsUrl);
  const assembly = await synthesize({
    command: app.command,
    appDir: app.appDir,
    context:
      agentsUrl !== undefined
        ? { taskQueue: demoConfig(app.appDir, placeholder ? SYNTH_AGENTS_URL : agentsUrl, options) }
        : {},
    ...(options.outdir && { outdir: path.resolve(options.outdir) }),
    ...(options.persistDir && { ignore: [path.resolve(options.persistDir)] }),
  });
  return placeholder ? withAgentsUrl(assembly, agentsUrl) : assembly;
}

/**
 * Synthesizes this repository's app in the demo configuration (`taskq local --demo-agents` with `options`) into
 * its synth cache, and starts nothing: for a test run to bundle once before its runtimes start side by side.
 */
export async function synthesizeDemo(options: LocalRuntimeOptions = {}): Promise<LocalAssembly['cached']> {
  const demo = { ...options, demoAgents: true };
  return (await appAssembly(resolveApp(demo), demo, SYNTH_AGENTS_URL)).cached;
}

/** The stack to run: the one named, or the app's only one. The runtime runs one stack at a time. */
function selectStack(assembly: LocalAssembly, name: string | undefined): LocalAssembly['stacks'][number] {
  const { stacks } = assembly;
  const names = stacks
    .map((s) => (s.displayName === s.stackName ? s.stackName : `${s.stackName} (${s.displayName})`))
    .join(', ');
  if (stacks.length === 0) throw new LocalOptionsError('the app has no stack');
  if (name !== undefined) {
    const found = stacks.find((s) => s.stackName === name || s.displayName === name);
    if (!found) throw new LocalOptionsError(`the app has no stack '${name}'; its stacks: ${names}`);
    return found;
  }
  if (stacks.length > 1)
    throw new LocalOptionsError(
      `the app has ${stacks.length} stacks; the local runtime runs one at a time: choose it with --stack NAME (${names})`,
    );
  return stacks[0]!;
}

/**
 * The template with the timing, limit and agent overrides applied (template-rewrites.ts). With `demoAgents`, the
 * other timings and limits are the demo configuration's already (the construct derived the template from them), so
 * only local-config.ts `DEMO_REWRITES` and `--agent` rewrite it.
 */
function rewriteTemplate(template: Template, options: LocalRuntimeOptions): RewrittenTemplate {
  const tuning: LocalOverrides = options.demoAgents
    ? Object.fromEntries(DEMO_REWRITES.flatMap((k) => (options[k] === undefined ? [] : [[k, options[k]]])))
    : {
        ...(options.timeouts?.consumerSeconds !== undefined && {
          consumerTimeoutSeconds: options.timeouts.consumerSeconds,
        }),
        ...(options.maxReceiveCount !== undefined && { maxReceiveCount: options.maxReceiveCount }),
        ...(options.heartbeatTimeoutSeconds !== undefined && {
          heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
        }),
        ...(options.tenantMaxConcurrency !== undefined && {
          tenantMaxConcurrency: options.tenantMaxConcurrency,
        }),
        ...(options.limitWakeUpSeconds !== undefined && { limitWakeUpSeconds: options.limitWakeUpSeconds }),
      };
  const overrides: LocalOverrides = {
    ...tuning,
    ...(options.agentOverrides &&
      Object.keys(options.agentOverrides).length > 0 && { agentUrls: options.agentOverrides }),
  };
  // No override: the template runs as synthesized (the Lambda agents that cannot run come from template-info.ts).
  if (Object.keys(overrides).length === 0) return { template, notes: [], notRunnable: [] };
  return applyLocalOverrides(template, overrides);
}

/** `dynamodbEndpoint`, checked: its port, and the table prefix of this runtime. */
function sharedDynamoDb(options: LocalRuntimeOptions): {
  endpoint: string;
  port: number;
  tablePrefix: string;
} {
  const given = options.dynamodbEndpoint!;
  if (options.persistDir !== undefined)
    throw new LocalOptionsError(
      '--dynamodb-endpoint shares a DynamoDB Local that keeps its data elsewhere: it cannot go with --persist',
    );
  const url = URL.canParse(given) ? new URL(given) : undefined;
  if (!url || url.protocol !== 'http:' || url.hostname !== LOOPBACK || !url.port || url.pathname !== '/')
    throw new LocalOptionsError(
      `--dynamodb-endpoint must be a DynamoDB Local on this machine, as http://127.0.0.1:PORT; got '${given}'`,
    );
  return {
    endpoint: url.origin,
    port: Number(url.port),
    tablePrefix: `rt${randomBytes(4).toString('hex')}-`,
  };
}

/** Deletes tables of a shared DynamoDB Local, each on its own: one that is gone already is no matter. */
async function deleteTables(dynamodb: DynamoDBClient, tables: readonly string[]): Promise<void> {
  await Promise.all(
    tables.map((TableName) => dynamodb.send(new DeleteTableCommand({ TableName })).catch(() => undefined)),
  );
}

/** The first free port after `after` that the runtime does not use already. */
async function nextFreePort(after: number, taken: Set<number>): Promise<number> {
  for (let candidate = after + 1; candidate <= 65_535; candidate++) {
    if (taken.has(candidate)) continue;
    const free = await reservePort(candidate, '--port').then(
      () => true,
      () => false,
    );
    if (free) {
      taken.add(candidate);
      return candidate;
    }
  }
  throw new Error(`no free port after ${after} for the next HTTP API`);
}

export function startLocalRuntime(
  options: LocalRuntimeOptions & { readonly faults: FaultPlan },
): Promise<FaultyLocalRuntime>;
export function startLocalRuntime(options?: LocalRuntimeOptions): Promise<LocalRuntime>;
export async function startLocalRuntime(
  options: LocalRuntimeOptions = {},
): Promise<LocalRuntime | FaultyLocalRuntime> {
  const log = options.log ?? ((line: string) => console.log(line));
  const stops: Array<() => Promise<void>> = [];
  let dynamoStarting: Promise<DynamoEmulator> | undefined;
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
    // DynamoDB Local may still be booting when a start fails: never leave its JVM behind.
    await dynamoStarting?.then((d) => d.stop()).catch(() => {});
  };
  try {
    for (const [option, flag] of DEMO_ONLY) {
      if (options[option] !== undefined && !options.demoAgents)
        throw new LocalOptionsError(`${flag} configures the demo agents: it needs --demo-agents`);
    }
    const shared = options.dynamodbEndpoint !== undefined ? sharedDynamoDb(options) : undefined;
    const app = resolveApp(options);
    if (!shared) checkJava();
    const [port, awsPort, dynamodbPort] = [
      await reservePort(options.port ?? 3000, '--port'),
      await reservePort(options.awsPort ?? 4566, '--aws-port'),
      shared?.port ?? (await reservePort(options.dynamodbPort ?? 8000, '--dynamodb-port')),
    ];
    const persist = options.persistDir ? path.resolve(options.persistDir) : undefined;

    // DynamoDB Local (a JVM) boots while this process synthesizes; a shared one is not this runtime's to stop.
    dynamoStarting = shared
      ? Promise.resolve({ endpoint: shared.endpoint, stop: async () => {} })
      : startDynamoEmulator({
          port: dynamodbPort,
          ...(persist && { dbPath: path.join(persist, 'dynamodb') }),
        });
    dynamoStarting.catch(() => {});
    // The functions are known only after the synth; the injector looks them up when a fault fires.
    let functions: LocalFunctions | undefined;
    const faults = options.faults
      ? new FaultInjector(options.faults, {
          killWorker: (appId) => functions?.killWorker(appId),
          roleOf: (appId) => functions?.roleOf(appId) ?? 'other',
        })
      : undefined;
    const agentSeconds = options.timeouts?.agentSeconds ?? 10;
    const taken = new Set([port, awsPort, dynamodbPort]);
    let agents: DemoAgents | undefined;
    if (options.demoAgents && !options.agentsUrl) {
      // The port next to the API's when free: a stable agents URL keeps the synth cache valid across runs.
      const next = port + 1;
      const preferred = taken.has(next) ? 0 : await reservePort(next, '').catch(() => 0);
      agents = await startDemoAgents({
        port: preferred,
        ...(faults && { beforeAnswer: () => faults.agentDelay(agentSeconds) }),
      });
      stops.push(agents.close);
      taken.add(Number(new URL(agents.url).port));
    }
    const agentsUrl = options.demoAgents ? (options.agentsUrl ?? agents!.url) : undefined;
    // The Lambda API (lambda-api.ts) is served on the AWS endpoint and the proxy; it runs once the functions do.
    const lambda = lambdaApiSlot();
    const aws: AwsEmulator = await startAwsEmulator({
      port: awsPort,
      lambda: lambda.handle,
      ...(persist && { dataDir: path.join(persist, 'fauxqs') }),
    });
    stops.push(aws.stop);

    // Functions reach the emulators through a proxy that counts their calls and injects faults. Queue URLs
    // name the proxy too: the SQS client sends each call to its queue URL's host.
    let tableWritten = () => {};
    const proxy = await startAwsProxy({
      targets: {
        sqs: aws.internalEndpoint,
        sns: aws.internalEndpoint,
        s3: aws.internalEndpoint,
        dynamodb: `http://127.0.0.1:${dynamodbPort}`,
      },
      serve: { lambda: lambda.handle },
      interceptor: faults,
      // A table written through the proxy wakes its idle stream sources (stream-source.ts `wake`).
      onAnswered: (call, status) => {
        if (status === 200 && call.service === 'dynamodb' && DYNAMODB_WRITES.has(call.operation))
          tableWritten();
      },
    });
    stops.push(proxy.close);

    const assembly = await appAssembly(app, options, agentsUrl);
    const stack = selectStack(assembly, options.stack);
    const rewritten = rewriteTemplate(stack.template, options);
    const dynamo: DynamoEmulator = await dynamoStarting;

    // Each HTTP API on a port of its own: the first on --port, the others on the next free ones.
    const apiIds = resourcesOfType(rewritten.template, 'AWS::ApiGatewayV2::Api').map(([id]) => id);
    const apiPorts = [port];
    for (let i = 1; i < apiIds.length; i++) apiPorts.push(await nextFreePort(apiPorts[i - 1]!, taken));
    const apiUrls = new Map(apiIds.map((id, i) => [id, `http://127.0.0.1:${apiPorts[i]}`]));
    const resources = resolvePhysicalIds(rewritten.template, {
      region: REGION,
      accountId: ACCOUNT_ID,
      stackName: stack.stackName,
      awsEndpoint: proxy.endpoint('sqs'),
      apiUrl: `http://127.0.0.1:${port}`,
      ...(shared && { tablePrefix: shared.tablePrefix }),
    });
    for (const [id, url] of apiUrls)
      resources.set(id, { ref: id, attributes: { ApiEndpoint: url, ApiId: id } });
    const ctx: IntrinsicContext = {
      template: rewritten.template,
      region: REGION,
      accountId: ACCOUNT_ID,
      stackName: stack.stackName,
      resources,
    };
    const clientConfig = { region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const sqs = new SQSClient({ ...clientConfig, endpoint: aws.internalEndpoint });
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
    // DynamoDB Local serves its streams API on the same port as DynamoDB.
    const streams = new DynamoDBStreamsClient({ ...clientConfig, endpoint: dynamo.endpoint });
    const clientsStop = stops.length;
    stops.push(async () => {
      sqs.destroy();
      dynamodb.destroy();
      streams.destroy();
    });
    const created = await createResources(ctx, { sqs, dynamodb, fauxqs: aws.server });
    // On a shared DynamoDB Local, this runtime's tables go with it: after everything that uses them has stopped, and
    // before its clients do (stops run last first).
    if (shared) stops.splice(clientsStop + 1, 0, () => deleteTables(dynamodb, created.tables));

    // Inline code and the stand-ins of functions that cannot run go to a folder of this runtime's own.
    const scratch = mkdtempSync(path.join(tmpdir(), 'taskq-local-code-'));
    stops.push(async () => rmSync(scratch, { recursive: true, force: true }));
    const code = functionCode(ctx.template, stack.codePaths, scratch);
    const maxWorkers = options.maxWorkersPerFunction ?? 4;
    const fns = startFunctions(
      ctx,
      code.codePaths,
      {
        aws: proxy.endpoint('sqs'),
        sns: proxy.endpoint('sns'),
        s3: proxy.endpoint('s3'),
        dynamodb: proxy.endpoint('dynamodb'),
        lambda: proxy.endpoint('lambda'),
      },
      { maxWorkers, log, ...(options.onInvocation && { onInvoke: options.onInvocation }) },
    );
    functions = fns;
    stops.push(fns.stop);
    const lambdaApi = startLambdaApi({ ctx, find: fns.find, awsEndpoint: aws.internalEndpoint, log });
    lambda.attach(lambdaApi);
    stops.push(lambdaApi.stop);
    const warming = fns.warm();
    warming.catch(() => {}); // awaited below; a failure before then must not go unhandled

    const eventSources = sqsEventSources(ctx, {
      sqs,
      functions: fns.lookup,
      maxWorkers,
      log,
      ...(faults && {
        duplicate: (queueName, message) =>
          faults.roll('duplicateDelivery') ? aws.duplicate(queueName, message.ReceiptHandle!) : undefined,
      }),
    });
    const sources = eventSources.sources;
    for (const source of sources) stops.push(() => source.stop());
    const streamSources = streamEventSources(ctx, {
      dynamodb,
      streams,
      sqs,
      functions: fns.lookup,
      log,
      ...(persist && { checkpointDir: path.join(persist, 'streams') }),
    });
    for (const source of streamSources) stops.push(() => source.stop());
    tableWritten = () => {
      for (const source of streamSources) source.wake();
    };
    const snsTopics = Object.fromEntries(
      resourcesOfType(ctx.template, 'AWS::SNS::Topic').map(([id]) => [
        label(ctx.template, id),
        ctx.resources.get(id)!.ref,
      ]),
    );
    const apiRoutes = lambdaRoutes(ctx, fns.lookup);

    // Not in the template: tells local tools (taskq dlq) where the stack's resources are. Every API serves it.
    let outputs: Record<string, string> = {};
    const localStackRoute: HttpRoute = {
      routeKey: 'GET /_local/stack',
      invoke: async () => ({
        ok: true,
        result: {
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            stackName: stack.stackName,
            outputs,
            topics: snsTopics,
            endpoints: { sqs: aws.endpoint, sns: aws.endpoint, dynamodb: dynamo.endpoint },
            region: REGION,
          }),
        },
      }),
    };

    // The dashboard (local/dashboard/server.ts): its page, its data API and its actions, under /_local/dashboard
    // of the first API; it shows every TaskQueue of the stack (none: an empty page).
    const dashboard = createDashboard({
      stackName: stack.stackName,
      layouts: taskQueuesOf(consumerFunctions(ctx)),
      apiUrl: `http://127.0.0.1:${port}`,
      fauxqs: aws.server,
      sqs,
      dynamodb,
      log,
    });
    dashboard.start();
    stops.push(dashboard.stop);

    await warming;
    // With no HTTP API in the stack, one server still answers the runtime's own route on --port.
    const served = apiIds.length > 0 ? apiIds : [undefined];
    const apis: LocalApi[] = [];
    for (const [i, apiId] of served.entries()) {
      const routes = apiRoutes.routes.filter((r) => apiId === undefined || r.apiId === apiId);
      const api: LocalHttpApi = await startHttpApi({
        port: apiPorts[i]!,
        // A task queue's API also serves its OpenAPI document (local/openapi-route.ts); the first, the dashboard.
        routes: [
          ...routes,
          localStackRoute,
          ...openApiRoutes(routes, `http://127.0.0.1:${apiPorts[i]}`),
          ...(i === 0 ? dashboard.routes : []),
        ],
        log,
      });
      stops.push(api.stop);
      apis.push({
        label: apiId === undefined ? '(no HTTP API)' : label(ctx.template, apiId),
        url: api.url,
        routes: routes.map((r) => r.routeKey),
      });
    }
    for (const source of sources) source.start();
    for (const source of streamSources) source.start();
    const schedules = startSchedules(ctx, fns.lookup, {
      intervalSeconds: options.scheduleIntervalSeconds,
      log,
    });
    stops.push(async () => schedules.stop());
    outputs = resolveOutputs(ctx, new Map(apiIds.map((id, i) => [id, apis[i]!.url])));
    const info = taskQueueInfo(ctx);
    const coverage = resourceCoverage(ctx.template);
    const notRunnable = [...new Set([...rewritten.notRunnable, ...info.notRunnable])];
    const notEmulated = [
      ...coverage.notEmulated,
      ...code.notEmulated,
      ...eventSources.notEmulated,
      ...apiRoutes.notEmulated,
      ...schedules.notEmulated,
      ...lambdaApi.notEmulated,
      ...snsSubscriptionsNotEmulated(ctx),
      ...fairQueuesNotEmulated(ctx),
      ...notRunnable.map(
        (agent) =>
          `Lambda agent ${agent} (a function outside the app: not runnable locally; --agent TYPE=URL maps it)`,
      ),
    ];

    const queueIds = resourcesOfType(ctx.template, 'AWS::SQS::Queue').map(([id]) => id);
    const runtime: LocalRuntime = {
      apiUrl: apis[0]!.url,
      apis,
      dashboardUrl: dashboard.url,
      awsEndpoint: aws.endpoint,
      lambdaEndpoint: aws.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      ...(agentsUrl !== undefined && { agentsUrl }),
      stackName: stack.stackName,
      template: ctx.template,
      taskTypes: info.taskTypes,
      topics: info.topics,
      asyncTaskTypes: info.asyncTaskTypes,
      agentLimits: info.agentLimits,
      ...(info.tenantMaxConcurrency !== undefined && { tenantMaxConcurrency: info.tenantMaxConcurrency }),
      limitWakeUpSeconds: info.limitWakeUpSeconds ?? DEFAULTS.limitWakeUpSeconds,
      eventTransitions: info.eventTransitions,
      routes: [...new Set(apis.flatMap((api) => api.routes))],
      ignoredTypes: coverage.ignored,
      overrideNotes: rewritten.notes,
      outputs,
      snsTopics,
      notEmulated,
      synthCache: assembly.cached,
      status: () => {
        const queues = queueIds.map((id) => {
          const name = ctx.resources.get(id)!.attributes.QueueName!;
          const messages = aws.server.inspectQueue(name)?.messages;
          return {
            label: label(ctx.template, id),
            name,
            depth: (messages?.ready.length ?? 0) + (messages?.delayed.length ?? 0),
            inFlight: messages?.inflight.length ?? 0,
          };
        });
        const sum = (key: 'inFlight' | 'succeeded' | 'failed') =>
          sources.reduce((n, s) => n + s.stats[key], 0);
        return { queues, inFlight: sum('inFlight'), succeeded: sum('succeeded'), failed: sum('failed') };
      },
      queueMessages: (queueUrl) => {
        const messages = aws.server.inspectQueue(queueUrl.slice(queueUrl.lastIndexOf('/') + 1))?.messages;
        if (!messages) return [];
        return [...messages.ready, ...messages.delayed, ...messages.inflight.map((m) => m.message)].map(
          (m) => ({
            body: m.body,
            attributes: Object.fromEntries(
              Object.entries(m.messageAttributes).flatMap(([name, value]) =>
                value.StringValue !== undefined ? [[name, value.StringValue]] : [],
              ),
            ),
            receiveCount: m.approximateReceiveCount,
          }),
        );
      },
      awsCalls: () => proxy.counts(),
      awsCallsByFunction: () => proxy.countsByFunction(),
      awsBatchEntriesByFunction: () => proxy.batchEntriesByFunction(),
      awsCallsByTable: () => proxy.countsByTable(),
      resetAwsCalls: () => proxy.resetCounts(),
      eventSourceCalls: () => ({
        'sqs:ReceiveMessage': sources.reduce((n, s) => n + s.stats.receiveCalls, 0),
        'sqs:ReceiveMessage (empty)': sources.reduce((n, s) => n + s.stats.emptyReceiveCalls, 0),
        'sqs:DeleteMessageBatch': sources.reduce((n, s) => n + s.stats.deleteBatchCalls, 0),
        'dynamodbstreams:GetRecords': streamSources.reduce((n, s) => n + s.stats.getRecordsCalls, 0),
      }),
      stop: stopAll,
    };
    if (!faults) return runtime;
    const report: FaultReport = {
      plan: faults.plan,
      injected: () => faults.injected(),
      interruptedAttempts: () => faults.interruptedAttempts(),
      lostAttempts: () => faults.lostAttempts(),
      agentSuccesses: () => agents?.successes() ?? new Map(),
      agentCallbacks: () => agents?.callbacks() ?? [],
      asyncRunAttempts: () => agents?.asyncRunAttempts() ?? new Map(),
      activeAsyncRuns: () => agents?.asyncRuns().active ?? 0,
      deaths: () => faults.deaths(),
      waits: () => faults.waits(),
      limited: () => agents?.limited() ?? { current: 0, max: 0, calls: [] },
    };
    return { ...runtime, faults: report };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
