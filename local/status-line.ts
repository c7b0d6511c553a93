/**
 * A one-line live status on a TTY, redrawn about once a second; log lines are printed above it.
 * When the output is not a TTY there is no live line, and log lines are printed as they come.
 */
import type { WriteStream } from 'node:tty';

export interface StatusLine {
  /** Prints a log line without tearing the status line. */
  log(line: string): void;
  stop(): void;
}

export function startStatusLine(
  out: NodeJS.WriteStream | WriteStream,
  render: () => Promise<string>,
  intervalMs = 1000,
): StatusLine {
  if (!out.isTTY) {
    return { log: (line) => out.write(`${line}\n`), stop: () => {} };
  }
  let current = '';
  let stopped = false;
  const clear = () => {
    if (current) out.write('\r\x1b[2K');
  };
  const draw = () => {
    if (current) out.write(current.slice(0, Math.max(20, (out.columns || 120) - 1)));
  };
  const timer = setInterval(() => {
    render().then(
      (text) => {
        if (stopped) return;
        clear();
        current = text;
        draw();
      },
      () => {},
    );
  }, intervalMs);
  timer.unref();
  return {
    log: (line) => {
      clear();
      out.write(`${line}\n`);
      draw();
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
      clear();
      current = '';
    },
  };
}
