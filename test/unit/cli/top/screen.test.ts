import { NetworkError } from '../../../../cli/api-client';
import type { Overview } from '../../../../cli/top/overview';
import { Ansi, runScreen } from '../../../../cli/top/screen';
import type { OverviewSource } from '../../../../cli/top/source';
import { type FakeTerminal, fakeTerminal } from './fake-terminal';
import { overviewDocument } from './overview-fixture';

/** A source that answers with each of `answers` in turn (an Error is thrown), then the last one forever. */
function scriptedSource(answers: readonly (Overview | Error)[]): OverviewSource & { reads: () => number } {
  let reads = 0;
  return {
    description: 'a scripted source',
    reads: () => reads,
    read: async () => {
      const answer = answers[Math.min(reads, answers.length - 1)]!;
      reads += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

const overview = (visibleHigh: number) => overviewDocument(visibleHigh) as Overview;
const visibleHigh = (frame: readonly string[]) =>
  frame
    .find((l) => l.startsWith('high '))
    ?.trim()
    .split(/ {2,}/)[1];
const restored = (terminal: FakeTerminal) =>
  terminal.output().endsWith(`${Ansi.showCursor}${Ansi.leaveAlternateScreen}`) && !terminal.raw();

describe('Function: runScreen', () => {
  const never = new AbortController().signal;

  it('shows why a read failed under the last figures, and clears it once a read succeeds', async () => {
    // Prepare
    const terminal = fakeTerminal();
    const source = scriptedSource([
      overview(1),
      new NetworkError('Unreachable', 'cannot reach the runtime: ECONNREFUSED'),
      overview(3),
    ]);
    const run = runScreen(source, terminal, { intervalMs: 5, signal: never });

    // Act
    const frames = await terminal.frameCount(3);
    terminal.press('q');
    await run;

    // Assess
    expect(visibleHigh(frames[1]!)).toBe('1');
    expect(frames[1]).toContain('last refresh failed: cannot reach the runtime: ECONNREFUSED');
    expect(visibleHigh(frames[2]!)).toBe('3');
    expect(frames[2]!.some((l) => l.startsWith('last refresh failed'))).toBe(false);
  });

  it('quits on Ctrl-C, which raw mode delivers as a key', async () => {
    // Prepare
    const terminal = fakeTerminal();
    const run = runScreen(scriptedSource([overview(1)]), terminal, { intervalMs: 5, signal: never });
    await terminal.frameCount(1);

    // Act
    terminal.press('\x03');
    await run;

    // Assess
    expect(restored(terminal)).toBe(true);
  });

  it('ignores other keys', async () => {
    // Prepare
    const terminal = fakeTerminal();
    const source = scriptedSource([overview(1)]);
    const run = runScreen(source, terminal, { intervalMs: 5, signal: never });
    await terminal.frameCount(1);

    // Act
    terminal.press('x');
    terminal.press('\r');
    const before = source.reads();
    await terminal.frameCount(terminal.frames().length + 2);

    // Assess
    expect(source.reads()).toBeGreaterThan(before);
    expect(terminal.raw()).toBe(true);
    terminal.press('q');
    await run;
  });

  it('quits at once while a read is under way', async () => {
    // Prepare
    const terminal = fakeTerminal();
    let reads = 0;
    const source: OverviewSource = {
      description: 'a slow source',
      read: () => {
        reads += 1;
        return reads === 1 ? Promise.resolve(overview(1)) : new Promise<Overview>(() => {});
      },
    };
    const run = runScreen(source, terminal, { intervalMs: 5, signal: never });
    await terminal.frameCount(1);
    while (reads < 2) await new Promise((resolve) => setTimeout(resolve, 5));

    // Act
    terminal.press('q');
    await run;

    // Assess
    expect(restored(terminal)).toBe(true);
  });

  it('redraws at the new width when the terminal is resized, and draws no more rows than it has', async () => {
    // Prepare
    const terminal = fakeTerminal(100, 40);
    const run = runScreen(scriptedSource([overview(1)]), terminal, { intervalMs: 60_000, signal: never });
    await terminal.frameCount(1);

    // Act
    terminal.resize(50, 6);
    const frames = await terminal.frameCount(2);
    terminal.press('q');
    await run;

    // Assess: the raw frame, before trailing blanks are trimmed
    const raw = terminal.output().split(Ansi.home)[2]!.split(Ansi.clearToEnd)[0]!.split('\r\n');
    expect(raw).toHaveLength(6);
    expect(raw.every((line) => line.length === 50)).toBe(true);
    expect(frames[1]![0]).toBe('taskq top - AgentTaskQueue - a scripted source');
  });

  it('restores the terminal and rejects when the source fails with a bug rather than a refusal', async () => {
    // Prepare
    const terminal = fakeTerminal();
    const source = scriptedSource([overview(1), new TypeError('undefined is not a function')]);

    // Act
    const run = runScreen(source, terminal, { intervalMs: 5, signal: never });

    // Assess
    await expect(run).rejects.toThrow('undefined is not a function');
    expect(restored(terminal)).toBe(true);
  });

  it('draws nothing but the restore when the signal has already fired', async () => {
    // Prepare
    const terminal = fakeTerminal();
    const controller = new AbortController();
    controller.abort();

    // Act
    await runScreen(scriptedSource([overview(1)]), terminal, { intervalMs: 5, signal: controller.signal });

    // Assess
    expect(terminal.frames()).toEqual([]);
    expect(restored(terminal)).toBe(true);
  });
});
