/** `TopTerminal` on the process's own terminal: stdin for keys (raw mode), stdout for frames. */
import type { TopTerminal } from './screen';

/** Both ends must be a terminal: frames need a screen to redraw, and `q` needs raw input. */
export function processTerminal(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout,
): TopTerminal | undefined {
  if (input.isTTY !== true || output.isTTY !== true) return undefined;
  return {
    size: () => ({ columns: output.columns ?? 0, rows: output.rows ?? 0 }),
    write: (text) => {
      output.write(text);
    },
    readKeys: (onKey) => {
      const listener = (chunk: Buffer | string) => onKey(chunk.toString());
      input.setRawMode(true);
      input.on('data', listener);
      input.resume();
      return () => {
        input.off('data', listener);
        input.setRawMode(false);
        // Paused, stdin no longer holds the event loop open.
        input.pause();
      };
    },
    onResize: (listener) => {
      output.on('resize', listener);
      return () => {
        output.off('resize', listener);
      };
    },
  };
}
