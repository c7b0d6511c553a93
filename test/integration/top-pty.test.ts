/**
 * `taskq top` in a pseudo-terminal (util-linux `script`), run as a person runs it (`bin/taskq`): its frames show
 * the figures the dashboard API gives, `q` ends it with exit code 0, and the terminal is left as it was found
 * (the main screen back, the cursor shown, raw mode off: `stty -a` after it shows `icanon` and `echo`).
 */
import * as path from 'node:path';
import { Ansi } from '../../cli/top/screen';
import { type FakeDashboard, startFakeDashboard } from '../unit/cli/top/fake-dashboard';
import { stripAnsi } from '../unit/cli/top/fake-terminal';
import { overviewDocument } from '../unit/cli/top/overview-fixture';
import { frames, type PtyRun, row, runUnderPty } from './support/pty';

jest.setTimeout(90_000);

const ROOT = path.join(__dirname, '..', '..');
const TASKQ = path.join(ROOT, 'bin', 'taskq');

describe('taskq top under a pseudo-terminal, against a stand-in dashboard API', () => {
  let dashboard: FakeDashboard;
  let pty: PtyRun | undefined;

  beforeEach(async () => {
    dashboard = await startFakeDashboard(overviewDocument(7));
  });

  afterEach(async () => {
    pty?.kill();
    await dashboard.close();
  });

  it('redraws the figures the API gives each second, and on q exits 0 with the terminal restored', async () => {
    // Prepare
    pty = runUnderPty([process.execPath, TASKQ, '--endpoint', dashboard.url, 'top'], {
      columns: 100,
      rows: 30,
      cwd: ROOT,
    });
    await pty.waitFor((out) => frames(out).some((f) => row(f, 'high')?.[1] === '7'), 'the first frame');

    // Act: the figures change, then the person presses q
    dashboard.answer(overviewDocument(12_345));
    const output = await pty.waitFor(
      (out) => frames(out).some((f) => row(f, 'high')?.[1] === '12.3k'),
      'a frame with the new figures',
    );
    pty.type('q');
    const { code, stty } = await pty.finished();

    // Assess
    const frame = frames(output).find((f) => row(f, 'high')?.[1] === '12.3k')!;
    expect(frame[0]).toMatch(
      /^taskq top - AgentTaskQueue - the local runtime at http:\/\/127\.0\.0\.1:\d+ +15:00:00 UTC$/,
    );
    expect(row(frame, 'high')).toEqual(['high', '12.3k', '2', '0', '0.50', '0.25', '42s', '3']);
    expect(row(frame, 'echo')).toEqual(['echo', '2', '15', '1', '8ms', '40ms', 'slots 2/2', 'rate 10/1s']);
    expect(code).toBe(0);
    const all = pty.output();
    expect(all.indexOf(Ansi.enterAlternateScreen)).toBeLessThan(all.indexOf(Ansi.home));
    expect(all.lastIndexOf(Ansi.leaveAlternateScreen)).toBeGreaterThan(all.lastIndexOf(Ansi.home));
    expect(all.lastIndexOf(Ansi.showCursor)).toBeGreaterThan(all.lastIndexOf(Ansi.hideCursor));
    expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
    expect(stty).toMatch(/(^|\s)echo(\s|$)/);
  });

  it('exits on Ctrl-C with code 0 and the terminal restored', async () => {
    // Prepare
    pty = runUnderPty([process.execPath, TASKQ, '--endpoint', dashboard.url, 'top'], {
      columns: 80,
      rows: 24,
      cwd: ROOT,
    });
    await pty.waitFor((out) => frames(out).length > 0, 'the first frame');

    // Act
    pty.type('\x03');
    const { code, stty } = await pty.finished();

    // Assess
    expect(code).toBe(0);
    expect(pty.output().lastIndexOf(Ansi.leaveAlternateScreen)).toBeGreaterThan(
      pty.output().lastIndexOf(Ansi.home),
    );
    expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
  });

  it('prints one frame and exits with --once, with lines as wide as the terminal at most', async () => {
    // Act
    pty = runUnderPty([process.execPath, TASKQ, '--endpoint', dashboard.url, 'top', '--once'], {
      columns: 72,
      rows: 24,
      cwd: ROOT,
    });
    const { code } = await pty.finished();

    // Assess
    expect(code).toBe(0);
    const printed = pty.output().slice(0, pty.output().indexOf('speed'));
    expect(printed).not.toContain(Ansi.enterAlternateScreen);
    const lines = stripAnsi(printed).split(/\r?\n/);
    expect(row(lines, 'high')).toEqual(['high', '7', '2', '0', '0.50', '0.25', '42s', '3']);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(72);
  });
});
