/**
 * Structured JSON log lines: one object a line, `level`, `message` and `timestamp` (ISO 8601) first, then the
 * caller's fields. Payloads and results are never logged: only ids, types, tiers, attempts and error codes.
 *
 * Written here rather than with Powertools Logger, because every byte of a line is paid for once per task
 * (CloudWatch Logs ingestion, $0.50 per GB): Powertools adds `service` and `sampling_rate` to every line, which
 * say nothing that the log group does not, and writes each line on its own. This logger writes what a task's
 * line needs and no more, and gathers an invocation's INFO and DEBUG lines into one write (`flush`, which every
 * handler calls when its invocation ends). WARN and ERROR lines are written at once, with whatever is gathered,
 * so that an invocation that crashes or times out after a failure still leaves the failure in its log; its
 * INFO lines are then lost with it (its tasks come back, and log again, on their next delivery).
 */
import { EnvName } from '../contract/environment';
import { requireEnv } from './env';

/** The levels, least severe first. `SILENT` writes nothing (unit tests of handlers). */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
type LineLevel = Exclude<LogLevel, 'SILENT'>;

/** The fields of a line, besides its level, message and timestamp. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A gathered invocation's lines are written early past this many characters, so that a long batch holds little. */
const MAX_PENDING_CHARS = 64 * 1024;

/** What an Error becomes in a line: JSON.stringify would write `{}`. Its cause is kept, as deep as it goes. */
function errorFields(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    ...(error.stack !== undefined && { stack: error.stack }),
    ...(error.cause instanceof Error && { cause: errorFields(error.cause) }),
  };
}

const replaceErrors = (_key: string, value: unknown) => (value instanceof Error ? errorFields(value) : value);

export class Logger {
  private readonly threshold: number;
  private pending = '';

  public constructor(
    level: LogLevel,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
    private readonly now: () => Date = () => new Date(),
  ) {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  /** Whether a line of `level` would be written. */
  public enabled(level: LineLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.threshold;
  }

  public debug(message: string, fields?: LogFields): void {
    this.log('DEBUG', message, fields);
  }

  public info(message: string, fields?: LogFields): void {
    this.log('INFO', message, fields);
  }

  public warn(message: string, fields?: LogFields): void {
    this.log('WARN', message, fields);
  }

  public error(message: string, fields?: LogFields): void {
    this.log('ERROR', message, fields);
  }

  /** A line written as it is (an EMF document), whatever the level, with the next flush. Passable as it is. */
  public readonly raw = (line: string): void => {
    this.gather(line);
  };

  /** Writes the gathered lines in one write. Call at the end of every invocation. */
  public flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.write(text);
  }

  private log(level: LineLevel, message: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    this.gather(this.line(level, message, fields));
    if (level === 'WARN' || level === 'ERROR') this.flush();
  }

  private line(level: LineLevel, message: string, fields: LogFields | undefined): string {
    const timestamp = this.now().toISOString();
    // A field never replaces the line's own three: they lead the line and hold their values.
    const entry: Record<string, unknown> = { level, message, timestamp, ...fields };
    Object.assign(entry, { level, message, timestamp });
    return JSON.stringify(entry, replaceErrors);
  }

  private gather(line: string): void {
    this.pending += `${line}\n`;
    if (this.pending.length > MAX_PENDING_CHARS) this.flush();
  }
}

/** The level the construct set (`logLevel`), checked: a wrong value is a deployment bug. */
export function logLevelFromEnv(): LogLevel {
  const value = requireEnv(EnvName.LogLevel);
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new Error(
      `${EnvName.LogLevel} environment variable must be one of ${LOG_LEVELS.join(', ')}, but '${value}' was set`,
    );
  }
  return value as LogLevel;
}

/** The function's logger, at the level its construct set. */
export const logger = new Logger(logLevelFromEnv());
