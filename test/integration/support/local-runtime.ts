/**
 * Boots `taskq local --demo-agents` (what `npm start` runs) as a child process on free ports and drives it over HTTP.
 * A child process, because fauxqs is ESM-only and the runtime runs handlers in worker threads,
 * neither of which jest's module system hosts well; it is also exactly what `npm start` runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runCli } from '../../../cli/program';
import type { CliDeps } from '../../../cli/session';
import type { TopicDefinitions } from '../../../lambda/contract';
import type { DemoAgentLimitsByType } from '../../../local/local-config';
import { PortInUseError, reservePort } from '../../../local/ports';
import { sharedDynamoDbEndpoint } from './shared-dynamodb';
import { SYNTH_ENV } from './synth-env';

const ROOT = path.join(__dirname, '..', '..', '..');

/**
 * Where free ports are looked for: below Linux's ephemeral range (`ip_local_port_range`, from 32768 by default),
 * from which the kernel picks the local port of every outgoing connection. A port from that range, free when a
 * runtime stops, can be a connection's local port by the time the runtime restarts on it (seen once: the
 * persisted restart of local-runtime.test.ts found its DynamoDB port taken).
 */
const PORTS = { from: 20_000, below: 32_768 } as const;

/** A port that is free now, outside the ephemeral range (PORTS). */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = PORTS.from + Math.floor(Math.random() * (PORTS.below - PORTS.from));
    try {
      return await reservePort(port, 'freePort');
    } catch (error) {
      if (!(error instanceof PortInUseError)) throw error;
    }
  }
  throw new Error(`no free port from ${PORTS.from} to ${PORTS.below - 1} after 100 tries`);
}

export interface BootOptions {
  /** `--demo-agents`, as `npm start` runs. @default true */
  readonly demoAgents?: boolean;
  /** More flags of `taskq local`, e.g. `['--stack', 'S']`. @default - none */
  readonly args?: readonly string[];
  /** The folder `taskq local` runs in (whose cdk.json names the app). @default - this repository */
  readonly cwd?: string;
  /** Environment variables besides this process's. @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /** @default - the runtime starts its demo agents */
  readonly agentsUrl?: string;
  readonly persistDir?: string;
  readonly maxReceiveCount?: number;
  /** `--heartbeat-timeout`: seconds. @default - the runtime's (10) */
  readonly heartbeatTimeoutSeconds?: number;
  /** `--tenant-max-concurrency`. @default - no tenant cap */
  readonly tenantMaxConcurrency?: number;
  /** `--limit-wake-up`: seconds. @default - the construct's (5) */
  readonly limitWakeUpSeconds?: number;
  /** `--agent-limits`: limits that replace demo types' own. @default - the demo types' own */
  readonly agentLimits?: DemoAgentLimitsByType;
  /** `--topics`: topics besides the demo's. @default - the demo's (`demo.fanout`) */
  readonly topics?: TopicDefinitions;
  /** `--faults`, e.g. `snsPublishFailure=1`. @default - no faults */
  readonly faults?: string;
  /** @default free ports */
  readonly ports?: { readonly api: number; readonly aws: number; readonly dynamodb: number };
  /** @default 150000 */
  readonly readyWithinMs?: number;
  /**
   * Runs on the integration project's shared DynamoDB Local (global-setup.ts, `--dynamodb-endpoint`) when there is
   * one and the runtime persists nothing; `false` starts a DynamoDB Local of its own. @default true
   */
  readonly sharedDynamoDb?: boolean;
}

export interface RunningRuntime {
  /** The process id of `npm start`. */
  readonly pid: number;
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  readonly ports: { readonly api: number; readonly aws: number; readonly dynamodb: number };
  /** The stack outputs the banner printed, e.g. `LowDeadLetterQueueUrl`. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Seconds the runtime reported it took to become ready. */
  readonly readySeconds: number;
  output(): string;
  /** A new SQS client for the runtime's AWS endpoint (fauxqs); the caller destroys it. */
  sqsClient(): SQSClient;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Boots the runtime. A free port is found by listening and closing, so another process can take it before the
 * runtime listens; when the runtime then exits with EADDRINUSE, it is booted again on other free ports.
 */
export async function bootRuntime(options: BootOptions): Promise<RunningRuntime> {
  for (let tries = 1; ; tries++) {
    try {
      return await bootOnce(options);
    } catch (error) {
      const portTaken = /EADDRINUSE/.test((error as Error).message);
      if (!portTaken || options.ports !== undefined || tries >= 3) throw error;
    }
  }
}

async function bootOnce(options: BootOptions): Promise<RunningRuntime> {
  const shared =
    options.sharedDynamoDb !== false && options.persistDir === undefined && options.ports === undefined
      ? sharedDynamoDbEndpoint()
      : undefined;
  const ports = options.ports ?? {
    api: await freePort(),
    aws: await freePort(),
    dynamodb: shared ? Number(new URL(shared).port) : await freePort(),
  };
  const args = [
    '--import',
    'tsx',
    path.join(ROOT, 'bin', 'taskq.ts'),
    'local',
    ...(options.demoAgents === false ? [] : ['--demo-agents']),
    ...(options.args ?? []),
    '--port',
    String(ports.api),
    '--aws-port',
    String(ports.aws),
    ...(shared ? ['--dynamodb-endpoint', shared] : ['--dynamodb-port', String(ports.dynamodb)]),
    ...(options.agentsUrl ? ['--agents-url', options.agentsUrl] : []),
    ...(options.maxReceiveCount !== undefined
      ? ['--max-receive-count', String(options.maxReceiveCount)]
      : []),
    ...(options.persistDir ? ['--persist', options.persistDir] : []),
    ...(options.heartbeatTimeoutSeconds !== undefined
      ? ['--heartbeat-timeout', String(options.heartbeatTimeoutSeconds)]
      : []),
    ...(options.tenantMaxConcurrency !== undefined
      ? ['--tenant-max-concurrency', String(options.tenantMaxConcurrency)]
      : []),
    ...(options.limitWakeUpSeconds !== undefined
      ? ['--limit-wake-up', String(options.limitWakeUpSeconds)]
      : []),
    ...(options.agentLimits !== undefined ? ['--agent-limits', JSON.stringify(options.agentLimits)] : []),
    ...(options.topics !== undefined ? ['--topics', JSON.stringify(options.topics)] : []),
    ...(options.faults !== undefined ? ['--faults', options.faults] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...SYNTH_ENV, ...options.env },
  });
  let output = '';
  // LOCAL_RUNTIME_LOG=FILE keeps the runtime's output, to read after a failure.
  const logFile = process.env.LOCAL_RUNTIME_LOG;
  const collect = (d: Buffer) => {
    output += d.toString();
    if (logFile) appendFileSync(logFile, d);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const readySeconds = await new Promise<number>((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`the runtime was not ready within ${options.readyWithinMs ?? 150_000} ms:\n${output}`),
      );
    }, options.readyWithinMs ?? 150_000);
    const check = () => {
      const ready = /ready in ([\d.]+) s/.exec(output);
      if (ready) {
        clearTimeout(deadline);
        resolve(Number(ready[1]));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`the runtime exited with code ${code} before it was ready:\n${output}`));
    });
  });

  const outputs: Record<string, string> = {};
  for (const match of output.matchAll(/^ {2}(\w+) = (\S+)$/gm)) outputs[match[1]!] = match[2]!;
  const awsEndpoint = `http://127.0.0.1:${ports.aws}`;
  return {
    pid: child.pid!,
    apiUrl: `http://127.0.0.1:${ports.api}`,
    awsEndpoint,
    ports,
    outputs,
    readySeconds,
    output: () => output,
    sqsClient: () =>
      new SQSClient({
        region: 'us-east-1',
        endpoint: awsEndpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
}

/** Polls `probe` until it returns a value, or throws with the last seen state at the deadline. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  withinMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${withinMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface RunningAwsEmulator {
  readonly endpoint: string;
  readonly pid: number;
  /** The emulator's duplicateDelivery fault: a second delivery of an in-flight message. */
  duplicate(
    queueName: string,
    receiptHandle: string,
  ): Promise<{ receiptHandle: string; receiveCount: number } | null>;
  stop(): Promise<void>;
}

/** Starts fauxqs, patched as the local runtime runs it, in a child process (support/aws-emulator.ts). */
export async function startAwsEmulatorProcess(): Promise<RunningAwsEmulator> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/support/aws-emulator.ts'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffered = '';
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => {
    errors += d.toString();
  });
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`the emulator exited with code ${code}:\n${errors}`)));
    });
  const ready = /^ready (\S+)$/.exec(await nextLine());
  if (!ready) throw new Error(`the emulator did not start:\n${errors}`);
  return {
    endpoint: ready[1]!,
    pid: child.pid!,
    duplicate: async (queueName, receiptHandle) => {
      child.stdin!.write(`duplicate ${queueName} ${receiptHandle}\n`);
      return JSON.parse(await nextLine()) as { receiptHandle: string; receiveCount: number } | null;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.stdin!.end();
      }),
  };
}

/** Finds, without consuming it, the message of `taskId` on a queue. */
export function peekMessage(sqs: SQSClient, queueUrl: string, taskId: string): Promise<Message> {
  return eventually(async () => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    return out.Messages?.find((m) => m.Body?.includes(taskId));
  }, `the message of task ${taskId} reaching ${queueUrl}`);
}

/** `taskq --endpoint <apiUrl> ...args`, in this process: its exit code and what it printed. */
export async function runTaskq(
  apiUrl: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    cwd: process.cwd(),
    poll: { intervalMs: 100, maxIntervalMs: 500 },
  };
  const code = await runCli(['--endpoint', apiUrl, ...args], deps);
  return { code, stdout, stderr };
}
