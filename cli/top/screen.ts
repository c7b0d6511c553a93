/**
 * The interactive loop of `taskq top`: the alternate screen, a redraw per refresh, `q` or Ctrl-C to quit. The
 * terminal is a port (`TopTerminal`), so that the loop runs in-process under test; terminal.ts binds it to the
 * process's stdin and stdout.
 *
 * Whatever ends the loop (a key, a signal, an error), the terminal is given back as it was found: raw mode off,
 * cursor shown, the main screen back with the shell's text on it.
 */
import { ApiError, NetworkError } from '../api-client';
import { CommandError } from '../errors';
import type { Overview } from './overview';
import { renderFrame } from './render';
import type { OverviewSource } from './source';

export interface TopTerminal {
  /** Columns and rows now; 0 when the terminal does not say. */
  size(): { readonly columns: number; readonly rows: number };
  write(text: string): void;
  /** Puts the input in raw mode and passes each chunk read to `onKey`; the returned function undoes both. */
  readKeys(onKey: (key: string) => void): () => void;
  /** Calls `listener` when the terminal is resized; the returned function stops that. */
  onResize(listener: () => void): () => void;
}

/** Escape sequences (xterm, and every terminal since): alternate screen, cursor, home, clear. */
export const Ansi = {
  enterAlternateScreen: '\x1b[?1049h',
  leaveAlternateScreen: '\x1b[?1049l',
  hideCursor: '\x1b[?25l',
  showCursor: '\x1b[?25h',
  home: '\x1b[H',
  clearToEnd: '\x1b[J',
} as const;

/** Used when a terminal reports no size (some pseudo-terminals). */
export const FALLBACK_SIZE = { columns: 80, rows: 24 } as const;

/** The keys that quit: `q`, `Q`, and Ctrl-C (which raw mode delivers as a byte instead of SIGINT). */
const QUIT_KEYS = new Set(['q', 'Q', '\x03']);

export interface ScreenOptions {
  /** Pause between two reads. */
  readonly intervalMs: number;
  /** Ends the loop as a quit key does (SIGINT, SIGTERM). */
  readonly signal: AbortSignal;
}

/** Errors shown on the screen while the loop goes on: the source is unreachable or refused, for now. */
const isReportable = (error: unknown) =>
  error instanceof CommandError || error instanceof NetworkError || error instanceof ApiError;

/** Runs until a quit key or the signal; rejects (with the terminal restored) on an error that is a bug. */
export async function runScreen(
  source: OverviewSource,
  terminal: TopTerminal,
  options: ScreenOptions,
): Promise<void> {
  let last: Overview | undefined;
  let error: string | undefined;
  let stopped = false;
  let release: () => void = () => {};
  // Settles on quit, so that neither a slow read nor the pause delays it.
  const stopping = new Promise<void>((resolve) => {
    release = resolve;
  });
  const stop = () => {
    stopped = true;
    release();
  };
  if (options.signal.aborted) stop();
  const seconds = options.intervalMs / 1000;
  const hint = `q: quit   refreshes every ${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;

  const draw = () => {
    const reported = terminal.size();
    const columns = reported.columns > 0 ? reported.columns : FALLBACK_SIZE.columns;
    const rows = reported.rows > 0 ? reported.rows : FALLBACK_SIZE.rows;
    const lines = renderFrame(last, {
      width: columns,
      source: source.description,
      hint,
      ...(error !== undefined && { error }),
    }).slice(0, rows);
    // Lines are exactly as wide as the terminal, so each overwrites the last frame's; below them, clear.
    terminal.write(`${Ansi.home}${lines.join('\r\n')}${Ansi.clearToEnd}`);
  };

  terminal.write(`${Ansi.enterAlternateScreen}${Ansi.hideCursor}`);
  options.signal.addEventListener('abort', stop, { once: true });
  const stopKeys = terminal.readKeys((key) => {
    if ([...key].some((c) => QUIT_KEYS.has(c))) stop();
  });
  const stopResize = terminal.onResize(draw);
  try {
    while (!stopped) {
      const read = source.read().then(
        (overview) => ({ overview }),
        (caught: unknown) => ({ caught }),
      );
      const outcome = await Promise.race([read, stopping]);
      if (outcome === undefined) break;
      if ('caught' in outcome) {
        if (!isReportable(outcome.caught)) throw outcome.caught;
        error = (outcome.caught as Error).message;
      } else {
        last = outcome.overview;
        error = undefined;
      }
      draw();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, options.intervalMs);
        }),
        stopping,
      ]);
      clearTimeout(timer);
    }
  } finally {
    options.signal.removeEventListener('abort', stop);
    stopResize();
    stopKeys();
    terminal.write(`${Ansi.showCursor}${Ansi.leaveAlternateScreen}`);
  }
}
