/**
 * Figure 8, the limits of issue 12, measured through the local runtime against the demo type `limited` (2 at once,
 * 10 starts per 1 s) and a per-tenant cap:
 *
 * 1. throughput: a burst of `limited` tasks, the pace their calls start at the agent against what the limits allow;
 * 2. what a waiting task costs: SQS and DynamoDB requests (and consumer invocations, Lambda ms and log bytes) per
 *    waiting task per minute, while two long tasks hold both slots and W tasks wait;
 * 3. how soon a waiting task starts after a slot frees: from a holder's answer to the next call, both at the agent;
 * 4. a quiet tenant's queue wait while another floods the tier, with the tenant cap against without it;
 * 5. the limiter's own requests per limited task, against the same tasks of an agent without limits.
 *
 * It runs in a runtime of its own (its own synth cache): its agents are this benchmark's server
 * (limit-agents.ts), which times every `limited` and `sleep` call at the agent and can end a call on demand; the
 * local configuration keeps the demo types' limits with `agentsUrl` set. The agent timeout is raised so that a
 * holder can keep its slot for as long as a measurement lasts.
 */
import os from 'node:os';
import * as path from 'node:path';
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULTS } from '../lambda/contract/environment';
import { RATE_WINDOW_MARGIN_MS } from '../lambda/core/limits';
import type { Invocation } from '../local/lambda-pool';
import { dynamoItemBytes, PRICES_USD, platformLogBytesPerInvocation } from './cost';
import { type AgentCall, type LimitAgents, startLimitAgents } from './limit-agents';
import { runConcurrent, sleep, waitFor } from './load';
import { BenchSession } from './session';
import { median, percentile, round } from './stats';

export interface LimitsSizes {
  /** Bursts of `limited` tasks, each with its agents' `payload.ms`. */
  readonly throughput: ReadonlyArray<{ readonly tasks: number; readonly ms: number }>;
  /** Waiting tasks per measurement of their cost, and how long each is measured. */
  readonly waiting: { readonly waiters: readonly number[]; readonly windowSeconds: number };
  /** Waiting tasks behind the two holders, and repetitions of each hand-off measurement. */
  readonly handOff: { readonly waiters: readonly number[]; readonly reps: number };
  /** The flood of one tenant, and the quiet tenant's trickle (one task a second). */
  readonly tenants: { readonly flood: number; readonly trickle: number };
  /** Tasks per cell of the per-task cost. */
  readonly perTask: number;
}

/** The tenant cap the figure's runtime is started with. */
export const TENANT_CAP = 4;
/** Above any holder's call, so that the agent never times out while a figure holds its slot. */
const AGENT_TIMEOUT_SECONDS = 150;
const CONSUMER_TIMEOUT_SECONDS = 180;
/** A holder's call: ended by the figure (limit-agents.ts `finish`) long before this. */
const HOLD_MS = 140_000;
/** Waiters' calls, and the per-task cells' (short, so that the pace of submission, not the limit, sets the rate). */
const WAITER_MS = 200;
const PER_TASK_MS = 50;
/** Submissions of the per-task cells: one every this many ms, under both of `limited`'s limits. */
const PER_TASK_PACE_MS = 250;
/** Until a waiter's delays have reached the wake-up interval: 1 + 2 + 4 s of growing delays, and room. */
const SETTLE_SECONDS = 15;
/** The tenant flood's `sleep` tasks: long enough that, without a cap, the flood outlasts the quiet tenant's trickle. */
const FLOOD_SLEEP_MS = 2000;

export interface LimitSettings {
  readonly maxConcurrency: number;
  readonly rateRequests: number;
  readonly ratePerSeconds: number;
  readonly wakeUpSeconds: number;
  readonly tenantMaxConcurrency: number;
  readonly rateWindowMarginMs: number;
  readonly consumerMemoryMB: number;
  readonly workersPerFunction: number;
  /** How long waiters wait before a measurement starts (8.2, and the least of 8.3). */
  readonly settleSeconds: number;
  readonly floodSleepMs: number;
  readonly perTaskMs: number;
  readonly perTaskPaceMs: number;
}

export interface ThroughputRow {
  readonly tasks: number;
  readonly agentMs: number;
  readonly submitSeconds: number;
  /** First call's start to last call's end, at the agent. */
  readonly wallSeconds: number;
  /** (tasks − 1) ÷ (last start − first start): the pace calls started at. */
  readonly startsPerSecond: number;
  /** min(requests ÷ per, maxConcurrency ÷ agent seconds). */
  readonly allowedPerSecond: number;
  /** The same with a start counted for per + the margin: requests ÷ (per + margin). */
  readonly ceilingPerSecond: number;
  readonly ratioToAllowed: number;
  readonly ratioToCeiling: number;
  readonly maxConcurrencySeen: number;
  /** The most calls that started within any `per` at the agent, and the most claims (records' started_at). */
  readonly maxStartsPerWindow: number;
  readonly maxClaimsPerWindow: number;
  /** From the claim (record's started_at) to the call's start at the agent: median, p99 and the spread p99 − p1. */
  readonly claimToCallMs: { readonly p50: number; readonly p99: number; readonly spread: number };
  /** Σ call durations ÷ (maxConcurrency × wall): how much of the slots' time the agent worked. */
  readonly slotUse: number;
  /** Median of finished_at − started_at (claim to the result's write), and of the agent's own call time. */
  readonly recordRunMsMedian: number;
  readonly agentCallMsMedian: number;
  /** Waits (re-sent messages) per task, and queue wait (created_at → started_at). */
  readonly waitsPerTask: number;
  readonly queueWaitP50Seconds: number;
  readonly queueWaitMaxSeconds: number;
  /** Re-sends per minute of waiting (Σ of every task's created_at → started_at). */
  readonly wakesPerWaitingMinute: number;
  readonly attemptsAboveOne: number;
  readonly deadLettered: number;
  readonly notSucceeded: number;
  /**
   * Limiter writes answered 400 (a lost compare-and-set) ÷ limiter writes (a release's UpdateItem counts as a write;
   * one answered 400 found nothing to give back, which is not a lost race).
   */
  readonly limiterWrites: number;
  readonly limiterLostWrites: number;
  readonly consumerRequestsPerTask: Record<string, number>;
  /** Consumer GB-s per task over the burst (billed ms × memory): the waits inside invocations included. */
  readonly consumerGbSecondsPerTask?: number;
  /** The machine's 1-minute load average when the burst started and when its last call ended. */
  readonly loadAverage1m?: readonly number[];
}

export interface WaitingCostRow {
  readonly waiters: number;
  readonly windowSeconds: number;
  /** Requests per waiting task per minute, keyed as in the report (`dynamodb:GetItem (task record)` …). */
  readonly perWaitingMinute: Record<string, number>;
  /** Re-sends per waiting task per minute; its inverse is the mean time between two asks. */
  readonly wakesPerMinute: number;
  readonly secondsBetweenWakes: number;
  /** Messages per consumer invocation (its batch) in the window. */
  readonly messagesPerInvocation: number;
  readonly consumerInvocationsPerMinute: number;
  readonly consumerMsPerMinute: number;
  readonly logBytesPerMinute: number;
  /** Waiters that started during the window (must be 0: the holders kept both slots). */
  readonly startedInWindow: number;
  readonly usdPerHour: {
    readonly sqs: number;
    readonly dynamodb: number;
    readonly lambda: number;
    readonly logs: number;
    readonly total: number;
  };
}

export interface HandOffRow {
  readonly waiters: number;
  /** A holder's answer → the next call's start, at the agent, in ms, one per repetition. */
  readonly delaysMs: number[];
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

export interface TenantRow {
  readonly design: string;
  readonly capped: boolean;
  readonly flood: number;
  readonly trickle: number;
  readonly quietP50Ms: number;
  readonly quietP90Ms: number;
  readonly quietP99Ms: number;
  readonly quietMaxMs: number;
  /** The most of the flooding tenant's calls open at once, at the agent. */
  readonly floodMaxConcurrency: number;
  /** Flood tasks started by the time the quiet tenant's last task started. */
  readonly floodStarted: number;
}

export interface PerTaskCell {
  readonly cell: string;
  readonly tasks: number;
  /** Requests per task, by table (`task`, `limiter`) and operation, and the consumer's SQS calls. */
  readonly perTask: Record<string, number>;
  readonly waitsPerTask: number;
}

export interface PerLimitedTaskCost {
  readonly cells: PerTaskCell[];
  /** The limiter's requests per task (the limited cells less the cell without limits). */
  readonly extraPerTask: ReadonlyArray<{
    readonly cell: string;
    readonly requests: Record<string, number>;
    readonly readUnits: number;
    readonly writeUnits: number;
    readonly usdPerMillion: number;
  }>;
  /** The largest counter item seen (bytes, DynamoDB's measure): its units are 1 while it stays ≤ 1 KB. */
  readonly counterItemBytesMax: number;
}

export interface LimitsResult {
  readonly settings: LimitSettings;
  readonly throughput: ThroughputRow[];
  readonly waiting: WaitingCostRow[];
  readonly handOff: HandOffRow[];
  readonly tenants: TenantRow[];
  readonly perTask?: PerLimitedTaskCost;
  readonly startedAt: string;
  readonly loadAverageBefore: readonly number[];
}

const perUnit = (calls: Record<string, number>, units: number, digits = 3): Record<string, number> =>
  Object.fromEntries(
    Object.entries(calls)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => [k, round(n / Math.max(units, 1e-9), digits)]),
  );

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - (before[k] ?? 0)]));

/** The most intervals open at once. */
function maxOverlap(intervals: ReadonlyArray<readonly [number, number]>): number {
  const edges = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  // An end before a start at the same ms: the agent answered one call before it took the next.
  edges.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) {
    open += d!;
    most = Math.max(most, open);
  }
  return most;
}

/** The most starts within any interval of `windowMs` (half open, as a sliding window of that length). */
function maxStartsInWindow(starts: readonly number[], windowMs: number): number {
  const s = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < s.length; j++) {
    while (s[j]! - s[i]! >= windowMs) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

/**
 * @param options.workers execution environments per function; by default the low tier's maximum concurrency on AWS
 *   (10), so that a tier's running tasks leave it as many invocations as Lambda would: with the runtime's own 4,
 *   four capped tenant tasks would take every low consumer locally, which no AWS tier does.
 */
export async function limits(options: {
  sizes: LimitsSizes;
  workers?: number;
  progress: (line: string) => void;
}): Promise<LimitsResult> {
  const { sizes, progress } = options;
  const workers = options.workers ?? DEFAULTS.maxConcurrency.low;
  const startedAt = new Date().toISOString();
  const loadAverageBefore = os.loadavg().map((l) => round(l, 2));
  const agents: LimitAgents = await startLimitAgents();
  const invocations: Invocation[] = [];
  let recording = false;
  let session: BenchSession | undefined;
  try {
    session = await BenchSession.start({
      outdir: path.join(__dirname, '..', 'cdk.bench-limits.out'),
      agentsUrl: agents.url,
      tenantMaxConcurrency: TENANT_CAP,
      timeouts: { agentSeconds: AGENT_TIMEOUT_SECONDS, consumerSeconds: CONSUMER_TIMEOUT_SECONDS },
      maxWorkersPerFunction: workers,
      onInvocation: (invocation) => {
        if (recording) invocations.push(invocation);
      },
    });
    const s = session;
    progress(`  runtime ready in ${round(s.startupMs / 1000, 1)} s (agents ${agents.url})`);
    const limited = s.runtime.agentLimits.limited;
    if (limited?.maxConcurrency === undefined || !limited.rateLimit) {
      throw new Error('the local configuration gives `limited` no concurrency and rate limit');
    }
    const consumers = new Set(s.functions.consumer);
    const cut = (id: string) => id.slice(0, 40);
    /** Whether the proxy's function key (a logical id cut at 40 characters) is one of the consumers. */
    const isConsumer = (fn: string) => [...consumers].some((id) => cut(id) === fn);
    const settings: LimitSettings = {
      maxConcurrency: limited.maxConcurrency,
      rateRequests: limited.rateLimit.requests,
      ratePerSeconds: limited.rateLimit.per,
      wakeUpSeconds: DEFAULTS.limitWakeUpSeconds,
      tenantMaxConcurrency: TENANT_CAP,
      rateWindowMarginMs: RATE_WINDOW_MARGIN_MS,
      consumerMemoryMB: s.memoryMB(s.functions.consumer[0]!),
      workersPerFunction: workers,
      settleSeconds: SETTLE_SECONDS,
      floodSleepMs: FLOOD_SLEEP_MS,
      perTaskMs: PER_TASK_MS,
      perTaskPaceMs: PER_TASK_PACE_MS,
    };
    const tables = (await s.raw.dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
    const limiterTable = tables.find((t) => t !== s.tableName && /limit/i.test(t));
    if (!limiterTable) throw new Error(`no limiter table among ${tables.join(', ')}`);
    const tableLabel = (t: string) => (t === s.tableName ? 'task' : t === limiterTable ? 'limiter' : t);

    /** The functions' consumer-side calls since the last reset: DynamoDB by table, SQS by operation. */
    const consumerCalls = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const [table, ops] of Object.entries(s.runtime.awsCallsByTable())) {
        for (const [op, n] of Object.entries(ops)) {
          // The task table's refused writes include the producer's (a consumer that created the record first).
          if (table === s.tableName && op.endsWith(':400')) continue;
          out[`dynamodb:${op} (${tableLabel(table)})`] = n;
        }
      }
      for (const [fn, calls] of Object.entries(s.runtime.awsCallsByFunction())) {
        if (!isConsumer(fn)) continue;
        for (const [op, n] of Object.entries(calls)) {
          if (op.startsWith('sqs:')) out[op] = (out[op] ?? 0) + n;
        }
      }
      return out;
    };
    /**
     * The messages the consumers sent again since the last `mark()`: a waiting task's re-sends, on their own
     * (SendMessage) or gathered in one SendMessageBatch per invocation (lambda/core/resend-batch.ts).
     */
    const resentSinceMark = (): number => {
      let n = 0;
      const entries = s.runtime.awsBatchEntriesByFunction();
      for (const [fn, calls] of Object.entries(s.runtime.awsCallsByFunction())) {
        if (!isConsumer(fn)) continue;
        n += (calls['sqs:SendMessage'] ?? 0) + (entries[fn] ?? 0);
      }
      return n;
    };
    /**
     * Starts counting: returns what the consumers asked of SQS and DynamoDB since, with the event sources' receives
     * that returned messages and their batch deletes (a waiting task's share of both).
     */
    const mark = () => {
      s.runtime.resetAwsCalls();
      const before = s.runtime.eventSourceCalls();
      return (): Record<string, number> => {
        const es = diff(s.runtime.eventSourceCalls(), before);
        return {
          ...consumerCalls(),
          'sqs:ReceiveMessage': (es['sqs:ReceiveMessage'] ?? 0) - (es['sqs:ReceiveMessage (empty)'] ?? 0),
          'sqs:DeleteMessageBatch': es['sqs:DeleteMessageBatch'] ?? 0,
        };
      };
    };
    /** The producer's writes are not the consumer's: the task table's PutItem comes from POST /tasks. */
    const withoutProducer = (calls: Record<string, number>, tasks: number): Record<string, number> => ({
      ...calls,
      'dynamodb:PutItem (task)': (calls['dynamodb:PutItem (task)'] ?? 0) - tasks,
    });

    const doneCalls = (type: 'limited' | 'sleep', ids: ReadonlySet<string>) =>
      agents.calls(type).filter((c) => c.endMs !== undefined && ids.has(c.taskId)).length;
    const waitCallsDone = async (type: 'limited' | 'sleep', ids: readonly string[], timeoutMs: number) => {
      const set = new Set(ids);
      await waitFor(
        `${ids.length} ${type} calls to end`,
        () => doneCalls(type, set) >= ids.length,
        timeoutMs,
        200,
        () => `${doneCalls(type, set)} ended; ${s.describeStatus()}`,
      );
    };
    const deadLettered = () =>
      s.runtime
        .status()
        .queues.filter((q) => q.label.endsWith('DeadLetterQueue'))
        .reduce((n, q) => n + q.depth, 0);

    // Warm-up: echo tasks bring every function to its pool of environments; a few limited tasks run the limiter's
    // code path in each consumer environment once.
    // On a loaded machine ten producers starting at once time out: they start a few at a time first.
    for (const concurrency of [2, 4, 8]) {
      await runConcurrent(4 * concurrency, concurrency, () => s.submit({ type: 'echo', payload: {} }));
    }
    await s.warmUp(120_000);
    const warm = await s.submitMany(12, 6, (i) => ({
      type: 'limited',
      payload: { ms: 20 },
      priority: i % 2 ? 'high' : 'low',
      ...(i % 3 === 0 && { tenantId: 'warm' }),
    }));
    await waitCallsDone('limited', warm.results, 120_000);
    await s.waitIdle(60_000);

    /** Two long `limited` tasks on the high tier, each in a batch of its own, holding both slots. */
    const holdBothSlots = async (): Promise<string[]> => {
      const holders: string[] = [];
      for (let i = 0; i < settings.maxConcurrency; i++) {
        const id = await s.submit({ type: 'limited', priority: 'high', payload: { ms: HOLD_MS } });
        holders.push(id);
        await waitFor(
          'a holder to reach the agent',
          () => agents.calls('limited').some((c) => c.taskId === id),
          60_000,
          20,
        );
      }
      return holders;
    };
    const submitWaiters = async (n: number) =>
      (await s.submitMany(n, Math.min(n, 32), () => ({ type: 'limited', payload: { ms: WAITER_MS } })))
        .results;

    // 5. The limiter's own requests per task: first, while the system is quiet.
    let perTask: PerLimitedTaskCost | undefined;
    if (sizes.perTask > 0) {
      progress(
        `  5. requests per limited task: ${sizes.perTask} tasks per cell, one every ${PER_TASK_PACE_MS} ms`,
      );
      const cells: PerTaskCell[] = [];
      for (const [cell, type, tenantId] of [
        ['sleep (no limits)', 'sleep', undefined],
        ['limited', 'limited', undefined],
        [`limited + tenant (cap ${TENANT_CAP})`, 'limited', 'solo'],
      ] as const) {
        await s.waitIdle(60_000);
        const counted = mark();
        const ids: string[] = [];
        for (let i = 0; i < sizes.perTask; i++) {
          const t0 = Date.now();
          ids.push(await s.submit({ type, payload: { ms: PER_TASK_MS }, ...(tenantId && { tenantId }) }));
          await sleep(Math.max(0, PER_TASK_PACE_MS - (Date.now() - t0)));
        }
        await waitCallsDone(type, ids, 120_000);
        await s.waitIdle(60_000);
        const calls = withoutProducer(counted(), ids.length);
        const row: PerTaskCell = {
          cell,
          tasks: ids.length,
          perTask: perUnit(calls, ids.length),
          waitsPerTask: round(resentSinceMark() / ids.length, 3),
        };
        cells.push(row);
        progress(`    ${cell}: ${JSON.stringify(row.perTask)}`);
      }
      const counters =
        (await s.raw.dynamodb.send(new ScanCommand({ TableName: limiterTable, ConsistentRead: true })))
          .Items ?? [];
      const counterItemBytesMax = Math.max(0, ...counters.map((i) => dynamoItemBytes(unmarshall(i))));
      const base = cells[0]!.perTask;
      const extraPerTask = cells.slice(1).map((c) => {
        const requests = Object.fromEntries(
          [...new Set([...Object.keys(c.perTask), ...Object.keys(base)])]
            .sort()
            .map((k) => [k, round((c.perTask[k] ?? 0) - (base[k] ?? 0), 3)] as const)
            .filter(([k, n]) => Math.abs(n) >= 0.005 && !k.includes(':400')),
        );
        const units = requestUnits(requests);
        return {
          cell: c.cell,
          requests,
          ...units,
          usdPerMillion: round(
            units.readUnits * PRICES_USD.dynamodbReadUnitsPerMillion +
              units.writeUnits * PRICES_USD.dynamodbWriteUnitsPerMillion +
              units.sqsRequests * PRICES_USD.sqsPerMillion,
            3,
          ),
        };
      });
      perTask = { cells, extraPerTask, counterItemBytesMax };
    }

    // 3. Hand-off: how soon a waiting task starts once a slot frees.
    const handOff: HandOffRow[] = [];
    for (const waiters of sizes.handOff.waiters) {
      progress(`  3. slot hand-off: ${waiters} waiting, ${sizes.handOff.reps} repetitions`);
      const delaysMs: number[] = [];
      for (let rep = 0; rep < sizes.handOff.reps; rep++) {
        await s.waitIdle(60_000);
        agents.reset();
        const [first, second] = await holdBothSlots();
        const ids = await submitWaiters(waiters);
        // Staggered: the waiters' delays have grown to the wake-up interval, and their phases are spread.
        await sleep(SETTLE_SECONDS * 1000 + Math.random() * settings.wakeUpSeconds * 1000);
        const waiting = new Set(ids);
        if (agents.calls('limited').some((c) => waiting.has(c.taskId))) {
          throw new Error('a waiting task started while both slots were held');
        }
        const freedAt = agents.finish([first!]);
        await waitFor(
          'a waiting task to start',
          () => agents.calls('limited').some((c) => waiting.has(c.taskId)),
          60_000,
          5,
        );
        const next = agents.calls('limited').find((c) => waiting.has(c.taskId))!;
        delaysMs.push(next.startMs - freedAt);
        agents.finish([second!]);
        await waitCallsDone('limited', ids, 120_000);
      }
      const row: HandOffRow = {
        waiters,
        delaysMs,
        minMs: Math.min(...delaysMs),
        medianMs: median(delaysMs),
        maxMs: Math.max(...delaysMs),
      };
      handOff.push(row);
      progress(
        `    ${waiters} waiting: ${row.minMs} / ${row.medianMs} / ${row.maxMs} ms (min / median / max)`,
      );
    }

    // 2. What a waiting task costs, per minute of waiting.
    const waiting: WaitingCostRow[] = [];
    for (const waiters of sizes.waiting.waiters) {
      progress(
        `  2. waiting cost: ${waiters} waiting for ${sizes.waiting.windowSeconds} s behind two holders`,
      );
      await s.waitIdle(60_000);
      agents.reset();
      const holders = await holdBothSlots();
      const ids = await submitWaiters(waiters);
      await sleep(SETTLE_SECONDS * 1000);
      const counted = mark();
      invocations.length = 0;
      s.startCapture();
      recording = true;
      const t0 = Date.now();
      await sleep(sizes.waiting.windowSeconds * 1000);
      const requests = counted();
      const resent = resentSinceMark();
      recording = false;
      const minutes = (Date.now() - t0) / 60_000;
      const lines = s.stopCapture().filter((l) => consumers.has(l.source));
      const waitingSet = new Set(ids);
      const startedInWindow = agents.calls('limited').filter((c) => waitingSet.has(c.taskId)).length;
      agents.finish(holders);
      await waitCallsDone('limited', ids, 120_000);

      const consumerInvocations = invocations.filter((i) => consumers.has(i.logicalId));
      const billedMs = consumerInvocations.reduce((n, i) => n + Math.ceil(i.durationMs), 0);
      const messages = consumerInvocations.reduce(
        (n, i) => n + ((i.event as { Records?: unknown[] }).Records?.length ?? 0),
        0,
      );
      // Lambda's own records of each invocation, as the consumer's LoggingConfig keeps them (none at WARN).
      const consumerLogging =
        s.runtime.template.Resources[s.functions.consumer[0]!]?.Properties?.LoggingConfig;
      const logBytes =
        lines.reduce((n, l) => n + Buffer.byteLength(l.line) + 1, 0) +
        consumerInvocations.length *
          platformLogBytesPerInvocation(
            consumerLogging as Parameters<typeof platformLogBytesPerInvocation>[0],
          );
      const waitingMinutes = waiters * minutes;
      const perWaitingMinute = perUnit(requests, waitingMinutes);
      const wakesPerMinute = round(resent / waitingMinutes, 2);
      const units = requestUnits(perWaitingMinute);
      const gbSeconds = (billedMs / 1000) * (settings.consumerMemoryMB / 1024);
      const perHour = (perMinute: number) => perMinute * 60;
      const usd = {
        sqs: perHour(units.sqsRequests) * PRICES_USD.sqsPerMillion * 1e-6,
        dynamodb:
          perHour(units.readUnits) * PRICES_USD.dynamodbReadUnitsPerMillion * 1e-6 +
          perHour(units.writeUnits) * PRICES_USD.dynamodbWriteUnitsPerMillion * 1e-6,
        lambda:
          perHour(consumerInvocations.length / waitingMinutes) * PRICES_USD.lambdaRequestsPerMillion * 1e-6 +
          perHour(gbSeconds / waitingMinutes) * PRICES_USD.lambdaArmGbSecond,
        logs: perHour(logBytes / waitingMinutes) * (PRICES_USD.logsIngestionPerGB / 2 ** 30),
      };
      const row: WaitingCostRow = {
        waiters,
        windowSeconds: round(minutes * 60, 1),
        perWaitingMinute,
        wakesPerMinute,
        secondsBetweenWakes: wakesPerMinute > 0 ? round(60 / wakesPerMinute, 2) : Number.NaN,
        messagesPerInvocation: round(messages / Math.max(consumerInvocations.length, 1), 2),
        consumerInvocationsPerMinute: round(consumerInvocations.length / waitingMinutes, 2),
        consumerMsPerMinute: round(billedMs / waitingMinutes, 1),
        logBytesPerMinute: round(logBytes / waitingMinutes),
        startedInWindow,
        usdPerHour: {
          sqs: round(usd.sqs, 8),
          dynamodb: round(usd.dynamodb, 8),
          lambda: round(usd.lambda, 8),
          logs: round(usd.logs, 8),
          total: round(usd.sqs + usd.dynamodb + usd.lambda + usd.logs, 8),
        },
      };
      waiting.push(row);
      progress(
        `    ${waiters} waiting: ${row.wakesPerMinute} wakes/min each (${row.secondsBetweenWakes} s apart), ${JSON.stringify(row.perWaitingMinute)}; $${row.usdPerHour.total}/hour`,
      );
    }

    // 1. Throughput of a burst of limited tasks.
    const throughput: ThroughputRow[] = [];
    for (const { tasks, ms } of sizes.throughput) {
      progress(`  1. throughput: ${tasks} limited tasks of ${ms} ms`);
      await s.waitIdle(60_000);
      agents.reset();
      const counted = mark();
      const deadBefore = deadLettered();
      invocations.length = 0;
      recording = true;
      const loadBefore = os.loadavg()[0]!;
      const t0 = Date.now();
      const ids = (await s.submitMany(tasks, 32, () => ({ type: 'limited', payload: { ms } }))).results;
      const submitSeconds = (Date.now() - t0) / 1000;
      const allowed = Math.min(
        settings.rateRequests / settings.ratePerSeconds,
        settings.maxConcurrency / (ms / 1000),
      );
      // Generous: on a loaded machine the slots' overhead, not the agent, sets the pace (see the report).
      await waitCallsDone('limited', ids, (tasks / allowed) * 10_000 + 120_000);
      const loadAfter = os.loadavg()[0]!;
      await s.waitIdle(120_000);
      recording = false;
      const calls = withoutProducer(counted(), tasks);
      const resends = resentSinceMark();
      const consumerBilledMs = invocations
        .filter((i) => consumers.has(i.logicalId))
        .reduce((n, i) => n + Math.ceil(i.durationMs), 0);
      const mine = new Set(ids);
      const agentCalls = agents.calls('limited').filter((c) => mine.has(c.taskId)) as Array<
        Required<AgentCall>
      >;
      const starts = agentCalls.map((c) => c.startMs);
      const firstStart = Math.min(...starts);
      const lastStart = Math.max(...starts);
      const lastEnd = Math.max(...agentCalls.map((c) => c.endMs));
      const wallMs = lastEnd - firstStart;
      const records = await s.records(ids);
      const queueWaits = records
        .filter((r) => r.started_at)
        .map((r) => Date.parse(r.started_at!) - Date.parse(r.created_at));
      const claimedAt = new Map(
        records.filter((r) => r.started_at).map((r) => [r.task_id, Date.parse(r.started_at!)] as const),
      );
      const claims = [...claimedAt.values()];
      const claimToCall = agentCalls
        .filter((c) => claimedAt.has(c.taskId))
        .map((c) => c.startMs - claimedAt.get(c.taskId)!);
      const ceiling = Math.min(
        settings.rateRequests / (settings.ratePerSeconds + RATE_WINDOW_MARGIN_MS / 1000),
        settings.maxConcurrency / (ms / 1000),
      );
      const startsPerSecond = (agentCalls.length - 1) / ((lastStart - firstStart) / 1000);
      // A release is an UpdateItem (it removes its holder in place, and never loses a race).
      const limiterWrites =
        (calls['dynamodb:PutItem (limiter)'] ?? 0) +
        (calls['dynamodb:TransactWriteItems (limiter)'] ?? 0) +
        (calls['dynamodb:UpdateItem (limiter)'] ?? 0);
      const row: ThroughputRow = {
        tasks,
        agentMs: ms,
        submitSeconds: round(submitSeconds, 1),
        wallSeconds: round(wallMs / 1000, 1),
        startsPerSecond: round(startsPerSecond, 2),
        allowedPerSecond: round(allowed, 2),
        ceilingPerSecond: round(ceiling, 2),
        ratioToAllowed: round(startsPerSecond / allowed, 2),
        ratioToCeiling: round(startsPerSecond / ceiling, 2),
        maxConcurrencySeen: maxOverlap(agentCalls.map((c) => [c.startMs, c.endMs] as const)),
        maxStartsPerWindow: maxStartsInWindow(starts, settings.ratePerSeconds * 1000),
        maxClaimsPerWindow: maxStartsInWindow(claims, settings.ratePerSeconds * 1000),
        claimToCallMs: {
          p50: percentile(claimToCall, 50),
          p99: percentile(claimToCall, 99),
          spread: percentile(claimToCall, 99) - percentile(claimToCall, 1),
        },
        slotUse: round(
          agentCalls.reduce((n, c) => n + (c.endMs - c.startMs), 0) / (settings.maxConcurrency * wallMs),
          2,
        ),
        recordRunMsMedian: median(
          records
            .filter((r) => r.started_at && r.finished_at)
            .map((r) => Date.parse(r.finished_at!) - Date.parse(r.started_at!)),
        ),
        agentCallMsMedian: median(agentCalls.map((c) => c.endMs - c.startMs)),
        waitsPerTask: round(resends / tasks, 2),
        queueWaitP50Seconds: round(percentile(queueWaits, 50) / 1000, 1),
        queueWaitMaxSeconds: round(percentile(queueWaits, 100) / 1000, 1),
        wakesPerWaitingMinute: round(resends / (queueWaits.reduce((a, b) => a + b, 0) / 60_000), 2),
        attemptsAboveOne: records.filter((r) => Number(r.item.attempts ?? 0) > 1).length,
        deadLettered: deadLettered() - deadBefore,
        notSucceeded: tasks - records.filter((r) => r.status === 'SUCCEEDED').length,
        limiterWrites,
        limiterLostWrites:
          (calls['dynamodb:PutItem:400 (limiter)'] ?? 0) +
          (calls['dynamodb:TransactWriteItems:400 (limiter)'] ?? 0),
        consumerRequestsPerTask: perUnit(calls, tasks, 2),
        consumerGbSecondsPerTask: round(
          ((consumerBilledMs / 1000) * (settings.consumerMemoryMB / 1024)) / tasks,
          4,
        ),
        loadAverage1m: [round(loadBefore, 2), round(loadAfter, 2)],
      };
      throughput.push(row);
      progress(
        `    ${row.startsPerSecond} starts/s against ${row.allowedPerSecond} allowed (${row.ratioToAllowed}×) and a ceiling of ${row.ceilingPerSecond} (${row.ratioToCeiling}×); most at once ${row.maxConcurrencySeen}, most starts in ${settings.ratePerSeconds} s ${row.maxStartsPerWindow} (claims ${row.maxClaimsPerWindow}); claim → call p50 ${row.claimToCallMs.p50} ms, spread ${row.claimToCallMs.spread} ms; ${row.waitsPerTask} waits/task`,
      );
    }

    // 4. A quiet tenant's queue wait while another floods the tier: without the cap (tasks without a tenant), then
    // with it. Fair queues are not emulated locally, so this compares the cap alone.
    const tenants: TenantRow[] = [];
    for (const capped of sizes.tenants.flood > 0 ? [false, true] : []) {
      const design = capped ? `tenant cap ${TENANT_CAP}` : 'no cap (no tenant_id)';
      progress(
        `  4. tenants, ${design}: ${sizes.tenants.flood} flood tasks, ${sizes.tenants.trickle} quiet ones at 1/s`,
      );
      await s.waitIdle(120_000);
      agents.reset();
      const task = (tenantId: string) => ({
        type: 'sleep',
        payload: { ms: FLOOD_SLEEP_MS },
        ...(capped && { tenantId }),
      });
      const flooding = s.submitMany(sizes.tenants.flood, 32, () => task('flood'));
      const quiet: string[] = [];
      const t0 = Date.now();
      for (let i = 0; i < sizes.tenants.trickle; i++) {
        await sleep(Math.max(0, t0 + i * 1000 - Date.now()));
        quiet.push(await s.submit(task('quiet')));
      }
      const floodIds = new Set((await flooding).results);
      await waitFor(
        'the quiet tenant’s tasks to start',
        async () => (await s.records(quiet)).every((r) => r.started_at),
        600_000,
        500,
      );
      const records = await s.records(quiet);
      const waits = records.map((r) => Date.parse(r.started_at!) - Date.parse(r.created_at));
      const lastQuietStart = Math.max(...records.map((r) => Date.parse(r.started_at!)));
      const floodCalls = agents.calls('sleep').filter((c) => floodIds.has(c.taskId));
      const row: TenantRow = {
        design,
        capped,
        flood: sizes.tenants.flood,
        trickle: sizes.tenants.trickle,
        quietP50Ms: percentile(waits, 50),
        quietP90Ms: percentile(waits, 90),
        quietP99Ms: percentile(waits, 99),
        quietMaxMs: percentile(waits, 100),
        floodMaxConcurrency: maxOverlap(floodCalls.map((c) => [c.startMs, c.endMs ?? Date.now()] as const)),
        floodStarted: floodCalls.filter((c) => c.startMs <= lastQuietStart).length,
      };
      tenants.push(row);
      progress(
        `    quiet tenant wait p50 ${row.quietP50Ms} ms, p99 ${row.quietP99Ms} ms; flood at most ${row.floodMaxConcurrency} at once, ${row.floodStarted} started meanwhile`,
      );
      // What is left of the flood is not measured: dropped, and the running tasks end.
      await s.purgeTiers();
      await s.waitIdle(120_000);
    }

    return {
      settings,
      throughput,
      waiting,
      handOff,
      tenants,
      ...(perTask && { perTask }),
      startedAt,
      loadAverageBefore,
    };
  } finally {
    recording = false;
    await session?.stop();
    await agents.close();
  }
}

/**
 * DynamoDB read and write units, and SQS requests, of a set of requests (per task or per minute): every read is a
 * strongly consistent GetItem of an item under 4 KB (1 unit), every write an item under 1 KB (1 unit), a
 * transaction's write 2 units per item (DynamoDB bills transactions double) with 2 items (an agent's and a
 * tenant's counter).
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
 */
export function requestUnits(requests: Record<string, number>): {
  readUnits: number;
  writeUnits: number;
  sqsRequests: number;
} {
  let readUnits = 0;
  let writeUnits = 0;
  let sqsRequests = 0;
  for (const [key, n] of Object.entries(requests)) {
    if (key.includes(':400')) continue;
    if (key.startsWith('sqs:')) sqsRequests += n;
    else if (key.startsWith('dynamodb:GetItem')) readUnits += n;
    else if (key.startsWith('dynamodb:TransactWriteItems')) writeUnits += n * 4;
    else if (/^dynamodb:(PutItem|UpdateItem|DeleteItem)/.test(key)) writeUnits += n;
  }
  return {
    readUnits: round(readUnits, 3),
    writeUnits: round(writeUnits, 3),
    sqsRequests: round(sqsRequests, 3),
  };
}
