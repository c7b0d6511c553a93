import { runCli } from '../../../../cli/program';
import type { CliDeps } from '../../../../cli/session';
import { OVERVIEW_PATH } from '../../../../cli/top/local-source';
import { Ansi } from '../../../../cli/top/screen';
import { type FakeDashboard, startFakeDashboard } from './fake-dashboard';
import { type FakeTerminal, fakeTerminal } from './fake-terminal';
import { overviewDocument } from './overview-fixture';

/** The cells of the line whose first cell is `first`, split on runs of two or more spaces. */
const row = (lines: readonly string[], first: string) =>
  lines
    .find((l) => l.startsWith(`${first} `))
    ?.trim()
    .split(/ {2,}/);

describe('Command: taskq top', () => {
  let dashboard: FakeDashboard;
  let stdout: string;
  let stderr: string;

  const deps = (extra: Partial<CliDeps> = {}): CliDeps => ({
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    cwd: process.cwd(),
    ...extra,
  });

  beforeEach(async () => {
    dashboard = await startFakeDashboard(overviewDocument());
    stdout = '';
    stderr = '';
  });

  afterEach(async () => {
    await dashboard.close();
  });

  describe('without a terminal', () => {
    it('prints one frame of the figures the dashboard API gives, and exits 0', async () => {
      // Act
      const code = await runCli(['--endpoint', dashboard.url, 'top'], deps());

      // Assess
      expect(code).toBe(0);
      expect(dashboard.requests).toEqual([`GET ${OVERVIEW_PATH}`]);
      const lines = stdout.split('\n');
      expect(stdout).not.toContain('\x1b');
      expect(lines[0]).toMatch(
        /^taskq top - AgentTaskQueue - the local runtime at http:\/\/127\.0\.0\.1:\d+ +15:00:00 UTC$/,
      );
      expect(row(lines, 'high')).toEqual(['high', '7', '2', '0', '0.50', '0.25', '42s', '3']);
      expect(row(lines, 'low')).toEqual(['low', '0', '0', '5', '0', '0', '0s', '0']);
      expect(row(lines, 'echo')).toEqual(['echo', '2', '15', '1', '8ms', '40ms', 'slots 2/2', 'rate 10/1s']);
      expect(row(lines, 'async-echo')).toEqual(['async-echo', '1', '0', '0', '-', '-', '-']);
    });

    it('reads the endpoint from TASKQ_ENDPOINT', async () => {
      // Act
      const code = await runCli(['top'], deps({ env: { TASKQ_ENDPOINT: dashboard.url } }));

      // Assess
      expect(code).toBe(0);
      expect(dashboard.requests).toEqual([`GET ${OVERVIEW_PATH}`]);
    });

    it('prints the figures as one JSON document with --json', async () => {
      // Act
      const code = await runCli(['--endpoint', dashboard.url, '--json', 'top'], deps());

      // Assess
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual(overviewDocument());
    });

    it('exits 1 naming the problem when the endpoint has no dashboard API', async () => {
      // Prepare
      dashboard.answer({ status: 404 });

      // Act
      const code = await runCli(['--endpoint', dashboard.url, 'top'], deps());

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('NotLocalRuntime');
      expect(stderr).toContain('answered 404');
    });

    it('exits 1 naming the field when the answer breaks the contract', async () => {
      // Prepare
      const broken = overviewDocument();
      (broken.tiers[1] as Record<string, unknown>).dlq_depth = 'many';
      dashboard.answer(broken);

      // Act
      const code = await runCli(['--endpoint', dashboard.url, 'top'], deps());

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('InvalidResponse');
      expect(stderr).toContain('tiers[1].dlq_depth is not a number');
    });

    it('exits 1 when nothing listens at the endpoint', async () => {
      // Prepare: port 1 is privileged, so no test can bind it. A port freed by closing a server could be
      // handed straight back to the next server this run starts.
      const gone = 'http://127.0.0.1:1';

      // Act
      const code = await runCli(['--endpoint', gone, 'top'], deps());

      // Assess
      expect(code).toBe(1);
      expect(stderr).toContain('Unreachable');
    });

    it('exits 2 when given both --stack and --endpoint', async () => {
      // Act
      const code = await runCli(['--endpoint', dashboard.url, 'top', '--stack', 'prod'], deps());

      // Assess
      expect(code).toBe(2);
      expect(stderr).toContain('not both');
      expect(dashboard.requests).toEqual([]);
    });
  });

  describe('on a terminal', () => {
    let terminal: FakeTerminal;

    beforeEach(() => {
      terminal = fakeTerminal(100, 40);
    });

    it('prints one frame at the terminal width and exits with --once', async () => {
      // Prepare
      terminal = fakeTerminal(60, 40);

      // Act
      const code = await runCli(['--endpoint', dashboard.url, 'top', '--once'], deps({ terminal }));

      // Assess
      expect(code).toBe(0);
      expect(terminal.output()).toBe('');
      expect(terminal.raw()).toBe(false);
      expect(Math.max(...stdout.split('\n').map((l) => l.length))).toBe(60);
    });

    it('redraws every second with the new figures, and on q exits 0 with the terminal restored', async () => {
      // Prepare
      const run = runCli(['--endpoint', dashboard.url, 'top'], deps({ terminal }));
      const [first] = await terminal.frameCount(1);
      dashboard.answer(overviewDocument(1234));

      // Act
      const frames = await terminal.frameCount(2, 5000);
      terminal.press('q');
      const code = await run;

      // Assess
      expect(code).toBe(0);
      expect(row(first!, 'high')?.[1]).toBe('7');
      expect(row(frames[1]!, 'high')?.[1]).toBe('1234');
      expect(frames[1]!.at(-1)).toBe('q: quit   refreshes every 1 s');
      const output = terminal.output();
      expect(output.startsWith(`${Ansi.enterAlternateScreen}${Ansi.hideCursor}`)).toBe(true);
      expect(output.endsWith(`${Ansi.showCursor}${Ansi.leaveAlternateScreen}`)).toBe(true);
      expect(terminal.raw()).toBe(false);
      expect(stdout).toBe('');
    }, 15_000);

    it('stops on the signal (SIGINT, SIGTERM) as on q, restoring the terminal', async () => {
      // Prepare
      const controller = new AbortController();
      const run = runCli(['--endpoint', dashboard.url, 'top'], deps({ terminal, signal: controller.signal }));
      await terminal.frameCount(1);

      // Act
      controller.abort();
      const code = await run;

      // Assess
      expect(code).toBe(0);
      expect(terminal.output().endsWith(`${Ansi.showCursor}${Ansi.leaveAlternateScreen}`)).toBe(true);
      expect(terminal.raw()).toBe(false);
    });
  });
});
