/**
 * `taskq local` on an app of another team (test/fixtures/local-app): two stacks, one with two TaskQueues whose
 * HTTP agents this test serves. The app is synthesized once, into a cache folder of this run; the runs after the
 * first take it from the cache, or read the assembly folder that synth left.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { bootRuntime, eventually, type RunningRuntime, runTaskq } from './support/local-runtime';
import { SYNTH_ENV } from './support/synth-env';

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');
const APP_DIR = path.join(ROOT, 'test', 'fixtures', 'local-app');

let agents: Server;
let agentsUrl: string;
/** Calls the agents received, by path. */
const calls: Array<{ path: string; body: unknown }> = [];
let outdir: string;

beforeAll(async () => {
  agents = createServer((req, res) => {
    // Whole bytes first: a character split between two chunks must not be decoded in halves.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(body || '{}') as unknown;
      calls.push({ path: req.url ?? '', body: parsed });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ answeredBy: req.url }));
    });
  });
  await new Promise<void>((resolve) => agents.listen(0, '127.0.0.1', resolve));
  agentsUrl = `http://127.0.0.1:${(agents.address() as AddressInfo).port}`;
  outdir = mkdtempSync(path.join(tmpdir(), 'taskq-local-'));
});

afterAll(async () => {
  await new Promise((resolve) => agents?.close(resolve));
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** Runs `taskq local ARGS` in `cwd` until it exits; for the runs that must refuse to start. */
function runToExit(args: readonly string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // bin/taskq, as `npx taskq` runs it: it loads tsx itself, so it runs in a folder without node_modules too.
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'taskq'), 'local', ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...SYNTH_ENV, FIXTURE_AGENTS_URL: agentsUrl },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function boot(args: readonly string[]): Promise<RunningRuntime> {
  return bootRuntime({
    demoAgents: false,
    cwd: APP_DIR,
    args: ['--outdir', outdir, ...args],
    env: { FIXTURE_AGENTS_URL: agentsUrl },
    readyWithinMs: 540_000,
  });
}

/** Submits a task of `type` to the API at `apiUrl` and waits until it ends; returns the task. */
async function completeTask(apiUrl: string, type: string): Promise<Record<string, unknown>> {
  const submitted = await runTaskq(
    apiUrl,
    '--json',
    'submit',
    '--type',
    type,
    '--payload',
    '{"n":1}',
    '--wait',
  );
  expect(submitted).toMatchObject({ code: 0 });
  return JSON.parse(submitted.stdout) as Record<string, unknown>;
}

/** The `API` lines of the banner: each API's URL. */
const apiUrls = (output: string) => [...output.matchAll(/^ {2}API {10}(\S+)/gm)].map((m) => m[1]!);

describe('taskq local on a CDK app of another team', () => {
  it('refuses to guess between the stacks of a multi-stack app, and names them', async () => {
    // The first run synthesizes the app (cdk.json's app, the default) into this run's cache.
    const { code, output } = await runToExit(['--outdir', outdir], APP_DIR);
    expect(code).toBe(2);
    expect(output).toMatch(/the app has 2 stacks; .*--stack NAME/);
    expect(output).toContain('FixtureQueues');
    expect(output).toContain('FixtureOther');
  });

  describe('--stack with two TaskQueues (cdk.json default app, from the cache)', () => {
    let runtime: RunningRuntime;
    beforeAll(async () => {
      runtime = await boot(['--stack', 'FixtureQueues']);
    });
    afterAll(async () => {
      await runtime?.stop();
    });

    it('takes the whole synth from the cache the refused run left', () => {
      expect(runtime.output()).toContain('synth cache: template');
    });

    it('serves each HTTP API on a port of its own, the first on --port, and lists them with their routes', () => {
      const urls = apiUrls(runtime.output());
      expect(urls).toHaveLength(2);
      expect(urls[0]).toBe(runtime.apiUrl);
      expect(new Set(urls).size).toBe(2);
      expect(runtime.output()).toMatch(/^ {2}Routes {7}POST \/tasks, /m);
    });

    it('completes a task on each API with its own agent', async () => {
      const [alpha, beta] = apiUrls(runtime.output());
      const a = await completeTask(alpha!, 'alpha-echo');
      const b = await completeTask(beta!, 'beta-echo');
      expect(a).toMatchObject({ status: 'SUCCEEDED', result: { answeredBy: '/Alpha' } });
      expect(b).toMatchObject({ status: 'SUCCEEDED', result: { answeredBy: '/Beta' } });
      // Each API knows its own queue's types only.
      const wrong = await runTaskq(alpha!, 'submit', '--type', 'beta-echo');
      expect(wrong.code).toBe(1);
    });

    it('carries a payload larger than an SQS message to its agent whole, through the task bucket', async () => {
      // Prepare: 1.2 MB of UTF-8 (two bytes a character), over SQS's 1 MiB; Alpha takes the largest bodies
      const [alpha] = apiUrls(runtime.output());
      const payload = { text: 'ü'.repeat(600_000), n: 1 };

      // Act
      const response = await fetch(`${alpha}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'alpha-echo', payload }),
      });
      const { task_id: id } = (await response.json()) as { task_id: string };
      const task = await eventually(async () => {
        const view = (await (await fetch(`${alpha}/tasks/${id}`)).json()) as { status: string };
        return ['SUCCEEDED', 'FAILED'].includes(view.status) ? view : undefined;
      }, `task ${id} ending`);

      // Assess
      expect(response.status).toBe(202);
      expect(task).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
      const call = calls.find((c) => (c.body as { task_id?: string }).task_id === id);
      expect(call?.body).toMatchObject({ task_id: id, payload });
    });

    it('reads the task types from the template, and lists what it cannot run and what it ignores', () => {
      const output = runtime.output();
      expect(output).toContain('Agents       types: alpha-echo, beta-echo');
      expect(output).toMatch(/^ {2}Not emulated: AWS::SSM::Parameter \(Greeting\w*\)$/m);
      expect(output).toMatch(
        /^ {2}Not emulated: PyTool\w* \(runtime python3\.12: only Node\.js functions run locally/m,
      );
      expect(output).toMatch(/^ {2}Ignored {6}.*AWS::IAM::Role.*: no local effect/m);
    });
  });

  it('runs another stack chosen with --stack, the app given as a command with --app', async () => {
    const runtime = await boot(['--app', 'npx tsx app.ts', '--stack', 'FixtureOther']);
    try {
      expect(runtime.output()).toContain('stack FixtureOther;');
      expect(runtime.output()).toContain('Agents       types: none (no TaskQueue in this stack)');
      // Its queue exists in the emulator.
      const stack = (await (await fetch(`${runtime.apiUrl}/_local/stack`)).json()) as { stackName: string };
      expect(stack.stackName).toBe('FixtureOther');
      const sqs = runtime.sqsClient();
      const queues = await eventually(async () => {
        const listed = await sqs.send(new ListQueuesCommand({}));
        return listed.QueueUrls?.length ? listed.QueueUrls : undefined;
      }, 'the stack queue');
      sqs.destroy();
      expect(queues.some((url) => url.includes('FixtureOther-Inbox'))).toBe(true);
    } finally {
      await runtime.stop();
    }
  });

  it('runs a cloud assembly folder given with --app', async () => {
    const assembly = readdirSync(outdir)
      .map((entry) => path.join(outdir, entry))
      .find((dir) => existsSync(path.join(dir, 'manifest.json')));
    expect(assembly).toBeDefined();
    const runtime = await boot(['--app', assembly!, '--stack', 'FixtureQueues']);
    try {
      expect(runtime.output()).toContain('synth cache: assembly');
      const task = await completeTask(runtime.apiUrl, 'alpha-echo');
      expect(task).toMatchObject({ status: 'SUCCEEDED' });
    } finally {
      await runtime.stop();
    }
  });

  it('refuses a flag of the demo agents without --demo-agents', async () => {
    const { code, output } = await runToExit(['--agents-url', agentsUrl], APP_DIR);
    expect(code).toBe(2);
    expect(output).toContain('--agents-url configures the demo agents: it needs --demo-agents');
  });

  it('says where the app is when there is no cdk.json and no --app', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'taskq-local-empty-'));
    try {
      const { code, output } = await runToExit([], empty);
      expect(code).toBe(2);
      expect(output).toContain(`no cdk.json in ${empty}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
