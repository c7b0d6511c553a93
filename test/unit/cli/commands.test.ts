import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../cli/program';
import { lineProgress } from '../../../cli/progress';
import type { CliDeps } from '../../../cli/session';
import { parseExactJson } from '../../../lambda/core/json-text';
import { type FakeTaskApi, startFakeTaskApi } from './fake-task-api';

const TASK_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe('Function: runCli', () => {
  let api: FakeTaskApi;
  let dir: string;
  let stdout: string;
  let stderr: string;
  let env: Record<string, string | undefined>;
  let now: (() => Date) | undefined;

  const deps = (): CliDeps => ({
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    cwd: dir,
    poll: { intervalMs: 1, maxIntervalMs: 5 },
    ...(now && { now }),
    progress: lineProgress((text) => {
      stderr += text;
    }),
  });
  /** Runs taskq against the fake API, as `taskq --endpoint <fake> ...args`. */
  const taskq = (...args: string[]) => runCli(['--endpoint', api.url, ...args], deps());
  const json = () => JSON.parse(stdout) as Record<string, unknown>;

  beforeEach(async () => {
    api = await startFakeTaskApi();
    dir = mkdtempSync(join(tmpdir(), 'taskq-'));
    stdout = '';
    stderr = '';
    env = {};
    now = undefined;
  });

  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('submit', () => {
    it('waits across any number of heartbeats with --wait, showing progress, until the task ends', async () => {
      // Prepare: an async task that reports progress for many polls before it succeeds
      const beats = Array.from({ length: 30 }, (_, i) => ({
        status: 'RUNNING' as const,
        attempts: 1,
        progress: { percent: i * 3, message: `step ${i}` },
        heartbeat_at: `2026-11-28T08:00:${String(i).padStart(2, '0')}.000Z`,
      }));
      api.script('async-echo', [...beats, { status: 'SUCCEEDED', attempts: 1, result: { echo: {} } }]);

      // Act
      const code = await taskq('submit', '--type', 'async-echo', '--wait');

      // Assess
      expect(code).toBe(0);
      expect(stderr).toContain('step 29');
      expect(stdout).toContain('SUCCEEDED');
    });

    it('refuses --timeout without --wait', async () => {
      // Act
      const code = await taskq('submit', '--type', 'echo', '--timeout', '5');

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain('--timeout needs --wait');
      expect(api.requests).toHaveLength(0);
    });

    it('prints the task id and exits 0 when the task is accepted', async () => {
      // Act
      const code = await taskq('submit', '--type', 'echo');

      // Assess
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`task ${TASK_ID.source} QUEUED`));
      expect(api.requests[0]!.body).toEqual({ type: 'echo', payload: {} });
    });

    it('prints one JSON document when --json is given', async () => {
      // Act
      const code = await taskq('--json', 'submit', '--type', 'echo', '--payload', '{"q":"hi"}');

      // Assess
      expect(code).toBe(0);
      expect(json()).toEqual(
        expect.objectContaining({
          task_id: expect.stringMatching(TASK_ID),
          status: 'QUEUED',
          replayed: false,
        }),
      );
    });

    it('sends priority, key and delay when they are given', async () => {
      // Act
      await taskq('submit', '--type', 'echo', '--priority', 'high', '--key', 'order-7', '--delay', '90');

      // Assess
      expect(api.requests[0]!.body).toEqual({
        type: 'echo',
        payload: {},
        priority: 'high',
        idempotency_key: 'order-7',
        delay_seconds: 90,
      });
    });

    it('says nothing new was queued when the key names an existing task', async () => {
      // Prepare
      await taskq('submit', '--type', 'echo', '--key', 'k');
      stdout = '';

      // Act
      const code = await taskq('submit', '--type', 'echo', '--key', 'k');

      // Assess
      expect(code).toBe(0);
      expect(stdout).toContain('nothing new was queued');
    });

    it('sends the payload with every number literal as written', async () => {
      // Act
      await taskq('submit', '--type', 'echo', '--payload', '{"n":9007199254740993,"big":1e400}');

      // Assess
      const body = api.requests[0]!.body as { payload: unknown };
      expect(JSON.stringify(body.payload)).toBe('{"n":9007199254740993,"big":1e400}');
    });

    it('reads the payload from a file when --payload starts with @', async () => {
      // Prepare
      writeFileSync(join(dir, 'payload.json'), '{ "prompt": "summarise", "pages": [1, 2] }');

      // Act
      const code = await taskq('submit', '--type', 'echo', '--payload', '@payload.json');

      // Assess
      expect(code).toBe(0);
      expect(api.requests[0]!.body).toEqual({
        type: 'echo',
        payload: { prompt: 'summarise', pages: [1, 2] },
      });
    });

    it.each([
      ['the payload is not JSON', ['--payload', '{oops'], 'is not valid JSON'],
      ['the payload is not an object', ['--payload', '[1]'], 'must be a JSON object'],
      ['the payload file is missing', ['--payload', '@missing.json'], 'ENOENT'],
      ['the priority is not a tier', ['--priority', 'urgent'], 'Allowed choices are high, low'],
      ['the delay is not a whole number', ['--delay', '1.5'], 'whole number of seconds'],
    ])('exits 2 without a request when %s', async (_case, args, message) => {
      // Act
      const code = await taskq('submit', '--type', 'echo', ...args);

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain(message);
      expect(api.requests).toHaveLength(0);
    });

    it('exits 2 when --type is missing', async () => {
      // Act
      const code = await taskq('submit');

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain("required option '--type <type>' not specified");
    });

    it("exits 1 with the API's error code and message when the API refuses", async () => {
      // Act
      const code = await taskq('submit', '--type', 'unregistered');

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain(
        "error: UnknownTaskType: task type 'unregistered' is not registered (HTTP 400)",
      );
      expect(stdout).toBe('');
    });

    it('prints the API error as the JSON document when --json is given', async () => {
      // Act
      const code = await taskq('--json', 'submit', '--type', 'unregistered');

      // Assess
      expect(code).toBe(1);
      expect(json()).toEqual({
        error: {
          code: 'UnknownTaskType',
          message: "task type 'unregistered' is not registered",
          status: 400,
        },
      });
    });

    it('polls to SUCCEEDED and exits 0 when --wait is given', async () => {
      // Prepare
      api.script('echo', [
        { status: 'QUEUED' },
        { status: 'RUNNING', attempts: 1 },
        { status: 'SUCCEEDED', attempts: 1, result: { echo: { q: 1 } } },
      ]);

      // Act
      const code = await taskq('--json', 'submit', '--type', 'echo', '--wait');

      // Assess
      expect(code).toBe(0);
      expect(json()).toEqual(expect.objectContaining({ status: 'SUCCEEDED', result: { echo: { q: 1 } } }));
      expect(api.requests.filter((r) => r.method === 'GET')).toHaveLength(3);
    });

    it('exits 1 and prints the error when the task FAILED under --wait', async () => {
      // Prepare
      api.script('poison', [
        { status: 'RUNNING', attempts: 1 },
        { status: 'FAILED', attempts: 1, error: { code: 'AgentHttp422', message: 'the agent answered 422' } },
      ]);

      // Act
      const code = await taskq('submit', '--type', 'poison', '--wait');

      // Assess
      expect(code).toBe(1);
      expect(stdout).toContain('FAILED');
      expect(stdout).toContain('error     AgentHttp422: the agent answered 422');
    });
  });

  describe('status', () => {
    it.each([
      [0, 'SUCCEEDED'],
      [0, 'RUNNING'],
      [1, 'FAILED'],
      [1, 'CANCELLED'],
    ] as const)('exits %i when the task is %s', async (expected, status) => {
      // Prepare
      const id = api.seed([{ status, attempts: 1 }]);

      // Act
      const code = await taskq('status', id);

      // Assess
      expect(code).toBe(expected);
      expect(stdout).toContain(`task ${id} ${status}`);
    });

    it.each([[[]], [['--json']]])(
      'prints a result with every number literal as the API sent it %j',
      async (flags) => {
        // Prepare
        const result = parseExactJson('{"echo":{"n":9007199254740993,"big":1e400}}');
        const id = api.seed([{ status: 'SUCCEEDED', attempts: 1, result }]);

        // Act
        await taskq(...flags, 'status', id);

        // Assess
        expect(stdout).toMatch(/"n": 9007199254740993,\s+"big": 1e400/);
      },
    );

    it('prints why a task waits, and its tenant, when a limit holds it back', async () => {
      // Prepare
      const since = '2026-11-28T08:00:00.000Z';
      const id = api.seed([
        {
          status: 'QUEUED',
          attempts: 0,
          tenant_id: 'acme',
          waiting: { reason: 'TenantConcurrencyLimit', since },
        },
      ]);

      // Act
      const code = await taskq('status', id);

      // Assess
      expect(code).toBe(0);
      expect(stdout).toContain('tenant    acme');
      expect(stdout).toContain(`waiting   TenantConcurrencyLimit since ${since}`);
    });

    it("prints a published task's deliveries: subscriber, status, attempts, error and the delivery's task id", async () => {
      // Prepare
      const echoId = '0f8fad5b-d9cb-469f-a165-70867728950e';
      const flakyId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
      const id = api.seed(
        [
          {
            status: 'FAILED',
            attempts: 4,
            topic: 't.mixed',
            deliveries: {
              echo: { task_id: echoId, status: 'SUCCEEDED', attempts: 1, result: { echo: {} } },
              flaky: {
                task_id: flakyId,
                status: 'FAILED',
                attempts: 3,
                error: { code: 'AgentHttp503', message: 'the agent\nanswered 503' },
              },
            },
          },
        ],
        't.mixed',
      );

      // Act
      const code = await taskq('status', id);

      // Assess: FAILED, as the top-level status derived from the deliveries says
      expect(code).toBe(1);
      expect(stdout).toContain('topic     t.mixed (published)');
      expect(stdout).toMatch(/deliveries\n {4}echo {3}SUCCEEDED {2}1 attempt\n/);
      expect(stdout).toContain(`task ${echoId}`);
      expect(stdout).toContain('    flaky  FAILED     3 attempts  AgentHttp503: the agent answered 503\n');
      expect(stdout).toContain(`task ${flakyId}`);
    });

    it('names the topic and the published task of a delivery', async () => {
      // Prepare
      const publishedId = '3b241101-e2bb-4255-8caf-4136c566a962';
      const id = api.seed(
        [{ status: 'SUCCEEDED', attempts: 1, topic: 't.mixed', published_task_id: publishedId }],
        'echo',
      );

      // Act
      await taskq('status', id);

      // Assess
      expect(stdout).toContain(`topic     t.mixed (a delivery of published task ${publishedId})`);
      expect(stdout).not.toContain('deliveries');
    });

    it('prints the task as JSON when --json comes after the command', async () => {
      // Prepare
      const id = api.seed([{ status: 'SUCCEEDED', attempts: 1, result: { echo: 'x' } }]);

      // Act
      const code = await taskq('status', id, '--json');

      // Assess
      expect(code).toBe(0);
      expect(json()).toEqual(
        expect.objectContaining({ task_id: id, status: 'SUCCEEDED', result: { echo: 'x' } }),
      );
    });

    it('exits 1 with NotFound when the task does not exist', async () => {
      // Act
      const code = await taskq('status', 'unknown-id');

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('error: NotFound:');
    });

    it('exits 2 when the id is missing', async () => {
      // Act
      const code = await taskq('status');

      // Assess
      expect(code).toBe(2);
      expect(api.requests).toHaveLength(0);
    });
  });

  describe('watch', () => {
    it('shows each status and prints the result when the task succeeds', async () => {
      // Prepare
      const id = api.seed([
        { status: 'QUEUED' },
        { status: 'RETRYING', attempts: 1 },
        { status: 'SUCCEEDED', attempts: 2, result: { attempt: 2 } },
      ]);

      // Act
      const code = await taskq('watch', id);

      // Assess
      expect(code).toBe(0);
      expect(stderr).toContain(`task ${id} RETRYING (1 attempt)`);
      expect(stderr).toContain(`task ${id} SUCCEEDED (2 attempts)`);
      expect(stdout).toContain('"attempt": 2');
    });

    it('keeps watching when the API fails transiently', async () => {
      // Prepare
      const id = api.seed([{ status: 'SUCCEEDED', attempts: 1 }]);
      api.failNextGets(2);

      // Act
      const code = await taskq('--json', 'watch', id);

      // Assess
      expect(code).toBe(0);
      expect(json()).toEqual(expect.objectContaining({ status: 'SUCCEEDED' }));
    });

    it('exits 1 when the task was cancelled', async () => {
      // Prepare
      const id = api.seed([{ status: 'CANCELLED' }]);

      // Act
      const code = await taskq('watch', id);

      // Assess
      expect(code).toBe(1);
    });

    it('shows the progress an async agent reports as a bar, each heartbeat in turn, until the task ends', async () => {
      // Prepare
      const id = api.seed(
        [
          { status: 'RUNNING', attempts: 1, progress: { percent: 25, message: 'reading' } },
          { status: 'RUNNING', attempts: 1, progress: { percent: 75, message: 'writing' } },
          { status: 'SUCCEEDED', attempts: 1, result: { done: true } },
        ],
        'async-echo',
        { async: true },
      );

      // Act
      const code = await taskq('watch', id);

      // Assess
      expect(code).toBe(0);
      expect(stderr).toContain(`task ${id} RUNNING (1 attempt) [#####---------------] 25% reading`);
      expect(stderr).toContain(`task ${id} RUNNING (1 attempt) [###############-----] 75% writing`);
      expect(stderr).toContain(`task ${id} SUCCEEDED (1 attempt)`);
    });

    it('stops waiting with WaitTimeout and exit code 1 when --timeout runs out, and not before', async () => {
      // Prepare: a task that stays RUNNING, heartbeat after heartbeat, on a clock that moves 250 ms a reading
      const id = api.seed([{ status: 'RUNNING', attempts: 1, progress: { percent: 10 } }], 'async-echo', {
        async: true,
      });
      let ms = 0;
      now = () => {
        ms += 250;
        return new Date(ms);
      };

      // Act
      const code = await taskq('--json', 'watch', id, '--timeout', '1');

      // Assess
      expect(code).toBe(1);
      expect(json()).toEqual({ error: expect.objectContaining({ code: 'WaitTimeout' }) });
      expect(api.requests.length).toBeGreaterThan(1);
    });

    it('refuses a --timeout that is not a whole number of seconds', async () => {
      // Act
      const code = await taskq('watch', 'x', '--timeout', '0');

      // Assess
      expect(code).toBe(2);
      expect(api.requests).toHaveLength(0);
    });

    it('writes nothing but the JSON document to stdout when --json is given', async () => {
      // Prepare
      const id = api.seed([
        { status: 'QUEUED' },
        { status: 'RUNNING' },
        { status: 'SUCCEEDED', attempts: 1 },
      ]);

      // Act
      await taskq('--json', 'watch', id);

      // Assess
      expect(() => json()).not.toThrow();
      expect(stderr).toBe('');
    });
  });

  describe('cancel', () => {
    it('exits 0 and prints CANCELLED when the task is queued', async () => {
      // Prepare
      const id = api.seed([{ status: 'QUEUED' }]);

      // Act
      const code = await taskq('cancel', id);

      // Assess
      expect(code).toBe(0);
      expect(stdout).toContain(`task ${id} CANCELLED`);
    });

    it('exits 0 and says cancellation was requested when the API answers 202 for a running async task', async () => {
      // Prepare
      const id = api.seed([{ status: 'RUNNING', attempts: 1 }], 'async-echo', { async: true });

      // Act
      const code = await taskq('cancel', id);

      // Assess
      expect(code).toBe(0);
      expect(stdout).toContain('cancellation requested');
      expect(stdout).toContain('told at its next heartbeat');
      expect(stdout).toContain(`task ${id} RUNNING`);
      expect(stdout).toContain('cancel    requested');
    });

    it('prints the task with cancel_requested under --json when the API answers 202', async () => {
      // Prepare
      const id = api.seed([{ status: 'RUNNING', attempts: 1 }], 'async-echo', { async: true });

      // Act
      const code = await taskq('--json', 'cancel', id);

      // Assess
      expect(code).toBe(0);
      expect(json()).toEqual(
        expect.objectContaining({ task_id: id, status: 'RUNNING', cancel_requested: true }),
      );
    });

    it('exits 1 with NotCancellable when the task is running on a sync agent', async () => {
      // Prepare
      const id = api.seed([{ status: 'RUNNING' }]);

      // Act
      const code = await taskq('--json', 'cancel', id);

      // Assess
      expect(code).toBe(1);
      expect(json()).toEqual({ error: expect.objectContaining({ code: 'NotCancellable', status: 409 }) });
    });
  });

  describe('global options', () => {
    it('uses TASKQ_ENDPOINT when --endpoint is not given', async () => {
      // Prepare
      env.TASKQ_ENDPOINT = api.url;

      // Act
      const code = await runCli(['submit', '--type', 'echo'], deps());

      // Assess
      expect(code).toBe(0);
      expect(api.requests).toHaveLength(1);
    });

    it('prefers --endpoint over TASKQ_ENDPOINT when both are set', async () => {
      // Prepare
      env.TASKQ_ENDPOINT = 'http://127.0.0.1:9/unused';

      // Act
      const code = await taskq('submit', '--type', 'echo');

      // Assess
      expect(code).toBe(0);
      expect(api.requests).toHaveLength(1);
    });

    it('exits 2 when the endpoint is not an http URL', async () => {
      // Act
      const code = await runCli(['--endpoint', 'ftp://example.com', 'status', 'x'], deps());

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain('endpoint must be an http(s) URL');
    });

    it('exits 1 when nothing answers at the endpoint', async () => {
      // Prepare
      const { url } = api;
      await api.close();
      api = await startFakeTaskApi();

      // Act
      const code = await runCli(['--endpoint', url, 'status', 'x'], deps());

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('error: Unreachable: cannot reach');
    });

    it('exits 2 when the command is unknown', async () => {
      // Act
      const code = await taskq('launch');

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain("unknown command 'launch'");
    });

    it('exits 0 and prints usage when --help is given', async () => {
      // Act
      const code = await runCli(['submit', '--help'], deps());

      // Assess
      expect(code).toBe(0);
      expect(stdout).toContain('--payload <json|@file>');
    });
  });
});
