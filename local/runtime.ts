/**
 * The local runtime: synthesizes the app, starts the emulators, creates the template's resources in
 * them, and wires the emulated services, each of which reads its own part of the template: the functions
 * (functions.ts), the HTTP API (http-api.ts), the SQS event sources (event-source.ts), the table stream event
 * sources (stream-source.ts) and the schedules (schedules.ts). `npm start` (local/start.ts) is a thin CLI over `startLocalRuntime`; tests and benchmarks
 * call it too.
 */
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULTS, type TopicDefinitions } from '../lambda/contract';
import { DEFAULT_EVENT_TRANSITIONS } from '../lambda/core/task-events';
import { startAwsProxy } from './aws-proxy';
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
import { type LocalFunctions, startFunctions } from './functions';
import { type HttpRoute, type LocalHttpApi, lambdaRoutes, startHttpApi } from './http-api';
import type { IntrinsicContext } from './intrinsics';
import { lambdaApiSlot, startLambdaApi } from './lambda-api';
import type { Invocation } from './lambda-pool';
import { type DemoAgentLimitsByType, type LocalConfigOptions, localStackConfig } from './local-config';
import { resolvePhysicalIds } from './physical-ids';
import { reservePort } from './ports';
import { createResources, fairQueuesNotEmulated } from './resources';
import { startSchedules } from './schedules';
import { resolveOutputs } from './stack-outputs';
import { streamEventSources } from './stream-source';
import { synthesize } from './synth';
import { resourcesOfType, type Template } from './template';

export interface LocalRuntimeOptions {
  /** HTTP API port. @default 3000 */
  readonly port?: number;
  /** fauxqs (SQS, SNS, S3) port. @default 4566 */
  readonly awsPort?: number;
  /** DynamoDB Local port. @default 8000 */
  readonly dynamodbPort?: number;
  /** Keep queues, messages and tasks in this folder across restarts. @default - state is in memory */
  readonly persistDir?: string;
  /** CDK output folder; also holds the bundle cache. @default 'cdk.local.out' in the project */
  readonly outdir?: string;
  /** Deliveries before a message goes to its DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** Base URL of already running agents. @default - the demo agents are started on a free port */
  readonly agentsUrl?: string;
  /** Most execution environments per function. @default 4 */
  readonly maxWorkersPerFunction?: number;
  /** Where log lines go. @default console.log */
  readonly log?: (line: string) => void;
  /** Faults to inject (local/faults.ts). @default - none */
  readonly faults?: FaultPlan;
  /** Shorter consumer and agent timeouts, for runs that kill consumers. @default - see local-config.ts */
  readonly timeouts?: { readonly consumerSeconds?: number; readonly agentSeconds?: number };
  /** Run every scheduled rule at this interval instead of its own rate. @default - the rule's rate */
  readonly scheduleIntervalSeconds?: number;
  /** Heartbeat timeout of every async agent, in seconds. @default 10 (local-config.ts) */
  readonly heartbeatTimeoutSeconds?: number;
  /** Told of every invocation once it ends, with its duration (the benchmark's Lambda milliseconds). @default - none */
  readonly onInvocation?: (invocation: Invocation) => void;
  /** The most tasks of one tenant running at once, across all agents. @default - no tenant cap */
  readonly tenantMaxConcurrency?: number;
  /** The longest a task waiting for a limit goes between two asks, in seconds. @default - the construct's */
  readonly limitWakeUpSeconds?: number;
  /** Limits that replace demo types' own. @default - local-config.ts `DEMO_AGENT_LIMITS` */
  readonly agentLimits?: DemoAgentLimitsByType;
  /** Topics besides the demo's (a same-named one replaces it). @default - local-config.ts `DEMO_TOPICS` only */
  readonly topics?: TopicDefinitions;
  /** Task lifecycle events on (an object, its transitions) or off (`false`): local-config.ts. @default - on for SUCCEEDED, FAILED, CANCELLED, as the demo */
  readonly events?: LocalConfigOptions['events'];
}

/** An agent type's limits as configured (`per` in seconds). */
export interface LocalAgentLimits {
  readonly maxConcurrency?: number;
  readonly rateLimit?: { readonly requests: number; readonly per: number };
}

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
  readonly apiUrl: string;
  /** The dashboard's URL with this run's secret (local/dashboard): print it, never log it elsewhere. */
  readonly dashboardUrl: string;
  readonly awsEndpoint: string;
  /** The Lambda API (Invoke) of the app's functions: the AWS endpoint, for `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly lambdaEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly agentsUrl: string;
  readonly stackName: string;
  /** The task types of the local configuration. */
  readonly taskTypes: readonly string[];
  /** The topics of the local configuration: name → subscribers. */
  readonly topics: Readonly<Record<string, readonly string[]>>;
  /** The task types whose agents are async, with their heartbeat timeout in seconds. */
  readonly asyncTaskTypes: Readonly<Record<string, number>>;
  /** The task types with a concurrency or rate limit, and their limits. */
  readonly agentLimits: Readonly<Record<string, LocalAgentLimits>>;
  /** The queue-wide cap on one tenant's running tasks; undefined, none. */
  readonly tenantMaxConcurrency?: number;
  /** The longest a task waiting for a limit goes between two asks, in seconds. */
  readonly limitWakeUpSeconds: number;
  /** The statuses whose transitions the events topic publishes; empty when publishing is off. */
  readonly eventTransitions: readonly string[];
  /** `METHOD /path` of every served route. */
  readonly routes: readonly string[];
  /** The stack's outputs, resolved to local values. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The template's SNS topics: label (e.g. `TaskQueue/Events`) → topic ARN (`topics` in `GET /_local/stack`). */
  readonly snsTopics: Readonly<Record<string, string>>;
  /** What the template declares that runs nowhere locally (e.g. a non-SQS event source). */
  readonly notEmulated: readonly string[];
  /** What the synth took from its cache: nothing, the Lambda bundles, or the whole template. */
  readonly synthCache: 'none' | 'bundles' | 'template';
  status(): RuntimeStatus;
  /** Every message of a queue (named by its URL), visible or not: for checks, not for consumers. */
  queueMessages(queueUrl: string): QueuedMessage[];
  /** AWS calls the functions made, keyed `service:Operation`. */
  awsCalls(): Record<string, number>;
  /** The same calls by function logical id (cut at 40 characters), then `service:Operation`. */
  awsCallsByFunction(): Record<string, Record<string, number>>;
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
const ACCOUNT_ID = '000000000000';
const ROOT = path.join(__dirname, '..');

/** `AgentTaskQueueLocal/TaskQueue/High/Queue/Resource` → `High/Queue`. */
function label(template: Template, id: string): string {
  const p = String(template.Resources[id]?.Metadata?.['aws:cdk:path'] ?? id)
    .split('/')
    .filter((s) => s !== 'Resource');
  return p.length > 2 ? p.slice(-2).join('/') : id;
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
    checkJava();
    const [port, awsPort, dynamodbPort] = [
      await reservePort(options.port ?? 3000, '--port'),
      await reservePort(options.awsPort ?? 4566, '--aws-port'),
      await reservePort(options.dynamodbPort ?? 8000, '--dynamodb-port'),
    ];
    const persist = options.persistDir ? path.resolve(options.persistDir) : undefined;

    // DynamoDB Local (a JVM) boots while this process synthesizes.
    dynamoStarting = startDynamoEmulator({
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
    let agents: DemoAgents | undefined;
    if (!options.agentsUrl) {
      // The port next to the API's when free: a stable agents URL keeps the synth cache valid across runs.
      const next = port + 1;
      const preferred =
        next === awsPort || next === dynamodbPort ? 0 : await reservePort(next, '').catch(() => 0);
      agents = await startDemoAgents({
        port: preferred,
        ...(faults && { beforeAnswer: () => faults.agentDelay(agentSeconds) }),
      });
      stops.push(agents.close);
    }
    const agentsUrl = options.agentsUrl ?? agents!.url;
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
    const proxy = await startAwsProxy({
      targets: {
        sqs: aws.internalEndpoint,
        sns: aws.internalEndpoint,
        dynamodb: `http://127.0.0.1:${dynamodbPort}`,
      },
      serve: { lambda: lambda.handle },
      interceptor: faults,
    });
    stops.push(proxy.close);

    const config = localStackConfig({
      agentsUrl,
      maxReceiveCount: options.maxReceiveCount,
      consumerTimeoutSeconds: options.timeouts?.consumerSeconds,
      agentTimeoutSeconds: options.timeouts?.agentSeconds,
      heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
      tenantMaxConcurrency: options.tenantMaxConcurrency,
      limitWakeUpSeconds: options.limitWakeUpSeconds,
      agentLimits: options.agentLimits,
      topics: options.topics,
      events: options.events,
    });
    const assembly = await synthesize({ outdir: options.outdir ?? path.join(ROOT, 'cdk.local.out'), config });
    const dynamo: DynamoEmulator = await dynamoStarting;

    const apiUrl = `http://127.0.0.1:${port}`;
    const ctx: IntrinsicContext = {
      template: assembly.template,
      region: REGION,
      accountId: ACCOUNT_ID,
      stackName: assembly.stackName,
      resources: resolvePhysicalIds(assembly.template, {
        region: REGION,
        accountId: ACCOUNT_ID,
        stackName: assembly.stackName,
        awsEndpoint: proxy.endpoint('sqs'),
        apiUrl,
      }),
    };
    const clientConfig = { region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const sqs = new SQSClient({ ...clientConfig, endpoint: aws.internalEndpoint });
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
    // DynamoDB Local serves its streams API on the same port as DynamoDB.
    const streams = new DynamoDBStreamsClient({ ...clientConfig, endpoint: dynamo.endpoint });
    stops.push(async () => {
      sqs.destroy();
      dynamodb.destroy();
      streams.destroy();
    });
    await createResources(ctx, { sqs, dynamodb, fauxqs: aws.server });

    const maxWorkers = options.maxWorkersPerFunction ?? 4;
    const fns = startFunctions(
      ctx,
      assembly.codePaths,
      {
        aws: proxy.endpoint('sqs'),
        sns: proxy.endpoint('sns'),
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
    const snsTopics = Object.fromEntries(
      resourcesOfType(ctx.template, 'AWS::SNS::Topic').map(([id]) => [
        label(ctx.template, id),
        ctx.resources.get(id)!.ref,
      ]),
    );
    const apiRoutes = lambdaRoutes(ctx, fns.lookup);
    const routes: HttpRoute[] = [...apiRoutes.routes];

    // Not in the template: tells local tools (taskq dlq) where the stack's resources are.
    let outputs: Record<string, string> = {};
    routes.push({
      routeKey: 'GET /_local/stack',
      invoke: async () => ({
        ok: true,
        result: {
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            stackName: assembly.stackName,
            outputs,
            topics: snsTopics,
            endpoints: { sqs: aws.endpoint, sns: aws.endpoint, dynamodb: dynamo.endpoint },
            region: REGION,
          }),
        },
      }),
    });

    // The dashboard (local/dashboard/server.ts): its page, its data API and its actions, under /_local/dashboard.
    const dashboard = createDashboard({
      stackName: assembly.stackName,
      layouts: taskQueuesOf(consumerFunctions(ctx)),
      apiUrl,
      fauxqs: aws.server,
      sqs,
      dynamodb,
      log,
    });
    routes.push(...dashboard.routes);
    dashboard.start();
    stops.push(dashboard.stop);

    await warming;
    const api: LocalHttpApi = await startHttpApi({ port, routes, log });
    stops.push(api.stop);
    for (const source of sources) source.start();
    for (const source of streamSources) source.start();
    const schedules = startSchedules(ctx, fns.lookup, {
      intervalSeconds: options.scheduleIntervalSeconds,
      log,
    });
    stops.push(async () => schedules.stop());
    outputs = resolveOutputs(ctx, api.url);
    const notEmulated = [
      ...eventSources.notEmulated,
      ...apiRoutes.notEmulated,
      ...schedules.notEmulated,
      ...lambdaApi.notEmulated,
      ...fairQueuesNotEmulated(ctx),
    ];

    const queueIds = resourcesOfType(ctx.template, 'AWS::SQS::Queue').map(([id]) => id);
    const runtime: LocalRuntime = {
      apiUrl: api.url,
      dashboardUrl: dashboard.url,
      awsEndpoint: aws.endpoint,
      lambdaEndpoint: aws.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      agentsUrl,
      stackName: assembly.stackName,
      taskTypes: Object.keys(config.agents ?? {}),
      topics: Object.fromEntries(
        Object.entries(config.topics ?? {}).map(([name, topic]) => [name, topic.subscribers]),
      ),
      asyncTaskTypes: Object.fromEntries(
        Object.entries(config.agents ?? {}).flatMap(([type, agent]) =>
          agent.mode === 'async' ? [[type, agent.heartbeatTimeoutSeconds ?? 0]] : [],
        ),
      ),
      agentLimits: Object.fromEntries(
        Object.entries(config.agents ?? {}).flatMap(([type, agent]) =>
          agent.maxConcurrency !== undefined || agent.rateLimit !== undefined
            ? [
                [
                  type,
                  {
                    ...(agent.maxConcurrency !== undefined && { maxConcurrency: agent.maxConcurrency }),
                    ...(agent.rateLimit !== undefined && { rateLimit: agent.rateLimit }),
                  },
                ],
              ]
            : [],
        ),
      ),
      ...(config.tenantMaxConcurrency !== undefined && { tenantMaxConcurrency: config.tenantMaxConcurrency }),
      limitWakeUpSeconds: config.limitWakeUpSeconds ?? DEFAULTS.limitWakeUpSeconds,
      eventTransitions: config.events ? [...(config.events.transitions ?? DEFAULT_EVENT_TRANSITIONS)] : [],
      routes: routes.map((r) => r.routeKey),
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
      awsCallsByTable: () => proxy.countsByTable(),
      resetAwsCalls: () => proxy.resetCounts(),
      eventSourceCalls: () => ({
        'sqs:ReceiveMessage': sources.reduce((n, s) => n + s.stats.receiveCalls, 0),
        'sqs:ReceiveMessage (empty)': sources.reduce((n, s) => n + s.stats.emptyReceiveCalls, 0),
        'sqs:DeleteMessageBatch': sources.reduce((n, s) => n + s.stats.deleteBatchCalls, 0),
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
