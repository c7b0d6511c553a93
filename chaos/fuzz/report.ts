/** What a fuzz run found, and how it is shown. */

import type { StoreCounts } from './probe';
import type { FuzzRequest } from './request';

/** A request whose answer, or whose task's end, was not what it should be. */
export interface FuzzViolation {
  readonly kind: string;
  readonly problem: string;
  readonly request: string;
  /** The smallest failing request fast-check found from this one, when it was shrunk. */
  readonly shrunk?: string;
}

/** What a run sent, what came back, and what was wrong. */
export interface FuzzReport {
  readonly seed: number;
  readonly runs: number;
  /** Every request sent, including the ones sent while shrinking. */
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byKind: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Valid tasks accepted (202), each checked once it finished. */
  readonly accepted: number;
  /** The running async task the callback requests aimed at (one task item more in `after`), cancelled at the end. */
  readonly callbackAnchor: string;
  /** Messages in the two tier queues and items in the task table, before and after. */
  readonly before: StoreCounts;
  readonly after: StoreCounts;
  readonly violations: readonly FuzzViolation[];
}

/** A short, printable form of a request for the report: long runs of one character are collapsed. */
export function requestText(req: FuzzRequest): string {
  const squeeze = (s: string) =>
    s.replace(/(.)\1{19,}/gsu, (run, c: string) => `${c.repeat(3)}…(${[...run].length}×)`).slice(0, 600);
  const body =
    req.body === undefined
      ? ''
      : ` body(${req.body.length} B)=${JSON.stringify(squeeze(req.body.toString('latin1')))}`;
  const headers = req.headers.map(([k, v]) => `${k}: ${squeeze(v)}`).join(' | ');
  return `[${req.kind}] ${req.method} ${squeeze(req.path)} {${headers}}${body}`;
}

/** The report as a table of counts, then the first 20 violations. */
export function formatFuzzReport(report: FuzzReport): string {
  const rows: Array<[string, string | number]> = [
    ['fuzz seed', report.seed],
    ['generated requests', report.runs],
    ['requests sent (with shrinking)', report.requests],
    ...Object.entries(report.byStatus)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]): [string, number] => [`  status ${s}`, n]),
    ...Object.entries(report.byKind)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, statuses]): [string, string] => [
        `  ${kind}`,
        Object.entries(statuses)
          .map(([s, n]) => `${s}:${n}`)
          .join(' '),
      ]),
    ['queued messages before → after', `${report.before.queuedMessages} → ${report.after.queuedMessages}`],
    ['task items before → after', `${report.before.taskItems} → ${report.after.taskItems}`],
    ['valid tasks accepted and checked', report.accepted],
    ['callback anchor (RUNNING, then cancelled)', report.callbackAnchor],
    ['violations', report.violations.length],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v).padStart(8)}`);
  const shown = report.violations
    .slice(0, 20)
    .flatMap((v) => [
      `VIOLATION ${v.problem}`,
      `  request: ${v.request}`,
      ...(v.shrunk ? [`  shrunk:  ${v.shrunk}`] : []),
    ]);
  return [...lines, ...shown].join('\n');
}
