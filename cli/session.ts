/**
 * What every command gets: the resolved global options, an API client, output that honours `--json`,
 * and one place that turns errors into messages and exit codes.
 */
import type { Command } from 'commander';
import type { TaskView } from '../lambda/core/task';
import { ApiError, type FetchLike, NetworkError, TaskQueueClient } from './api-client';
import { CommandError, UsageError } from './errors';
import { formatError } from './format';
import {
  lineProgress,
  lineProgressBar,
  type Progress,
  type ProgressBar,
  type ProgressBarFactory,
  type ProgressFactory,
  silentProgress,
  silentProgressBar,
} from './progress';
import type { TopTerminal } from './top/screen';
import type { PollOptions } from './wait';

/** Exit codes: the task (or request) succeeded, it failed or the API refused, the command line was wrong. */
export const ExitCode = { Success: 0, Failure: 1, Usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where the local runtime (`npm start`) serves the task API. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';
export const ENDPOINT_ENV = 'TASKQ_ENDPOINT';

/** The outside world, injected so the whole CLI runs in-process under test. */
export interface CliDeps {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that `--payload @file` paths are relative to. */
  readonly cwd: string;
  /**
   * Performs the API requests; inject a signing fetch for an IAM-authorized stack (see `FetchLike`).
   * @default globalThis.fetch
   */
  readonly fetch?: FetchLike;
  /** @default - the defaults of `waitForTask` */
  readonly poll?: PollOptions;
  /**
   * Shows waiting in human mode; `--json` always waits silently.
   * @default - one line on stderr per change of status
   */
  readonly progress?: ProgressFactory;
  /**
   * Shows a count towards a total (`dlq redrive`) in human mode; `--json` shows nothing.
   * @default - one line on stderr per change of the count
   */
  readonly progressBar?: ProgressBarFactory;
  /** @default - the system clock */
  readonly now?: () => Date;
  /** Stops a command that runs until stopped (`events tail`). @default - SIGINT or SIGTERM of this process */
  readonly signal?: AbortSignal;
  /**
   * The terminal `top` redraws its screen on and reads `q` from.
   * @default - none: `top` prints one frame and exits
   */
  readonly terminal?: TopTerminal;
}

export interface Session {
  readonly endpoint: string;
  readonly json: boolean;
  readonly client: TaskQueueClient;
  readonly deps: CliDeps;
  /** The command's result: `document` as JSON under `--json` (the run's one document), else `human`. */
  print(document: unknown, human: string): void;
  progress(text: string): Progress;
  progressBar(label: string, total: number): ProgressBar;
  now(): Date;
}

export type CommandHandler = (session: Session, command: Command) => Promise<ExitCode>;
/** Wraps a handler as a commander action; see program.ts. */
export type ActionFactory = (handler: CommandHandler) => (...args: unknown[]) => Promise<void>;

/** A finished task's verdict: only FAILED and CANCELLED are failures; a task still going is not. */
export function exitCodeFor(task: Pick<TaskView, 'status'>): ExitCode {
  return task.status === 'FAILED' || task.status === 'CANCELLED' ? ExitCode.Failure : ExitCode.Success;
}

/** Checks `--endpoint` / `TASKQ_ENDPOINT`: an absolute http(s) URL. */
export function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`endpoint must be an http(s) URL, but '${value}' was given`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`endpoint must be an http(s) URL, but '${value}' was given`);
  return value;
}

function createSession(command: Command, deps: CliDeps): Session {
  const globals = command.optsWithGlobals<{ endpoint?: string; json?: boolean }>();
  const json = globals.json === true;
  const endpoint = parseEndpoint(globals.endpoint ?? deps.env[ENDPOINT_ENV] ?? DEFAULT_ENDPOINT);
  return {
    endpoint,
    json,
    deps,
    client: new TaskQueueClient({ endpoint, ...(deps.fetch && { fetch: deps.fetch }) }),
    print: (document, human) => deps.stdout(json ? `${JSON.stringify(document, null, 2)}\n` : human),
    progress: (text) => (json ? silentProgress : (deps.progress ?? lineProgress(deps.stderr)))(text),
    progressBar: (label, total) =>
      (json ? silentProgressBar : (deps.progressBar ?? lineProgressBar(deps.stderr)))(label, total),
    now: () => (deps.now ? deps.now() : new Date()),
  };
}

function report(error: unknown, json: boolean, deps: CliDeps): ExitCode {
  if (error instanceof UsageError) {
    deps.stderr(`error: ${error.message}\n`);
    return ExitCode.Usage;
  }
  if (error instanceof ApiError || error instanceof NetworkError || error instanceof CommandError) {
    const status = error instanceof ApiError ? error.status : undefined;
    const details = error instanceof ApiError ? error.details : undefined;
    if (json) {
      const body = {
        code: error.code,
        message: error.message,
        ...(status && { status }),
        ...(details && { details }),
      };
      deps.stdout(`${JSON.stringify({ error: body }, null, 2)}\n`);
    } else {
      deps.stderr(
        formatError(error.code, status ? `${error.message} (HTTP ${status})` : error.message, details),
      );
    }
    return ExitCode.Failure;
  }
  throw error;
}

/**
 * The signal that stops a command that runs until stopped (`events tail`, `top`): the deps' (tests), else the
 * process's SIGINT or SIGTERM. Call `dispose` when the command ends.
 */
export function stopSignal(deps: CliDeps): { signal: AbortSignal; dispose: () => void } {
  if (deps.signal) return { signal: deps.signal, dispose: () => {} };
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/**
 * Makes the action factory for one run. Each action records its exit code through `setExitCode`;
 * errors the CLI understands are reported here, anything else is a bug and propagates.
 */
export function actionFactory(deps: CliDeps, setExitCode: (code: ExitCode) => void): ActionFactory {
  return (handler) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      let json = false;
      try {
        json = command.optsWithGlobals<{ json?: boolean }>().json === true;
        setExitCode(await handler(createSession(command, deps), command));
      } catch (error) {
        setExitCode(report(error, json, deps));
      }
    };
}
