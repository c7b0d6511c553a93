/**
 * Crash and restart (issue 4, section 5): the whole local runtime is killed with SIGKILL in the middle of a
 * 1,000-task run, restarted on the same ports and state folder, and every task a client got a 2xx for
 * must still finish. The runtime runs as `taskq local --demo-agents` in its own process group, with its own demo
 * agents, so that one `kill(-pgid)` takes down the API, the consumers, fauxqs, the agents and DynamoDB
 * Local's JVM at once, as a power cut or an OOM kill would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pool, type Submitted, submitWithRetries, taskTable, waitForTerminal } from '../../chaos/retries';
import { TaskQueueClient } from '../../cli/api-client';
import type { TaskView } from '../../lambda/core/task';
import { freePort } from './support/local-runtime';
import { SYNTH_ENV } from './support/synth-env';

// Two boots of the emulators and the JVM, 1,000 tasks, and one visibility timeout (6 × 10 s) for the
// messages whose consumers died: about two minutes on an idle 2-core machine, more when it is busy.
jest.setTimeout(420_000);

const ROOT = path.join(__dirname, '..', '..');
const TASKS = 1000;
/** The share of tasks accepted before the crash. */
const CRASH_AFTER_ACCEPTED = 400;
const CLIENT_CONCURRENCY = 16;
/**
 * Shortens the consumer timeout from 75 s: the messages a dead consumer held come back after the
 * visibility timeout (6 × this) instead of 450 s, and their tasks' leases (2 × this) have run out by then.
 * Not shorter: on a busy 2-core machine a batch of ten then times out now and again, and each time-out
 * costs a visibility timeout too (the chaos run settled on the same value).
 */
const CONSUMER_TIMEOUT_SECONDS = 10;
/**
 * More deliveries than the default 5: on a loaded machine a batch may time out a few times after the restart,
 * and an echo task that runs out of deliveries would fail this test for a reason that is not the crash.
 */
const MAX_RECEIVE_COUNT = 10;

interface Planned {
  readonly key: string;
  readonly body: { type: 'echo' | 'sleep'; payload: { i?: number; ms?: number }; priority: 'high' | 'low' };
}

interface Ports {
  readonly api: number;
  readonly aws: number;
  readonly dynamodb: number;
}

/** A runtime started as the leader of its own process group. */
interface Started {
  readonly child: ChildProcess;
  readonly apiUrl: string;
  readonly exited: Promise<void>;
  output(): string;
}

let persistDir: string;
let current: Started | undefined;

/** Mostly echo, with one task in five a short sleep, so that agent calls are in flight at the crash. */
function planTasks(run: string): Planned[] {
  return Array.from({ length: TASKS }, (_, i) => ({
    key: `${run}-${i}`,
    body:
      i % 5 === 4
        ? { type: 'sleep', payload: { ms: 20 + ((i * 37) % 200) }, priority: i % 3 === 0 ? 'high' : 'low' }
        : { type: 'echo', payload: { i }, priority: i % 3 === 0 ? 'high' : 'low' },
  }));
}

function startRuntime(ports: Ports): Promise<Started> {
  const args = [
    '--import',
    'tsx',
    'bin/taskq.ts',
    'local',
    '--demo-agents',
    '--port',
    String(ports.api),
    '--aws-port',
    String(ports.aws),
    '--dynamodb-port',
    String(ports.dynamodb),
    '--persist',
    persistDir,
    '--consumer-timeout',
    String(CONSUMER_TIMEOUT_SECONDS),
    '--max-receive-count',
    String(MAX_RECEIVE_COUNT),
  ];
  // Detached: the child leads its own process group, which the crash kills whole.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...SYNTH_ENV },
  });
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-200_000);
    if (logFile) appendFileSync(logFile, d);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started: Started = { child, apiUrl: `http://127.0.0.1:${ports.api}`, exited, output: () => output };
  current = started;
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      killGroup(child);
      reject(new Error(`the runtime was not ready within 120 s:\n${output}`));
    }, 120_000);
    const check = () => {
      if (/ready in [\d.]+ s/.test(output)) {
        clearTimeout(deadline);
        child.stdout!.off('data', check);
        resolve(started);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(deadline);
      reject(
        new Error(
          `the runtime exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
        ),
      );
    });
  });
}

/** SIGKILL to the child's whole process group: the runtime and everything it started. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Pids of the DynamoDB Local JVMs that serve this test's state folder (Linux /proc; none elsewhere). */
function dynamoJvmsOfThisTest(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  return entries.flatMap((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      return cmdline.includes('DynamoDBLocal') && cmdline.includes(persistDir) ? [Number(pid)] : [];
    } catch {
      return [];
    }
  });
}

// LOCAL_RUNTIME_LOG=FILE keeps the runtime's output and this test's progress, to read after a failure.
const logFile = process.env.LOCAL_RUNTIME_LOG;
const note = (line: string) => {
  if (logFile) appendFileSync(logFile, `[crash-restart test ${new Date().toISOString()}] ${line}\n`);
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const accepted = (answer: Submitted | undefined) =>
  answer !== undefined && answer.status >= 200 && answer.status < 300 && answer.taskId !== undefined;

beforeAll(() => {
  persistDir = mkdtempSync(path.join(tmpdir(), 'taskq-crash-'));
});

afterAll(async () => {
  const last = current;
  if (last && last.child.exitCode === null && last.child.signalCode === null) {
    // A clean stop first (it stops the JVM too); the whole group if that hangs.
    const force = setTimeout(() => killGroup(last.child), 15_000);
    last.child.kill('SIGTERM');
    await last.exited;
    clearTimeout(force);
    killGroup(last.child);
  }
  for (const pid of dynamoJvmsOfThisTest()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

describe('local runtime: crash and restart', () => {
  it('finishes every accepted task after a SIGKILL of the whole runtime mid-run and a restart', async () => {
    const wallStart = Date.now();
    const ports: Ports = { api: await freePort(), aws: await freePort(), dynamodb: await freePort() };
    const plan = planTasks(`crash-${Date.now().toString(36)}`);

    // Run 1: submit until 40% are accepted, then kill the runtime's process group with requests in flight.
    const first = await startRuntime(ports);
    const firstApi = new TaskQueueClient({ endpoint: first.apiUrl });
    note(`run 1 ready on ports ${JSON.stringify(ports)}`);
    const answers = new Array<Submitted | undefined>(TASKS);
    let acceptedCount = 0;
    let crashedAt = 0;
    await pool(plan, CLIENT_CONCURRENCY, async (task, i) => {
      if (crashedAt) return;
      // Few retries: a client cut off by the crash gives up quickly and retries after the restart.
      const answer = await submitWithRetries(firstApi, task.body, task.key, 3);
      answers[i] = answer;
      if (accepted(answer) && ++acceptedCount >= CRASH_AFTER_ACCEPTED && !crashedAt) {
        crashedAt = Date.now();
        killGroup(first.child);
      }
    });
    expect(crashedAt).toBeGreaterThan(0);
    note(`killed the process group after ${acceptedCount} accepted`);
    const acceptedBeforeCrash = answers.filter(accepted).length;

    // Nothing of run 1 may survive: no process, no port, above all no DynamoDB Local JVM on the state.
    await first.exited;
    const portsDeadline = Date.now() + 15_000;
    let busy: number[] = [];
    for (;;) {
      busy = [];
      for (const port of [ports.api, ports.aws, ports.dynamodb]) if (!(await portFree(port))) busy.push(port);
      if (busy.length === 0 || Date.now() > portsDeadline) break;
      await pause(250);
    }
    const survivors = dynamoJvmsOfThisTest();
    if (survivors.length > 0) {
      throw new Error(
        `DynamoDB Local (pid ${survivors.join(', ')}) outlived the SIGKILL of its runtime; ports still held: ${busy.join(', ') || 'none'}`,
      );
    }
    if (busy.length > 0) {
      throw new Error(
        `ports ${busy.join(', ')} were still held 15 s after the runtime's process group was killed`,
      );
    }

    // Run 2: the same ports and state. Every request that got no 2xx is retried with its key.
    note('run 1 is gone and its ports are free; restarting');
    const second = await startRuntime(ports);
    const secondApi = new TaskQueueClient({ endpoint: second.apiUrl });
    note('run 2 ready');
    const readyAfterCrashMs = Date.now() - crashedAt;
    const retried = plan.map((_, i) => i).filter((i) => !accepted(answers[i]));
    const cutOff = retried.filter((i) => answers[i] !== undefined).length;
    let replayedAfterRestart = 0;
    await pool(retried, CLIENT_CONCURRENCY, async (i) => {
      const answer = await submitWithRetries(secondApi, plan[i]!.body, plan[i]!.key);
      answers[i] = answer;
      if (answer.status === 200) replayedAfterRestart += 1;
    });
    const refused = answers
      .map((answer, i) => ({ answer, i }))
      .filter(({ answer }) => !accepted(answer))
      .map(({ answer, i }) => `${plan[i]!.key}: ${answer?.status} ${JSON.stringify(answer?.body)}`);
    expect(refused).toEqual([]);
    note(`all ${TASKS} accepted (${retried.length} submitted after the restart)`);

    // One task per key, and no task id under two keys.
    const keyOfTask = new Map<string, string>();
    const twice: string[] = [];
    answers.forEach((answer, i) => {
      const id = answer!.taskId!;
      const other = keyOfTask.get(id);
      if (other !== undefined && other !== plan[i]!.key)
        twice.push(`${id} under ${other} and ${plan[i]!.key}`);
      keyOfTask.set(id, plan[i]!.key);
    });
    expect(twice).toEqual([]);

    // Every accepted task reaches a terminal state: the tasks the crash cut off come back with their messages.
    // What counts is what GET shows; the task table (the runtime's own DynamoDB Local) says when to ask.
    const stack = (await (await fetch(`${second.apiUrl}/_local/stack`)).json()) as {
      outputs: Record<string, string>;
    };
    const table = taskTable(`http://127.0.0.1:${ports.dynamodb}`, stack.outputs.TaskTableName!);
    const { states, pending } = await waitForTerminal(secondApi, [...keyOfTask.keys()], {
      table,
      deadline: Date.now() + 150_000,
      concurrency: CLIENT_CONCURRENCY,
      progress: (left) => note(`${left} accepted task(s) not terminal yet`),
    }).finally(() => table.close());
    const recoveredMs = Date.now() - crashedAt;

    const lost = [...keyOfTask.keys()].filter((id) => states.get(id) === undefined);
    const notSucceeded = [...keyOfTask.keys()]
      .map((id) => states.get(id))
      .filter((s): s is TaskView => s !== undefined && s.status !== 'SUCCEEDED')
      .map((s) => `${s.task_id} ${s.status} after ${s.attempts} attempt(s) ${JSON.stringify(s.error ?? {})}`);
    const rerun = [...states.values()].filter((s) => (s?.attempts ?? 0) > 1).length;
    console.log(
      [
        `crash-restart: ${TASKS} tasks, ${acceptedBeforeCrash} accepted before the SIGKILL, ` +
          `${TASKS - acceptedBeforeCrash} after the restart (${cutOff} of them cut off by the crash, ` +
          `${replayedAfterRestart} answered 200: accepted before the crash though the client never heard)`,
        `  runtime ready again ${(readyAfterCrashMs / 1000).toFixed(1)} s after the crash; every task terminal ` +
          `${(recoveredMs / 1000).toFixed(1)} s after it; ${rerun} task(s) needed more than one attempt`,
        `  wall time ${((Date.now() - wallStart) / 1000).toFixed(1)} s`,
      ].join('\n'),
    );

    expect(lost).toEqual([]);
    expect(notSucceeded).toEqual([]);
    expect(pending).toEqual([]);
  });
});
