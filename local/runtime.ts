/**
 * The local runtime: synthesizes the app, starts the emulators, creates the template's resources in
 * them, runs its functions in child processes, serves its HTTP API and drives its SQS event sources.
 * `npm start` (local/start.ts) is a thin CLI over `startLocalRuntime`; tests and benchmarks call it too.
 */
import { createServer } from 'node:net';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { EnvName } from '../lambda/contract';
import { startAwsProxy } from './aws-proxy';
import { type DemoAgents, startDemoAgents } from './demo-agents';
import {
  type AwsEmulator,
  checkJava,
  type DynamoEmulator,
  startAwsEmulator,
  startDynamoEmulator,
} from './emulators';
import { SqsEventSource } from './event-source';
import { FaultInjector, type FaultPlan, type InjectedFaults, NO_FAULTS } from './faults';
import { localFunctions } from './functions';
import { type HttpRoute, type LocalHttpApi, startHttpApi } from './http-api';
import { type IntrinsicContext, resolveIntrinsics, resolveString, UnresolvableError } from './intrinsics';
import { LambdaPool } from './lambda-pool';
import { localStackConfig } from './local-config';
import { resolvePhysicalIds } from './physical-ids';
import { createResources } from './resources';
import { startSchedules } from './schedules';
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
  readonly awsEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly agentsUrl: string;
  readonly stackName: string;
  /** The task types of the local configuration. */
  readonly taskTypes: readonly string[];
  /** `METHOD /path` of every served route. */
  readonly routes: readonly string[];
  /** The stack's outputs, resolved to local values. */
  readonly outputs: Readonly<Record<string, string>>;
  /** What the template declares that runs nowhere locally (e.g. a non-SQS event source). */
  readonly notEmulated: readonly string[];
  /** What the synth took from its cache: nothing, the Lambda bundles, or the whole template. */
  readonly synthCache: 'none' | 'bundles' | 'template';
  status(): RuntimeStatus;
  /** Faults injected so far, by name (all zero without a fault plan). */
  faultsInjected(): InjectedFaults;
  /** Per task, attempts claimed while an earlier attempt had not recorded its outcome (with a fault plan only). */
  interruptedAttempts(): ReadonlyMap<string, number>;
  /** Successful agent executions per task id (only with the built-in demo agents). */
  agentSuccesses(): ReadonlyMap<string, number>;
  /** Bodies of every message of a queue (named by its URL), visible or not: for checks, not for consumers. */
  queueMessages(queueUrl: string): string[];
  /** AWS calls the functions made, keyed `service:Operation`. */
  awsCalls(): Record<string, number>;
  resetAwsCalls(): void;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT_ID = '000000000000';
const ROOT = path.join(__dirname, '..');

/** A port another process holds; the message names the flag that chooses it. */
export class PortInUseError extends Error {
  public constructor(port: number, flag: string) {
    super(`port ${port} is already in use: stop what holds it, or choose another with ${flag}`);
    this.name = 'PortInUseError';
  }
}

/** Resolves port 0 to a free port, and checks that a fixed port is free. */
function reservePort(port: number, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, flag) : error),
    );
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address() as { port: number };
      server.close(() => resolve(actual));
    });
  });
}

/** `AgentTaskQueueLocal/TaskQueue/High/Queue/Resource` → `High/Queue`. */
function label(template: Template, id: string): string {
  const p = String(template.Resources[id]?.Metadata?.['aws:cdk:path'] ?? id)
    .split('/')
    .filter((s) => s !== 'Resource');
  return p.length > 2 ? p.slice(-2).join('/') : id;
}

function resolveOutputs(ctx: IntrinsicContext, apiUrl: string): Record<string, string> {
  const apiHosts = resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Api').map(
    ([id]) => `https://${ctx.resources.get(id)!.ref}.execute-api.${ctx.region}.amazonaws.com`,
  );
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(ctx.template.Outputs ?? {})) {
    try {
      let value = resolveString(output.Value, ctx, `output ${name}`);
      for (const host of apiHosts) value = value.replace(host, apiUrl);
      outputs[name] = value;
    } catch (error) {
      if (!(error instanceof UnresolvableError)) throw error;
    }
  }
  return outputs;
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
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
    // The roles and pools are known only after the synth; the injector looks them up when a fault fires.
    const pools = new Map<string, LambdaPool>();
    const roles = new Map<string, 'producer' | 'consumer' | 'other'>();
    const poolOfApp = (appId: string) => [...new Set(pools.values())].find((p) => p.owns(appId));
    const faults = options.faults
      ? new FaultInjector(options.faults, {
          killWorker: (appId) => poolOfApp(appId)?.kill(appId),
          roleOf: (appId) => roles.get(appId.slice(0, appId.lastIndexOf('.'))) ?? 'other',
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
    const aws: AwsEmulator = await startAwsEmulator({
      port: awsPort,
      ...(persist && { dataDir: path.join(persist, 'fauxqs') }),
    });
    stops.push(aws.stop);

    // Functions reach the emulators through a proxy that counts their calls and injects faults. Queue URLs
    // name the proxy too: the SQS client sends each call to its queue URL's host.
    const proxy = await startAwsProxy({
      targets: { sqs: aws.endpoint, dynamodb: `http://127.0.0.1:${dynamodbPort}` },
      interceptor: faults,
    });
    stops.push(proxy.close);

    const config = localStackConfig({
      agentsUrl,
      maxReceiveCount: options.maxReceiveCount,
      consumerTimeoutSeconds: options.timeouts?.consumerSeconds,
      agentTimeoutSeconds: options.timeouts?.agentSeconds,
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
    const sqs = new SQSClient({ ...clientConfig, endpoint: aws.endpoint });
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
    stops.push(async () => {
      sqs.destroy();
      dynamodb.destroy();
    });
    await createResources(ctx, { sqs, dynamodb, fauxqs: aws.server });

    const maxWorkers = options.maxWorkersPerFunction ?? 4;
    const functions = localFunctions(ctx, assembly.codePaths, {
      aws: proxy.endpoint('sqs'),
      dynamodb: proxy.endpoint('dynamodb'),
    });
    for (const fn of functions) {
      const role = fn.env[EnvName.FunctionRole];
      roles.set(fn.logicalId.slice(0, 40), role === 'consumer' || role === 'producer' ? role : 'other');
      const pool = new LambdaPool(fn, { maxWorkers, log });
      pools.set(fn.name, pool);
      pools.set(fn.arn, pool);
      stops.push(() => pool.stop());
    }
    const poolFor = (nameOrArn: string, where: string) => {
      const pool = pools.get(nameOrArn) ?? pools.get(nameOrArn.replace(/:\$LATEST$/, ''));
      if (!pool) throw new Error(`${where} names function ${nameOrArn}, which the template does not define`);
      return pool;
    };
    const warming = [...new Set(pools.values())].map((pool) => pool.warm());

    const notEmulated: string[] = [];
    const queueByArn = new Map(
      resourcesOfType(ctx.template, 'AWS::SQS::Queue').map(([id]) => [
        ctx.resources.get(id)!.attributes.Arn!,
        id,
      ]),
    );
    const sources: SqsEventSource[] = [];
    for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Lambda::EventSourceMapping')) {
      const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as Record<string, unknown>;
      const queueId = queueByArn.get(String(props.EventSourceArn));
      if (!queueId) {
        notEmulated.push(`${id} (event source ${String(props.EventSourceArn)})`);
        continue;
      }
      const pool = poolFor(String(props.FunctionName), id);
      const queue = ctx.resources.get(queueId)!;
      const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
      const source = new SqsEventSource(
        {
          logicalId: id,
          queueUrl: queue.ref,
          queueArn: queue.attributes.Arn!,
          region: REGION,
          batchSize: Number(props.BatchSize ?? 10),
          maxBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
          // No more invocations than the function has environments: a received message waits for none.
          maxConcurrency: Math.min(Number(scaling?.MaximumConcurrency ?? 1000), maxWorkers),
          reportBatchItemFailures: ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
          enabled: props.Enabled !== false && props.Enabled !== 'false',
        },
        sqs,
        (event) => pool.invoke(event),
        log,
        (message) =>
          faults?.roll('duplicateDelivery')
            ? aws.duplicate(queue.attributes.QueueName!, message.ReceiptHandle!)
            : undefined,
      );
      sources.push(source);
      stops.push(() => source.stop());
    }

    const integrations = new Map(
      resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Integration').map(([id, r]) => [
        id,
        resolveIntrinsics(r.Properties ?? {}, ctx) as Record<string, unknown>,
      ]),
    );
    const routes: HttpRoute[] = [];
    for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Route')) {
      const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as {
        RouteKey: string;
        Target?: string;
      };
      const integration = integrations.get(String(props.Target ?? '').replace(/^integrations\//, ''));
      const uri = String(integration?.IntegrationUri ?? '');
      // Either the function ARN, or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations.
      const functionArn = /functions\/(.+)\/invocations$/.exec(uri)?.[1] ?? uri;
      if (integration?.IntegrationType !== 'AWS_PROXY' || !functionArn.includes(':function:')) {
        notEmulated.push(`${id} (${props.RouteKey}: only Lambda proxy integrations run locally)`);
        continue;
      }
      const pool = poolFor(functionArn, id);
      routes.push({
        routeKey: props.RouteKey,
        invoke: (event: APIGatewayProxyEventV2) => pool.invoke(event),
      });
    }

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
            endpoints: { sqs: aws.endpoint, dynamodb: dynamo.endpoint },
            region: REGION,
          }),
        },
      }),
    });

    await Promise.all(warming);
    const api: LocalHttpApi = await startHttpApi({ port, routes, log });
    stops.push(api.stop);
    for (const source of sources) source.start();
    const schedules = startSchedules(ctx, poolFor, {
      intervalSeconds: options.scheduleIntervalSeconds,
      log,
      notEmulated,
    });
    stops.push(async () => schedules.stop());
    outputs = resolveOutputs(ctx, api.url);

    const queueIds = resourcesOfType(ctx.template, 'AWS::SQS::Queue').map(([id]) => id);
    return {
      apiUrl: api.url,
      awsEndpoint: aws.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      agentsUrl,
      stackName: assembly.stackName,
      taskTypes: Object.keys(config.agents ?? {}),
      routes: routes.map((r) => r.routeKey),
      outputs,
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
      faultsInjected: () => faults?.injected() ?? NO_FAULTS,
      interruptedAttempts: () => faults?.interruptedAttempts() ?? new Map(),
      agentSuccesses: () => agents?.successes() ?? new Map(),
      queueMessages: (queueUrl) => {
        const messages = aws.server.inspectQueue(queueUrl.slice(queueUrl.lastIndexOf('/') + 1))?.messages;
        if (!messages) return [];
        return [...messages.ready, ...messages.delayed, ...messages.inflight.map((m) => m.message)].map(
          (m) => m.body,
        );
      },
      awsCalls: () => proxy.counts(),
      resetAwsCalls: () => proxy.resetCounts(),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
