/** A `TopTerminal` in memory: it keeps what is written, says whether raw mode is on, and types keys. */
import { Ansi, type TopTerminal } from '../../../../cli/top/screen';

export interface FakeTerminal extends TopTerminal {
  /** Everything written, in order. */
  readonly output: () => string;
  readonly raw: () => boolean;
  /** The frames drawn so far, each as its lines without escape sequences and trailing blanks. */
  frames(): string[][];
  press(key: string): void;
  resize(columns: number, rows: number): void;
  /** Resolves once `count` frames are drawn. */
  frameCount(count: number, timeoutMs?: number): Promise<string[][]>;
}

/** Removes CSI escape sequences (`ESC [ … letter`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: an escape sequence starts with the control character ESC.
export const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

export function fakeTerminal(columns = 100, rows = 40): FakeTerminal {
  let output = '';
  let raw = false;
  let size = { columns, rows };
  let onKey: ((key: string) => void) | undefined;
  const resizeListeners = new Set<() => void>();
  const frames = () =>
    output
      .split(Ansi.home)
      .slice(1)
      .map((frame) =>
        stripAnsi(frame.split(Ansi.clearToEnd)[0]!)
          .split('\r\n')
          .map((line) => line.trimEnd()),
      );
  return {
    size: () => size,
    write: (text) => {
      output += text;
    },
    readKeys: (listener) => {
      raw = true;
      onKey = listener;
      return () => {
        raw = false;
        onKey = undefined;
      };
    },
    onResize: (listener) => {
      resizeListeners.add(listener);
      return () => resizeListeners.delete(listener);
    },
    output: () => output,
    raw: () => raw,
    frames,
    press: (key) => onKey?.(key),
    resize: (c, r) => {
      size = { columns: c, rows: r };
      for (const listener of resizeListeners) listener();
    },
    frameCount: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (frames().length < count) {
        if (Date.now() > deadline)
          throw new Error(`${frames().length} frames drawn, not ${count}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return frames();
    },
  };
}
