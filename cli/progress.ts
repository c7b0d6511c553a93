/**
 * How a command shows that it is waiting: a spinner on a terminal, one line per change of status
 * in a log, nothing at all under `--json`.
 */
import { Presets, SingleBar } from 'cli-progress';
import { createSpinner } from 'nanospinner';

export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
}

export type ProgressFactory = (text: string) => Progress;

/** A spinner on `stream`. Use it only on a terminal: nanospinner animates only when stdout is one. */
export function spinnerProgress(stream: NodeJS.WriteStream): ProgressFactory {
  return (text) => {
    const spinner = createSpinner(text, { stream }).start();
    return {
      update: (next) => {
        spinner.update({ text: next });
      },
      succeed: (next) => {
        spinner.success({ text: next });
      },
      fail: (next) => {
        spinner.error({ text: next });
      },
    };
  };
}

/** For logs and pipes: writes a line whenever the text changes, so CI output stays readable. */
export function lineProgress(write: (text: string) => void): ProgressFactory {
  return (text) => {
    let last = text;
    write(`${text}\n`);
    const line = (next: string) => {
      if (next !== last) write(`${next}\n`);
      last = next;
    };
    return { update: line, succeed: line, fail: line };
  };
}

export const silentProgress: ProgressFactory = () => ({
  update: () => {},
  succeed: () => {},
  fail: () => {},
});

/** A count towards a total, e.g. messages moved out of a DLQ. The total may change while it runs. */
export interface ProgressBar {
  update(done: number, total: number): void;
  /** Ends the bar and prints `text` on its own line. */
  stop(text: string): void;
}

export type ProgressBarFactory = (label: string, total: number) => ProgressBar;

/** A `cli-progress` bar on `stream`. Use it only on a terminal: the bar redraws in place. */
export function terminalProgressBar(stream: NodeJS.WriteStream): ProgressBarFactory {
  return (label, total) => {
    const bar = new SingleBar(
      {
        stream,
        hideCursor: true,
        format: `${label} [{bar}] {value}/{total} | {percentage}% | {eta_formatted}`,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      update: (done, nextTotal) => {
        bar.setTotal(nextTotal);
        bar.update(done);
      },
      stop: (text) => {
        bar.stop();
        stream.write(`${text}\n`);
      },
    };
  };
}

/** For logs and pipes: a line whenever the count changes. */
export function lineProgressBar(write: (text: string) => void): ProgressBarFactory {
  return (label, total) => {
    let last = `${label}: 0/${total}`;
    write(`${last}\n`);
    return {
      update: (done, nextTotal) => {
        const line = `${label}: ${done}/${nextTotal}`;
        if (line !== last) write(`${line}\n`);
        last = line;
      },
      stop: (text) => write(`${text}\n`),
    };
  };
}

export const silentProgressBar: ProgressBarFactory = () => ({ update: () => {}, stop: () => {} });
