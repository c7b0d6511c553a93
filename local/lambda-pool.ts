/**
 * The execution environments of one function: child processes, each running one invocation at a time.
 * The pool grows on demand up to `maxWorkers`; further invocations wait for a free environment. An
 * invocation that outlives the function's `Timeout` kills its environment, which a new one replaces.
 *
 * Processes, not worker threads: as on Lambda, a function that runs out of memory must fail only its own
 * invocation. A worker thread's `resourceLimits` do not guarantee that: V8 aborts the whole process on some
 * allocations past the limit (a large string built by JSON.stringify, say), and every emulator dies with it.
 * Each environment's heap is capped at the function's `MemorySize`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { InvokeRequest, LambdaError, WorkerInit, WorkerMessage } from './lambda-protocol';

export interface LocalFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly codePath: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly logGroupName: string;
  /** The function's whole environment: its resolved variables plus the runtime's. */
  readonly env: Readonly<Record<string, string>>;
}

/** How one invocation is made. */
export interface InvokeOptions {
  /**
   * The request id the function sees as `context.awsRequestId` and that a timeout names: the Lambda API gives
   * one id to every attempt of an asynchronous event, as Lambda does. @default - a new UUID
   */
  readonly requestId?: string;
}

export type InvokeResult =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: LambdaError; readonly timedOut: boolean };

/** One invocation that ran in an environment, as Lambda's REPORT line would describe it. */
export interface Invocation {
  readonly logicalId: string;
  readonly event: unknown;
  /**
   * From handing the event to the environment to its answer: what Lambda bills (rounded up to 1 ms there). Time
   * spent waiting for a free environment is not in it.
   */
  readonly durationMs: number;
  readonly ok: boolean;
}

export interface PoolOptions {
  /** Most concurrent execution environments. @default 4 */
  readonly maxWorkers?: number;
  /** Where the function's log lines go, one call per line. */
  readonly log: (line: string) => void;
  /** Told of every invocation that ran, once it ends. @default - none */
  readonly onInvoke?: (invocation: Invocation) => void;
}

const WORKER_FILE = path.join(__dirname, 'lambda-worker.cjs');

interface Environment {
  /** The SDK's app id in this environment (AWS_SDK_UA_APP_ID): names the environment in AWS calls. */
  readonly appId: string;
  readonly worker: ChildProcess;
  readonly ready: Promise<LambdaError | undefined>;
  /** The last lines the environment wrote to stderr: they tell an out-of-memory death from another. */
  lastErrors: string[];
  pending?: { id: number; settle: (r: InvokeResult) => void };
}

export class LambdaPool {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private readonly waiting: Array<(env: Environment) => void> = [];
  private readonly maxWorkers: number;
  private nextId = 1;
  private nextEnvironment = 1;
  private stopped = false;

  public constructor(
    public readonly fn: LocalFunction,
    private readonly options: PoolOptions,
  ) {
    this.maxWorkers = options.maxWorkers ?? 4;
  }

  /** Invocations running now. */
  public get busy(): number {
    return this.all.size - this.idle.length;
  }

  /** Starts one environment ahead of the first invocation, so that it pays no cold start. */
  public async warm(): Promise<void> {
    const env = this.spawn();
    const initError = await env.ready;
    if (initError) throw new Error(`${this.fn.logicalId} failed to initialise: ${initError.errorMessage}`);
    this.release(env);
  }

  private pipe(stream: Readable, onLine?: (line: string) => void): void {
    const label = `[${this.fn.logicalId}]`;
    createInterface({ input: stream }).on('line', (line) => {
      onLine?.(line);
      this.options.log(`${label} ${line}`);
    });
  }

  private spawn(): Environment {
    const init: WorkerInit = {
      codePath: this.fn.codePath,
      handler: this.fn.handler,
      functionName: this.fn.name,
      functionArn: this.fn.arn,
      memorySize: this.fn.memorySize,
      logGroupName: this.fn.logGroupName,
    };
    const appId = `${this.fn.logicalId.slice(0, 40)}.${this.nextEnvironment++}`;
    const worker = fork(WORKER_FILE, [JSON.stringify(init)], {
      // No TypeScript loader in an environment: it runs the bundle as the Lambda runtime does. Its heap is
      // the function's memory, as on Lambda.
      execArgv: [`--max-old-space-size=${Math.max(this.fn.memorySize, 128)}`],
      env: { ...this.fn.env, AWS_SDK_UA_APP_ID: appId },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let onReady: (error: LambdaError | undefined) => void = () => {};
    const env: Environment = {
      appId,
      worker,
      ready: new Promise((resolve) => (onReady = resolve)),
      lastErrors: [],
    };
    this.pipe(worker.stdout!);
    this.pipe(worker.stderr!, (line) => {
      env.lastErrors.push(line);
      if (env.lastErrors.length > 20) env.lastErrors.shift();
    });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') onReady(undefined);
      else if (message.type === 'init-error') onReady(message.error);
      else if (env.pending?.id === message.id) {
        const { settle } = env.pending;
        env.pending = undefined;
        settle(
          message.type === 'result'
            ? { ok: true, result: message.result }
            : { ok: false, error: message.error, timedOut: false },
        );
      }
    });
    const crashed = (error: LambdaError) => {
      this.discard(env);
      onReady(error);
      const pending = env.pending;
      env.pending = undefined;
      pending?.settle({ ok: false, error, timedOut: false });
    };
    worker.on('error', (error) =>
      crashed({ errorType: 'Runtime.ExitError', errorMessage: `the runtime crashed: ${error.message}` }),
    );
    // 'close', not 'exit': by then the environment's last stderr lines have been read.
    worker.on('close', (code, signal) => {
      // Lambda reports a function that ran out of memory as Runtime.OutOfMemory, and only its invocation fails.
      const outOfMemory = env.lastErrors.some((line) => /heap out of memory|Reached heap limit/i.test(line));
      crashed(
        outOfMemory
          ? {
              errorType: 'Runtime.OutOfMemory',
              errorMessage: `Runtime exited with error: the function ran out of its ${this.fn.memorySize} MB of memory`,
            }
          : {
              errorType: 'Runtime.ExitError',
              errorMessage: `the runtime exited with ${signal ? `signal ${signal}` : `code ${code}`}`,
            },
      );
    });
    this.all.add(env);
    return env;
  }

  private discard(env: Environment): void {
    this.all.delete(env);
    const i = this.idle.indexOf(env);
    if (i >= 0) this.idle.splice(i, 1);
    env.worker.kill('SIGKILL');
  }

  /** Drops a broken environment; an invocation waiting for one gets a fresh environment instead. */
  private replace(env: Environment): void {
    if (this.all.has(env)) this.discard(env);
    if (this.stopped) return;
    const next = this.waiting.shift();
    if (next) next(this.spawn());
  }

  private release(env: Environment): void {
    if (this.stopped || !this.all.has(env)) return;
    const next = this.waiting.shift();
    if (next) next(env);
    else this.idle.push(env);
  }

  private acquire(): Promise<Environment> {
    const env = this.idle.pop();
    if (env) return Promise.resolve(env);
    if (this.all.size < this.maxWorkers) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Runs one invocation, as Lambda's synchronous Invoke does: the result, or the function's error. */
  public async invoke(event: unknown, options: InvokeOptions = {}): Promise<InvokeResult> {
    if (this.stopped) {
      return {
        ok: false,
        error: { errorType: 'ServiceUnavailable', errorMessage: 'stopping' },
        timedOut: false,
      };
    }
    const env = await this.acquire();
    const initError = await env.ready;
    if (initError) {
      // As on Lambda, a failed init is retried by the next invocation, in a new environment.
      this.replace(env);
      return { ok: false, error: initError, timedOut: false };
    }
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    const request: InvokeRequest = {
      id: this.nextId++,
      event,
      requestId: options.requestId ?? randomUUID(),
      deadline: Date.now() + timeoutMs,
    };
    const startedAt = performance.now();
    const result = await new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => {
        env.pending = undefined;
        this.discard(env);
        resolve({
          ok: false,
          timedOut: true,
          error: {
            // As Lambda reports it (aws-behaviour.md §1, recorded 2025-11).
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${request.requestId} Error: Task timed out after ${this.fn.timeoutSeconds.toFixed(2)} seconds`,
          },
        });
      }, timeoutMs);
      env.pending = {
        id: request.id,
        settle: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      env.worker.send(request);
    });
    this.options.onInvoke?.({
      logicalId: this.fn.logicalId,
      event,
      durationMs: performance.now() - startedAt,
      ok: result.ok,
    });
    if (this.all.has(env)) this.release(env);
    else this.replace(env);
    return result;
  }

  /** Whether an environment of this pool has this app id. */
  public owns(appId: string): boolean {
    return [...this.all].some((env) => env.appId === appId);
  }

  /** Kills an environment mid-invocation, as a crash would: its invocation fails and the environment is replaced. */
  public kill(appId: string): void {
    const env = [...this.all].find((e) => e.appId === appId);
    env?.worker.kill('SIGKILL');
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    const envs = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    for (const env of envs) {
      env.pending?.settle({
        ok: false,
        error: { errorType: 'ServiceUnavailable', errorMessage: 'the local runtime is stopping' },
        timedOut: false,
      });
    }
    await Promise.all(
      envs.map(
        (env) =>
          new Promise<void>((resolve) => {
            if (env.worker.exitCode !== null || env.worker.signalCode !== null) return resolve();
            env.worker.once('exit', () => resolve());
            env.worker.kill('SIGKILL');
          }),
      ),
    );
  }
}
