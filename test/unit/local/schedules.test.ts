import type { Invoker } from '../../../local/functions';
import { rateSeconds, startSchedules } from '../../../local/schedules';
import type { TemplateResource } from '../../../local/template';
import { localContext } from './local-context';

const FUNCTION_ARN = { 'Fn::GetAtt': ['SweeperFunction', 'Arn'] };
const rule = (properties: Record<string, unknown>): TemplateResource => ({
  Type: 'AWS::Events::Rule',
  Properties: { Targets: [{ Arn: FUNCTION_ARN, Id: 'Target0' }], ...properties },
});

function schedule(rules: Record<string, TemplateResource>, intervalSeconds?: number) {
  const ctx = localContext({ SweeperFunction: { Type: 'AWS::Lambda::Function' }, ...rules });
  const events: unknown[] = [];
  const named: string[] = [];
  const fn: Invoker = {
    invoke: async (event) => {
      events.push(event);
      return { ok: true, result: null };
    },
  };
  const started = startSchedules(
    ctx,
    (arn, where) => {
      named.push(`${where} → ${arn}`);
      return fn;
    },
    { intervalSeconds, log: () => {} },
  );
  return { ...started, events, named };
}

describe('Function: rateSeconds', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    ['rate(2 hours)', 7200],
    ['rate(1 day)', 86_400],
  ])('reads %s as %i seconds', (expression, seconds) => {
    expect(rateSeconds(expression)).toBe(seconds);
  });

  it('reads no rate from a cron() expression', () => {
    expect(rateSeconds('cron(0 12 * * ? *)')).toBeUndefined();
  });
});

describe('Function: startSchedules', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it("invokes each target with a Scheduled Event at the rule's rate", async () => {
    // Prepare
    const s = schedule({ SweepRule: rule({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' }) });

    // Act
    await jest.advanceTimersByTimeAsync(299_000);
    const before = s.events.length;
    await jest.advanceTimersByTimeAsync(1_000);
    s.stop();

    // Assess
    expect(before).toBe(0);
    expect(s.named).toEqual([
      'SweepRule → arn:aws:lambda:us-east-1:000000000000:function:Local-SweeperFunction',
    ]);
    expect(s.events).toEqual([
      {
        version: '0',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        time: '2026-01-01T00:05:00.000Z',
        resources: ['arn:aws:events:us-east-1:000000000000:rule/SweepRule'],
        detail: {},
      },
    ]);
  });

  it('runs every rule at intervalSeconds when given, instead of its rate', async () => {
    const s = schedule({ SweepRule: rule({ ScheduleExpression: 'rate(1 hour)' }) }, 2);
    await jest.advanceTimersByTimeAsync(6_000);
    s.stop();
    expect(s.events).toHaveLength(3);
  });

  it('invokes nothing once stopped', async () => {
    const s = schedule({ SweepRule: rule({ ScheduleExpression: 'rate(1 minute)' }) });
    s.stop();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(s.events).toEqual([]);
  });

  it('reports a cron() rule and a disabled rule as not emulated, and runs neither', async () => {
    const s = schedule({
      CronRule: rule({ ScheduleExpression: 'cron(0 12 * * ? *)' }),
      OffRule: rule({ ScheduleExpression: 'rate(1 minute)', State: 'DISABLED' }),
    });
    await jest.advanceTimersByTimeAsync(120_000);
    s.stop();
    expect(s.notEmulated).toEqual([
      'CronRule (only enabled rate() schedules run locally)',
      'OffRule (only enabled rate() schedules run locally)',
    ]);
    expect(s.events).toEqual([]);
  });
});
