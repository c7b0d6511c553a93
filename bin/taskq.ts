/**
 * Entry point of the `taskq` CLI (bin/taskq runs it through tsx in this repository, compiled once installed).
 * All logic is in cli/.
 * Requests go out unsigned: fine for the local runtime; an IAM-authorized stack needs a signing
 * `fetch` passed in `deps` (see cli/api-client.ts, `FetchLike`).
 */

import { runCli } from '../cli/program';
import { lineProgress, spinnerProgress, terminalProgressBar } from '../cli/progress';
import { processTerminal } from '../cli/top/terminal';

// A terminal that reports no width (some pseudo-terminals) would make nanospinner's redraw loop forever.
const interactive =
  process.stdout.isTTY === true && process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
// `taskq top` redraws a screen only when both stdin and stdout are a terminal.
const terminal = processTerminal();
const write = (stream: NodeJS.WriteStream) => (text: string) => {
  stream.write(text);
};

runCli(process.argv.slice(2), {
  stdout: write(process.stdout),
  stderr: write(process.stderr),
  env: process.env,
  cwd: process.cwd(),
  progress: interactive ? spinnerProgress(process.stderr) : lineProgress(write(process.stderr)),
  ...(interactive && { progressBar: terminalProgressBar(process.stderr) }),
  ...(terminal && { terminal }),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`taskq: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
