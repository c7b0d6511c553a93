/**
 * The one port behind `taskq top`: something that reads the overview on demand. The local runtime's dashboard
 * API is one source (local-source.ts), a deployed stack's SQS and CloudWatch figures another (deployed-source.ts);
 * the screen (screen.ts) and the renderer (render.ts) know neither.
 */
import type { Overview } from './overview';

export interface OverviewSource {
  /** For the header and messages, e.g. `the local runtime at http://127.0.0.1:3000` or `stack prod-queue`. */
  readonly description: string;
  /** Reads the figures now. Throws a CommandError (or NetworkError) the CLI can report. */
  read(): Promise<Overview>;
  /** Frees what the source holds (SDK clients' sockets). @default - nothing to free */
  close?(): void;
}
