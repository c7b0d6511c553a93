/**
 * Runs a command under a pseudo-terminal with util-linux's `script`, so that it sees a terminal on stdin and
 * stdout (isTTY, raw mode, a size) as in a person's shell, with no native module. What the test writes goes to the
 * command as typed keys; what the command draws comes back with its escape sequences.
 *
 * The shell line sets the terminal's size first, and after the command prints `stty -a` (the terminal modes it
 * left behind) and its exit code, so that a test can check that the terminal was restored.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Ansi } from '../../../cli/top/screen';
import { stripAnsi } from '../../unit/cli/top/fake-terminal';

export const EXIT_MARK = 'PTY_EXIT=';

/** One word for `sh -c`: single-quoted, each quote inside closed, escaped and reopened. */
const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

export interface PtyRun {
  /** Everything the pseudo-terminal has shown so far. */
  output(): string;
  /** Types `text` on the terminal. */
  type(text: string): void;
  /** Resolves once `predicate` holds for the output, or throws with the output at the deadline. */
  waitFor(predicate: (output: string) => boolean, what: string, withinMs?: number): Promise<string>;
  /** Resolves with the command's exit code and the `stty -a` it left, once `script` has exited. */
  finished(): Promise<{ readonly code: number; readonly stty: string }>;
  kill(): void;
}

export function runUnderPty(
  argv: readonly string[],
  options: { readonly columns: number; readonly rows: number; readonly cwd: string },
): PtyRun {
  const line = [
    `stty cols ${options.columns} rows ${options.rows}`,
    argv.map(quote).join(' '),
    `code=$?`,
    `stty -a`,
    `echo "${EXIT_MARK}$code"`,
  ].join('; ');
  const child: ChildProcess = spawn('script', ['-qfec', line, '/dev/null'], {
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TERM: 'xterm-256color' },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => output,
    type: (text) => {
      child.stdin!.write(text);
    },
    waitFor: async (predicate, what, withinMs = 30_000) => {
      const deadline = Date.now() + withinMs;
      while (!predicate(output)) {
        if (Date.now() > deadline)
          throw new Error(`${what} did not happen within ${withinMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return output;
    },
    finished: async () => {
      await exited;
      const mark = output.lastIndexOf(EXIT_MARK);
      if (mark < 0) throw new Error(`the command line did not finish:\n${output}`);
      const code = Number.parseInt(output.slice(mark + EXIT_MARK.length), 10);
      const stty = output.slice(0, mark);
      return { code, stty: stty.slice(stty.lastIndexOf('speed')) };
    },
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The complete frames `taskq top` drew (each ends with its clear-to-end), as lines without escape sequences. */
export function frames(output: string): string[][] {
  return output
    .split(Ansi.home)
    .slice(1)
    .filter((frame) => frame.includes(Ansi.clearToEnd))
    .map((frame) =>
      stripAnsi(frame.split(Ansi.clearToEnd)[0]!)
        .split(/\r?\n/)
        .map((line) => line.trimEnd()),
    );
}

/** The cells of the frame's line whose first cell is `first`. */
export const row = (frame: readonly string[], first: string) =>
  frame
    .find((l) => l.startsWith(`${first} `))
    ?.trim()
    .split(/ {2,}/);
