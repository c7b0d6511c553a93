/**
 * Emulates EventBridge scheduled rules (`AWS::Events::Rule` with a `rate(...)` ScheduleExpression) whose
 * targets are functions of the template: each target is invoked with a Scheduled Event at that rate.
 */
import type { IntrinsicContext } from './intrinsics';
import { resolveIntrinsics } from './intrinsics';
import type { LambdaPool } from './lambda-pool';
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

export function startSchedules(
  ctx: IntrinsicContext,
  poolFor: (arn: string, where: string) => LambdaPool,
  options: { intervalSeconds?: number; log: (line: string) => void; notEmulated: string[] },
): { stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::Events::Rule')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, ctx) as {
      ScheduleExpression?: string;
      State?: string;
      Targets?: Array<{ Arn: string }>;
    };
    const rate = props.ScheduleExpression ? rateSeconds(props.ScheduleExpression) : undefined;
    if (rate === undefined || props.State === 'DISABLED') {
      options.notEmulated.push(`${id} (only enabled rate() schedules run locally)`);
      continue;
    }
    for (const target of props.Targets ?? []) {
      const pool = poolFor(target.Arn, id);
      const seconds = options.intervalSeconds ?? rate;
      const timer = setInterval(() => {
        void pool
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
  return { stop: () => timers.forEach(clearInterval) };
}
