/**
 * The `taskq` program. Each command lives in commands/ and registers itself on the program (or on a
 * command group, such as `dlq`), so adding one is a file and a line below.
 */
import { Command, CommanderError, Option } from 'commander';
import { registerCancel } from './commands/cancel';
import { registerDlq } from './commands/dlq';
import { registerEvents } from './commands/events';
import { registerLocal } from './commands/local';
import { registerStatus } from './commands/status';
import { registerSubmit } from './commands/submit';
import { registerTop } from './commands/top';
import { registerWatch } from './commands/watch';
import {
  type ActionFactory,
  actionFactory,
  type CliDeps,
  DEFAULT_ENDPOINT,
  ENDPOINT_ENV,
  ExitCode,
} from './session';

export function buildProgram(deps: CliDeps, action: ActionFactory): Command {
  const program = new Command('taskq')
    .description(
      'Submit and follow tasks on an agent-task-queue API; inspect and redrive its dead letters; tail and replay its events; watch its queues; run a CDK app locally.',
    )
    .addOption(
      new Option('--endpoint <url>', `task API base URL (env ${ENDPOINT_ENV}; default ${DEFAULT_ENDPOINT})`),
    )
    .option('--json', 'machine output: one JSON document on stdout, no spinner')
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // Subcommands made with .command() inherit the output and exit settings above.
  for (const register of [
    registerSubmit,
    registerStatus,
    registerWatch,
    registerCancel,
    registerDlq,
    registerEvents,
    registerTop,
    registerLocal,
  ])
    register(program, action);
  return program;
}

/** Runs one command line (without `node` and the script) and resolves with the exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Success;
  const program = buildProgram(
    deps,
    actionFactory(deps, (code) => {
      exitCode = code;
    }),
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // Commander's own parse errors, and --help / --version, which exit 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Success : ExitCode.Usage;
    throw error;
  }
  return exitCode;
}
