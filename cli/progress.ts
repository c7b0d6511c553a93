/**
 * How a command shows that it is waiting: a spinner on a terminal, one line per change of status
 * in a log, nothing at all under `--json`.
 */
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
