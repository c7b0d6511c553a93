/**
 * Figure 9, handler overhead where Lambda bills it: the producer and the consumer called in-process with realistic
 * events (bench/handler-cpu-driver.ts), beside the raw path, the same SDK and agent requests replayed with nothing
 * around them, in the same process, against the same emulators the rest of the bench uses (fauxqs and DynamoDB
 * Local, through AWS_ENDPOINT_URL_*) and the demo `echo` agent. No local runtime: no HTTP API emulation, no worker
 * threads, no AWS proxy. The figure is CPU time per invocation of the process that runs the handler, the part of
 * a Lambda invocation the function itself spends.
 *
 * Each driver is built as the functions are (esbuild: minify, source map, CJS, everything bundled) for the target of
 * the Node it runs on, and runs with the functions' NODE_OPTIONS (`--enable-source-maps`) and environment.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import { COUNTER_KEY } from '../lambda/adapters/dynamodb-limiter';
import { DEFAULTS, EnvName, omitDefines } from '../lambda/contract';
import { OPTIONAL_BUNDLE_PARTS } from '../lib/handler-function';
import { startDemoAgents } from '../local/demo-agents';
import { startAwsEmulator, startDynamoEmulator } from '../local/emulators';
import { reservePort } from '../local/ports';
import type { DriverConfig, DriverResult, PathFigure } from './handler-cpu-driver';
import type { NodeRuntime } from './node-runtime';
import { ratio, round } from './stats';

const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const REGION = 'us-east-1';

/** Target: the handler's CPU per invocation at most this many times the raw path's. */
export const HANDLER_CPU_TARGET = 1.25;

export interface HandlerCpuSizes {
  /** Unmeasured invocations of each path first, in tasks: a consumer of batches of 10 warms up on a tenth as many. */
  readonly warmup: number;
  readonly block: number;
  readonly concurrency: number;
  readonly producer: { readonly sequential: number; readonly concurrent: number };
  /** Consumer rows: records per SQS event, and invocations of each path. */
  readonly consumer: ReadonlyArray<{ batchSize: number; sequential: number; concurrent: number }>;
}

export interface HandlerCpuRow {
  readonly node: string;
  readonly handler: 'producer' | 'consumer';
  readonly batchSize: number;
  /** The requests one invocation sends, which the raw path replays. */
  readonly requests: string[];
  readonly sequential: { handler: PathFigure; raw: PathFigure; cpuRatio: number };
  readonly concurrent: {
    handler: PathFigure;
    raw: PathFigure;
    cpuRatio: number;
    throughputRatio: number;
    concurrency: number;
  };
  /** Log bytes the handler wrote per invocation (stdout: log lines and EMF metrics). */
  readonly logBytesPerInvocation: number;
  readonly meetsTarget: boolean;
}

export interface HandlerCpuResult {
  readonly payloadBytes: number;
  readonly sizes: HandlerCpuSizes;
  readonly rows: HandlerCpuRow[];
}

/** A 1 KB payload shaped like an agent's input: text, numbers, a nested object, a list. */
export function payloadOfBytes(bytes: number): Record<string, unknown> {
  const base = {
    prompt: '',
    options: { temperature: 0.2, max_tokens: 512, top_p: 0.95, stop: ['\n\n', 'END'] },
    user: { id: 'u-1842', locale: 'en-GB', plan: 'team' },
    attachments: [{ name: 'notes.txt', bytes: 2048 }],
  };
  const words = 'summarise the following notes into three short bullet points for the weekly report'.split(
    ' ',
  );
  let prompt = '';
  for (let i = 0; JSON.stringify({ ...base, prompt }).length < bytes; i++) {
    prompt += `${i ? ' ' : ''}${words[i % words.length]}`;
  }
  return {
    ...base,
    prompt: prompt.slice(0, prompt.length - (JSON.stringify({ ...base, prompt }).length - bytes)),
  };
}

/**
 * Builds the driver as lib/handler-function.ts builds the functions, for Node `major`; unminified for a profile,
 * whose frames then keep their names. Not `keepNames`: it wraps every function and class in a call that sets its
 * name at run time, work the functions' build does not do, which the profile would charge to the handler.
 */
async function buildDriver(major: number, minify = true): Promise<string> {
  const dir = path.join(os.tmpdir(), 'agent-task-queue-bench');
  mkdirSync(dir, { recursive: true });
  const outfile = path.join(dir, `handler-cpu-driver-node${major}${minify ? '' : '-profile'}.js`);
  await build({
    entryPoints: [path.join(__dirname, 'handler-cpu-driver.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${major}`,
    minify,
    sourcemap: true,
    // Its consumer's agent is an HTTP agent without a secret: built without those clients, as the construct
    // builds such a stack's consumer.
    define: omitDefines(OPTIONAL_BUNDLE_PARTS.consumer ?? []),
    logLevel: 'error',
  });
  return outfile;
}

interface Emulators {
  readonly awsEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly agentsUrl: string;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  stop(): Promise<void>;
}

/** fauxqs and DynamoDB Local as the local runtime starts them, and the demo agents, without the runtime. */
async function startEmulators(): Promise<Emulators> {
  const aws = await startAwsEmulator({ port: 0 });
  const dynamo = await startDynamoEmulator({ port: await reservePort(0, 'the bench') }).catch(
    async (error) => {
      await aws.stop();
      throw error;
    },
  );
  const agents = await startDemoAgents({ port: 0 });
  const sqs = new SQSClient({ region: REGION, credentials: CREDENTIALS, endpoint: aws.endpoint });
  const dynamodb = new DynamoDBClient({
    region: REGION,
    credentials: CREDENTIALS,
    endpoint: dynamo.endpoint,
  });
  return {
    awsEndpoint: aws.endpoint,
    dynamodbEndpoint: dynamo.endpoint,
    agentsUrl: agents.url,
    sqs,
    dynamodb,
    stop: async () => {
      sqs.destroy();
      dynamodb.destroy();
      await agents.close();
      await dynamo.stop();
      await aws.stop();
    },
  };
}

/** Queues and tables of one driver run, named apart, with the keys of the stack's tables. */
async function resources(e: Emulators, name: string): Promise<Record<string, string>> {
  const queue = async (suffix: string) => {
    await e.sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}-${suffix}`,
        // Received messages stay hidden for the whole run: the driver builds its events from them.
        Attributes: { VisibilityTimeout: '43200' },
      }),
    );
    // The URL the local runtime gives its queues (local/physical-ids.ts): on the emulator's own address, which
    // the SDK then uses as is (fauxqs answers with an `sqs.<region>.localhost` host that needs a resolver).
    return `${e.awsEndpoint}/000000000000/${name}-${suffix}`;
  };
  const table = async (suffix: string, key: string) => {
    await e.dynamodb.send(
      new CreateTableCommand({
        TableName: `${name}-${suffix}`,
        AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    return `${name}-${suffix}`;
  };
  const [high, low, dlq, tasks, limits] = await Promise.all([
    queue('high'),
    queue('low'),
    queue('low-dlq'),
    table('tasks', 'task_id'),
    table('limits', COUNTER_KEY),
  ]);
  return {
    [EnvName.TaskTableName]: tasks,
    [EnvName.HighQueueUrl]: high,
    [EnvName.LowQueueUrl]: low,
    [EnvName.TaskTypes]: 'echo',
    [EnvName.Topics]: '{}',
    [EnvName.MaxBodyBytes]: String(DEFAULTS.maxBodyBytes),
    [EnvName.MaxJsonDepth]: String(DEFAULTS.maxJsonDepth),
    [EnvName.TaskRetentionSeconds]: String(DEFAULTS.taskRetentionSeconds),
    [EnvName.QueueUrl]: low,
    [EnvName.DeadLetterQueueUrl]: dlq,
    [EnvName.Agents]: JSON.stringify({
      echo: { kind: 'http', url: `${e.agentsUrl}/echo`, timeoutSeconds: DEFAULTS.agentTimeoutSeconds },
    }),
    [EnvName.MaxReceiveCount]: String(DEFAULTS.maxReceiveCount),
    [EnvName.LeaseSeconds]: String(DEFAULTS.consumerTimeoutSeconds * 2),
    [EnvName.BackoffBaseSeconds]: String(DEFAULTS.backoffBaseSeconds),
    [EnvName.BackoffCapSeconds]: String(DEFAULTS.backoffCapSeconds),
    [EnvName.MaxResultBytes]: String(DEFAULTS.maxResultBytes),
    [EnvName.CallbackBaseUrl]: 'https://abc123def4.execute-api.us-east-1.amazonaws.com',
    [EnvName.LimitsTableName]: limits,
    [EnvName.TenantMaxConcurrency]: '0',
    [EnvName.LimitWakeUpSeconds]: String(DEFAULTS.limitWakeUpSeconds),
    // Read at init; no call reaches it: a 1 KB task's result stays in its record (result-storage.ts), and its
    // payload in its message (payload-storage.ts).
    [EnvName.ResultBucketName]: `${name}-results`,
  };
}

/** The producer's own lines (none at INFO for an accepted task; a replay's line), told apart from the consumer's. */
const PRODUCER_LINE = /"task accepted"|"task replayed"/;

/** Runs one driver; resolves with its result and the bytes each handler logged. */
function runDriver(
  node: NodeRuntime,
  driver: string,
  config: DriverConfig,
  env: Record<string, string>,
): Promise<{ result: DriverResult; logBytes: { producer: number; consumer: number } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node.path, [driver, JSON.stringify(config)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logBytes = { producer: 0, consumer: 0 };
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        logBytes[PRODUCER_LINE.test(line) ? 'producer' : 'consumer'] += Buffer.byteLength(line) + 1;
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0)
        return reject(new Error(`the ${config.role} driver on ${node.version} exited ${code}: ${stderr}`));
      resolve({ result: JSON.parse(readFileSync(config.out, 'utf8')) as DriverResult, logBytes });
    });
  });
}

export async function handlerCpu(options: {
  sizes: HandlerCpuSizes;
  nodes: readonly NodeRuntime[];
  payloadBytes?: number;
  /** The functions' log level. @default 'INFO', the construct's default */
  logLevel?: string;
  /**
   * Profiles each driver's handler for `invocations` more invocations after the measurement, into `dir`, with an
   * unminified build whose frames keep their names.
   */
  profile?: { dir: string; invocations: number };
  progress: (line: string) => void;
}): Promise<HandlerCpuResult> {
  const { sizes, progress } = options;
  const payloadBytes = options.payloadBytes ?? 1024;
  const body = JSON.stringify({ type: 'echo', payload: payloadOfBytes(payloadBytes) });
  const emulators = await startEmulators();
  const rows: HandlerCpuRow[] = [];
  try {
    const drivers = new Map<number, string>();
    for (const node of options.nodes)
      drivers.set(node.major, await buildDriver(node.major, !options.profile));
    const runs: Array<{
      role: 'producer' | 'consumer';
      batchSize: number;
      sequential: number;
      concurrent: number;
    }> = [
      { role: 'producer', batchSize: 1, ...sizes.producer },
      ...sizes.consumer.map((c) => ({ role: 'consumer' as const, ...c })),
    ];
    let n = 0;
    for (const run of runs) {
      for (const node of options.nodes) {
        const name = `hcpu-${process.pid}-${n++}`;
        const warmup = Math.max(5, Math.ceil(sizes.warmup / run.batchSize));
        const env = {
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_SQS: emulators.awsEndpoint,
          AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodbEndpoint,
          AWS_LAMBDA_FUNCTION_NAME: `bench-${run.role}`,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(
            run.role === 'consumer' ? DEFAULTS.consumerMemorySize : 256,
          ),
          LOG_LEVEL: options.logLevel ?? 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
          ...(await resources(emulators, name)),
        };
        const config: DriverConfig = {
          role: run.role,
          batchSize: run.batchSize,
          warmup,
          sequential: run.sequential,
          concurrent: run.concurrent,
          concurrency: sizes.concurrency,
          block: sizes.block,
          body,
          out: path.join(os.tmpdir(), 'agent-task-queue-bench', `${name}.json`),
          ...(options.profile && {
            profile: {
              prefix: path.join(options.profile.dir, `${run.role}-${run.batchSize}-node${node.major}`),
              invocations: Math.ceil(options.profile.invocations / run.batchSize),
            },
          }),
        };
        const { result, logBytes } = await runDriver(node, drivers.get(node.major)!, config, env);
        // The raw path logs nothing: the lines are the recorded invocation's, the warm-up's and the measured ones'.
        const invocations = 1 + warmup + run.sequential + run.concurrent + (config.profile?.invocations ?? 0);
        const s = result.sequential;
        const c = result.concurrent;
        const row: HandlerCpuRow = {
          node: result.node,
          handler: run.role,
          batchSize: result.batchSize,
          requests: result.requests,
          sequential: s,
          concurrent: {
            ...c,
            throughputRatio: ratio(c.handler.invocationsPerSecond, c.raw.invocationsPerSecond),
          },
          // The consumer's driver also ran the producer to make its tasks: those lines are the producer's.
          logBytesPerInvocation: round(logBytes[run.role] / invocations, 0),
          meetsTarget: s.cpuRatio <= HANDLER_CPU_TARGET,
        };
        rows.push(row);
        progress(
          `  ${run.role}${run.role === 'consumer' ? ` (batch ${run.batchSize})` : ''} on ${result.node}: CPU ${s.handler.cpuMsPerInvocation} vs raw ${s.raw.cpuMsPerInvocation} ms/invocation (${row.sequential.cpuRatio}×); c=${c.concurrency}: ${c.handler.invocationsPerSecond} vs ${c.raw.invocationsPerSecond}/s, CPU ${row.concurrent.cpuRatio}×`,
        );
      }
    }
  } finally {
    await emulators.stop();
  }
  return { payloadBytes, sizes, rows };
}
