/**
 * Emulates EventBridge scheduled rules (`AWS::Events::Rule` with a `rate(...)` ScheduleExpression) whose
 * targets are functions of the template: each target is invoked with a Scheduled Event at that rate.
 */
import type { FunctionLookup } from './functions';
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import { resourcesOfType } from './template';

const UNIT_SECONDS: Record<string, number> = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86_400,
  days: 86_400,
};

/** `rate(5 minutes)` → 300; undefined for cron() and anything else. */
export function rateSeconds(expression: string): number | undefined {
  const match = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(expression.trim());
  return match ? Number(match[1]) * UNIT_SECONDS[match[2]!]! : undefined;
}

export interface ScheduleOptions {
  /** Run every rule at this interval instead of its own rate. @default - the rule's rate */
  readonly intervalSeconds?: number;
  readonly log: (line: string) => void;
}

/** Starts a timer per target of each enabled rate() rule; other rules are reported as not emulated. */
export function startSchedules(
  ctx: IntrinsicContext,
  functions: FunctionLookup,
  options: ScheduleOptions,
): { readonly notEmulated: readonly string[]; stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  const notEmulated: string[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Events::Rule')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as {
      ScheduleExpression?: string;
      State?: string;
      Targets?: Array<{ Arn: string }>;
    };
    const rate = props.ScheduleExpression ? rateSeconds(props.ScheduleExpression) : undefined;
    if (rate === undefined || props.State === 'DISABLED') {
      notEmulated.push(`${id} (only enabled rate() schedules run locally)`);
      continue;
    }
    for (const target of props.Targets ?? []) {
      const fn = functions(target.Arn, id);
      const seconds = options.intervalSeconds ?? rate;
      const timer = setInterval(() => {
        void fn
          .invoke({
            version: '0',
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            time: new Date().toISOString(),
            resources: [`arn:aws:events:${ctx.region}:${ctx.accountId}:rule/${id}`],
            detail: {},
          })
          .then((r) => {
            if (!r.ok) options.log(`[${id}] scheduled invocation failed: ${r.error.errorMessage}`);
          });
      }, seconds * 1000);
      timer.unref();
      timers.push(timer);
    }
  }
  return {
    notEmulated,
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
