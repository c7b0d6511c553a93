/**
 * `taskq top`: the dashboard's first screen in the terminal, per tier and per agent type, redrawn every second
 * until `q`. Against the local runtime (`--endpoint`, its dashboard data API) or a deployed stack (`--stack NAME`,
 * SQS and CloudWatch). With stdout not a terminal, or `--once`, it prints one frame and exits; `--json` prints
 * the figures as one JSON document.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors';
import { type ActionFactory, ExitCode, type Session, stopSignal } from '../session';
import { LocalOverviewSource } from '../top/local-source';
import { renderFrame } from '../top/render';
import { runScreen } from '../top/screen';
import type { OverviewSource } from '../top/source';

interface TopOptions {
  readonly stack?: string;
  readonly endpoint?: string;
  readonly once?: boolean;
}

/** How often the screen reads the figures again. */
const REFRESH_MS = 1000;
/** The width of a frame printed to something that is not a terminal. */
const PRINT_WIDTH = 120;

async function openSource(session: Session, options: TopOptions): Promise<OverviewSource> {
  if (options.stack !== undefined) {
    if (options.endpoint !== undefined)
      throw new UsageError(
        'give either --stack (a deployed stack) or --endpoint (the local runtime), not both',
      );
    // Loaded on demand: the CloudWatch client is only needed for a deployed stack.
    const { openDeployedSource } = await import('../top/deployed-source');
    return openDeployedSource(options.stack);
  }
  return new LocalOverviewSource(session.endpoint, session.deps.fetch);
}

export function registerTop(program: Command, action: ActionFactory): void {
  program
    .command('top')
    .description(
      'watch the queue: per tier the visible, in-flight and delayed messages, produce and consume rates, lag and ' +
        'DLQ depth; per agent type the running tasks, succeeded and failed per minute, p50/p95 latency and ' +
        'limits. Refreshes every second; q quits',
    )
    .option(
      '--stack <name>',
      'a deployed stack: SQS queue attributes and CloudWatch metrics (default AWS credentials and region); ' +
        'without it, the local runtime at --endpoint',
    )
    .option('--once', 'print one frame and exit (what it does anyway when stdout is not a terminal)')
    .action(
      action(async (session, command) => {
        const options = command.optsWithGlobals<TopOptions>();
        const source = await openSource(session, options);
        try {
          const terminal = session.deps.terminal;
          if (session.json || options.once === true || !terminal) {
            const overview = await source.read();
            const columns = terminal?.size().columns;
            const frame = renderFrame(overview, {
              width: columns && columns > 0 ? columns : PRINT_WIDTH,
              source: source.description,
            });
            session.print(overview, `${frame.map((line) => line.trimEnd()).join('\n')}\n`);
            return ExitCode.Success;
          }
          const { signal, dispose } = stopSignal(session.deps);
          try {
            await runScreen(source, terminal, { intervalMs: REFRESH_MS, signal });
          } finally {
            dispose();
          }
          return ExitCode.Success;
        } finally {
          source.close?.();
        }
      }),
    );
}
