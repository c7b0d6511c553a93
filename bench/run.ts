/**
 * `npm run bench`: measures figures 1–6 of the benchmark issue, each beside a baseline from the same run, figure 7
 * of the async agents issue (Lambda time per task of long agents, sync against async, and the cost of a 60 s agent
 * in each mode), and figure 8 of the limits issue (throughput under an agent's limits, what a waiting task costs,
 * how soon it starts once a slot frees, a quiet tenant's wait under a flood, the limiter's cost per task), and
 * writes bench/results.json and BENCHMARKS.md. Figure 5 also measures, for issue 13, tasks published to `demo.fanout`
 * (two subscribers) beside two queued tasks, and, in a second runtime with events on, what each event costs and
 * what the default transitions add per million tasks (the main runtime keeps events off, as the default does).
 *
 * Issue 16 adds figure 9, handler overhead where Lambda bills it (each handler called in-process beside the raw SDK
 * and agent requests it sends, CPU per invocation, on Node 22 and Node 24), and figure 10, init of each bundle on
 * Node 22 and Node 24 against floors built for each (bench/node-runtime.ts finds or installs Node 24).
 *
 * Options (after `--`): `--quick` (small sizes, a few minutes); `--only 1,3,5` (some figures; 5 needs 2 and 3);
 * `--workers N` (execution environments per function in the local runtime; default 4, the runtime's own, and for
 * figure 8 the low tier's maximum concurrency on AWS, 10);
 * `--skip-300s` (figure 7 without its 300 s agents, which take 5 minutes; `--quick` skips them too); figure 8 (the
 * limits of issue 12) takes about 15 minutes at full size, 5 with `--quick`;
 * `--out PATH` (write PATH.json and PATH.md instead); `--render` (re-render BENCHMARKS.md from bench/results.json,
 * e.g. after editing bench/analysis.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SYSTEM_LOG_LEVEL } from '../lib/handler-function';
import { type AgentModesResult, agentModes } from './agent-modes';
import {
  type ColdStartResult,
  coldStart,
  FUNCTION_NODE_MAJOR,
  initByRuntime,
  type RuntimeInitRow,
} from './cold-start';
import {
  type AgentModeCost,
  accessLogOf,
  agentModeCost,
  atLambdaCpuShare,
  type CostResult,
  cost,
  type EventCost,
  eventCost,
  type PublishedCost,
  platformLogBytesPerInvocation,
  publishedCost,
} from './cost';
import { type EndToEndRun, endToEnd } from './end-to-end';
import { type EnqueueRow, enqueue } from './enqueue';
import { type HandlerCpuResult, type HandlerCpuSizes, handlerCpu } from './handler-cpu';
import { type LimitsResult, type LimitsSizes, limits } from './limits';
import { reportWaitsTo } from './load';
import { type MachineInfo, machineInfo } from './machine';
import { type NodeRuntime, nodeRuntime } from './node-runtime';
import { type IsolationResult, priorityIsolation } from './priority';
import { type EventsRun, eventsRun, publishedRun } from './published';
import { renderReport } from './report';
import { BenchSession } from './session';
import { median, ratio, round } from './stats';

export interface Sizes {
  readonly coldStartRuns: number;
  readonly enqueue: ReadonlyArray<{ concurrency: number; requests: number }>;
  readonly endToEnd: number;
  readonly isolation: { flood: number; probe: number };
  readonly scaling: readonly number[];
  /** Figure 7: agent durations in seconds, and tasks of each mode per duration. */
  readonly agentModes: { readonly agentSeconds: readonly number[]; readonly tasksPerCell: number };
  /** Figure 8: the limits of issue 12. */
  readonly limits: LimitsSizes;
  /**
   * Figure 5, issue 13: tasks published to `demo.fanout` (two subscribers); in a session with events on, echo
   * tasks at once (busy), one every `pauseMs` (quiet), and published tasks (events per published task).
   */
  readonly published: number;
  readonly events: {
    readonly burst: number;
    readonly paced: number;
    readonly pauseMs: number;
    readonly published: number;
  };
  /** Figure 9: handler CPU in-process, beside the raw path. */
  readonly handlerCpu: HandlerCpuSizes;
  /** Figure 10: fresh processes per bundle and Node. */
  readonly runtimeInitRuns: number;
}

/** The Node majors figures 9 and 10 compare: Lambda's nodejs22.x and nodejs24.x (what the functions run on). */
const RUNTIME_MAJORS = [22, 24];

/** The topic of figure 5's published tasks: the demo's, whose subscribers are echo and sleep (`ms: 0`). */
const PUBLISH_TOPIC = 'demo.fanout';

const FULL: Sizes = {
  coldStartRuns: 21,
  enqueue: [
    { concurrency: 1, requests: 300 },
    { concurrency: 32, requests: 3000 },
  ],
  endToEnd: 10_000,
  isolation: { flood: 10_000, probe: 200 },
  scaling: [1000, 5000, 10_000],
  agentModes: { agentSeconds: [1, 30, 300], tasksPerCell: 4 },
  limits: {
    throughput: [
      { tasks: 2000, ms: 200 },
      { tasks: 500, ms: 50 },
      { tasks: 200, ms: 1000 },
    ],
    waiting: { waiters: [1, 20], windowSeconds: 60 },
    handOff: { waiters: [1, 20], reps: 5 },
    tenants: { flood: 600, trickle: 30 },
    perTask: 100,
  },
  published: 2000,
  events: { burst: 2000, paced: 30, pauseMs: 1500, published: 300 },
  handlerCpu: {
    // Steady state, as an environment serving a busy queue runs: after 50 tasks V8 was still compiling both paths
    // (a batch of 1 on Node 24 took 2.4–2.7 ms against 1.75–1.78 after 3,000, its raw path 1.8–2.0 against 1.45),
    // and the ratio read 1.21–1.38× between runs, against 1.21× in each of three runs after 3,000 (2026-12-05).
    warmup: 3000,
    block: 10,
    concurrency: 4,
    producer: { sequential: 600, concurrent: 600 },
    // A batch of 10 in 24 pairs of blocks: with 8, six runs of one build read from 1.17× to 1.41× (Node 24,
    // 2026-12-04); with 24, three read from 1.21× to 1.30×.
    consumer: [
      { batchSize: 1, sequential: 400, concurrent: 400 },
      { batchSize: 10, sequential: 240, concurrent: 240 },
    ],
  },
  runtimeInitRuns: 21,
};

const QUICK: Sizes = {
  coldStartRuns: 15,
  enqueue: [
    { concurrency: 1, requests: 100 },
    { concurrency: 32, requests: 400 },
  ],
  endToEnd: 400,
  isolation: { flood: 1000, probe: 50 },
  scaling: [100, 200, 400],
  agentModes: { agentSeconds: [1, 30], tasksPerCell: 3 },
  limits: {
    throughput: [
      { tasks: 150, ms: 200 },
      { tasks: 100, ms: 50 },
      { tasks: 40, ms: 1000 },
    ],
    waiting: { waiters: [1, 10], windowSeconds: 30 },
    handOff: { waiters: [1, 10], reps: 3 },
    tenants: { flood: 200, trickle: 15 },
    perTask: 40,
  },
  published: 200,
  events: { burst: 200, paced: 8, pauseMs: 1500, published: 50 },
  handlerCpu: {
    warmup: 20,
    block: 10,
    concurrency: 4,
    producer: { sequential: 150, concurrent: 150 },
    consumer: [
      { batchSize: 1, sequential: 100, concurrent: 100 },
      { batchSize: 10, sequential: 20, concurrent: 20 },
    ],
  },
  runtimeInitRuns: 11,
};

export interface ScalingRow {
  readonly tasks: number;
  readonly runtimeSeconds: number;
  readonly rawSeconds: number;
  readonly runtimeTasksPerSecond: number;
  readonly rawTasksPerSecond: number;
  /** Seconds per task at this size ÷ seconds per task at the smallest size; 1 is linear. */
  readonly runtimeLinearity: number;
  readonly rawLinearity: number;
}

export interface BenchResults {
  readonly mode: 'quick' | 'full';
  readonly machine: MachineInfo;
  readonly finishedAt?: string;
  readonly loadAverageAfter?: readonly number[];
  readonly durationSeconds?: number;
  readonly sizes: Sizes;
  readonly runtimeStartupSeconds?: number;
  readonly maxWorkersPerFunction: number;
  readonly coldStart?: ColdStartResult;
  readonly enqueue?: EnqueueRow[];
  readonly endToEnd?: Omit<EndToEndRun, 'detail'>;
  readonly isolation?: IsolationResult;
  readonly cost?: CostResult;
  /** Figure 5: tasks published to a topic with two subscribers, beside two queued tasks. */
  readonly publishedCost?: PublishedCost;
  /** Figure 5: what events cost, per event and per million tasks with events on (off by default). */
  readonly eventCost?: EventCost;
  readonly scaling?: ScalingRow[];
  readonly agentModes?: AgentModesResult;
  /** US$ per million tasks of a 60 s agent in each mode, from figure 7 (and figure 5 for the rest of a task). */
  readonly agentModeCost?: AgentModeCost;
  /** Figure 8: throughput under the limits, what a waiting task costs, slot hand-off, tenants, per-task cost. */
  readonly limits?: LimitsResult;
  /** Figure 9: each handler called in-process beside the raw SDK and agent requests it sends, on each Node. */
  readonly handlerCpu?: HandlerCpuResult;
  /** Figures 9 and 10: the Nodes compared, and how each was found. */
  readonly runtimes?: NodeRuntime[];
  /** Figure 10: init of each bundle and its floor, built for and run on each Node. */
  readonly runtimeInit?: RuntimeInitRow[];
  /** Submissions without a key answered 200 because the consumer's claim beat the producer's PutItem. */
  readonly ownTaskReplays?: number;
  readonly errors: Array<{ figure: string; message: string }>;
  readonly notes: string[];
}

function args() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const skip300 = argv.includes('--skip-300s');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(argv[onlyAt + 1]!.split(',').map(Number)) : undefined;
  const outAt = argv.indexOf('--out');
  const workersAt = argv.indexOf('--workers');
  return {
    quick,
    skip300,
    only,
    out: outAt >= 0 ? argv[outAt + 1]! : undefined,
    workers: workersAt >= 0 ? Number(argv[workersAt + 1]) : DEFAULT_WORKERS,
    workersGiven: workersAt >= 0,
  };
}

/** The local runtime's default (`--workers N` to change it); the figures depend on it, so it is recorded. */
const DEFAULT_WORKERS = 4;

/** Writes the report, formatted as the repository's formatter wants it, so that `biome check` stays clean. */
function writeReport(file: string, results: BenchResults): void {
  writeFileSync(file, renderReport(results));
  const biome = path.join(__dirname, '..', 'node_modules', '.bin', 'biome');
  if (existsSync(biome)) spawnSync(biome, ['format', '--write', file], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const { quick, skip300, only, out, workers, workersGiven } = args();
  if (process.argv.includes('--render')) {
    // Re-renders BENCHMARKS.md from bench/results.json, e.g. after editing bench/analysis.md.
    const saved = JSON.parse(readFileSync(path.join(__dirname, 'results.json'), 'utf8')) as BenchResults;
    writeReport(path.join(__dirname, '..', 'BENCHMARKS.md'), saved);
    return;
  }
  const base = quick ? QUICK : FULL;
  const sizes: Sizes = skip300
    ? {
        ...base,
        agentModes: { ...base.agentModes, agentSeconds: base.agentModes.agentSeconds.filter((s) => s < 300) },
      }
    : base;
  const wants = (figure: number) => !only || only.has(figure);
  const t0 = Date.now();
  const progress = (line: string) => console.log(line);
  reportWaitsTo(progress);
  const results: { -readonly [K in keyof BenchResults]: BenchResults[K] } = {
    mode: quick ? 'quick' : 'full',
    machine: machineInfo(),
    sizes,
    maxWorkersPerFunction: workers,
    errors: [],
    notes: [],
  };
  const attempt = async (figure: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      console.error(`figure ${figure} failed: ${(error as Error).stack ?? error}`);
      results.errors.push({ figure, message: (error as Error).message });
    }
  };

  if (wants(1)) {
    progress(
      `1. cold-start proxy (${sizes.coldStartRuns} fresh processes per bundle, on Node ${FUNCTION_NODE_MAJOR})`,
    );
    await attempt('1', async () => {
      results.coldStart = await coldStart({
        runs: sizes.coldStartRuns,
        withoutSourceMaps: !quick,
        experiments: !quick,
        node: nodeRuntime(FUNCTION_NODE_MAJOR, progress),
        progress,
      });
    });
  }

  if ([2, 3, 4, 5, 6].some(wants)) {
    progress('starting the local runtime');
    // Events stay off here, as they are by default: figures 2–6 measure the default configuration.
    const session = await BenchSession.start({ maxWorkersPerFunction: workers, events: false });
    results.runtimeStartupSeconds = round(session.startupMs / 1000, 1);
    progress(`  ready in ${results.runtimeStartupSeconds} s at ${session.runtime.apiUrl}`);
    const timeoutMs = quick ? 120_000 : 600_000;
    try {
      await session.warmUp(timeoutMs);
      if (wants(2) || wants(5)) {
        progress('2. enqueue: POST /tasks vs the raw SDK path');
        await attempt('2', async () => {
          results.enqueue = await enqueue(session, sizes.enqueue, progress);
        });
      }
      let e2e: EndToEndRun | undefined;
      if (wants(3) || wants(5) || wants(6)) {
        progress(`3. end to end: ${sizes.endToEnd} echo tasks vs the raw loop`);
        await attempt('3', async () => {
          e2e = await endToEnd(session, sizes.endToEnd, { rawLoops: workers, timeoutMs, progress });
          const { detail: _detail, ...figure } = e2e;
          results.endToEnd = figure;
        });
      }
      if (wants(5)) {
        progress('5. requests per task and cost');
        await attempt('5', async () => {
          if (!e2e) throw new Error('needs the end-to-end run of figure 3');
          if (!e2e.detail.awsCalls) {
            progress(
              '  request counts unavailable: the runtime has no awsCalls(); counting from the code path',
            );
          }
          const producerMs = results.enqueue?.find((r) => r.concurrency === 1)?.runtime.p50Ms;
          if (producerMs === undefined) throw new Error('needs the enqueue figure at concurrency 1');
          results.cost = cost(e2e, {
            consumerIds: new Set(session.functions.consumer),
            producerIds: new Set(session.functions.producer),
            counterIds: new Set(session.functions.counter),
            memoryMB: session.memoryMB(session.functions.producer[0]!),
            consumerMemoryMB: session.memoryMB(session.functions.consumer[0]!),
            counterMemoryMB: session.memoryMB(session.functions.counter[0]!),
            producerMs,
            payloadBytes: 1024,
            platformLogBytesPerInvocation: platformLogBytes(session),
            ...accessLogOf(session.runtime.template.Resources),
          });
          progress(`  US$ ${results.cost.totalUsdPerMillion} per million tasks`);
        });
        progress(`5. published tasks: ${sizes.published} to ${PUBLISH_TOPIC}`);
        await attempt('5 (published tasks)', async () => {
          if (!results.cost || !e2e) throw new Error('needs figure 5’s queued tasks');
          const run = await publishedRun(session, sizes.published, {
            topic: PUBLISH_TOPIC,
            timeoutMs,
            progress,
          });
          results.publishedCost = publishedCost(run, {
            consumerIds: new Set(session.functions.consumer),
            producerIds: new Set(session.functions.producer),
            memoryMB: session.memoryMB(session.functions.producer[0]!),
            producerMs: results.enqueue!.find((r) => r.concurrency === 1)!.runtime.p50Ms,
            consumerMs: median(e2e.detail.rawBatchMs),
            payloadBytes: 1024,
            queued: results.cost,
            platformLogBytesPerInvocation: platformLogBytes(session),
          });
          const p = results.publishedCost;
          progress(
            `  US$ ${p.totalUsdPerMillion} per million published tasks; two queued tasks US$ ${p.twoQueuedUsdPerMillion}`,
          );
        });
      }
      if (wants(6)) {
        progress(`6. scaling shape: ${sizes.scaling.join(', ')} tasks`);
        await attempt('6', async () => {
          const runs: Array<Pick<EndToEndRun, 'tasks' | 'runtime' | 'raw'>> = [];
          for (const n of sizes.scaling) {
            if (n === e2e?.tasks) runs.push(e2e);
            else runs.push(await endToEnd(session, n, { rawLoops: workers, timeoutMs, progress }));
          }
          const base = runs[0]!;
          results.scaling = runs.map((r) => ({
            tasks: r.tasks,
            runtimeSeconds: r.runtime.wallSeconds,
            rawSeconds: r.raw.wallSeconds,
            runtimeTasksPerSecond: r.runtime.tasksPerSecond,
            rawTasksPerSecond: r.raw.tasksPerSecond,
            runtimeLinearity: ratio(r.runtime.wallSeconds / r.tasks, base.runtime.wallSeconds / base.tasks),
            rawLinearity: ratio(r.raw.wallSeconds / r.tasks, base.raw.wallSeconds / base.tasks),
          }));
        });
      }
      if (wants(4)) {
        progress(
          `4. priority isolation: ${sizes.isolation.flood} low sleep tasks, then ${sizes.isolation.probe} urgent ones`,
        );
        await attempt('4', async () => {
          results.isolation = await priorityIsolation(session, sizes.isolation, { timeoutMs, progress });
        });
      }
      results.ownTaskReplays = session.ownTaskReplays;
      if (session.runtimeMessages.length > 0) {
        results.notes.push(
          `runtime messages (first ${Math.min(5, session.runtimeMessages.length)}): ${session.runtimeMessages.slice(0, 5).join(' | ')}`,
        );
      }
    } finally {
      await session.stop();
    }
  }

  if (wants(5) && results.cost) {
    const e = sizes.events;
    progress(
      `5. events: a runtime with events on; ${e.burst} echo tasks at once, ${e.paced} one every ${e.pauseMs} ms, ${e.published} published`,
    );
    await attempt('5 (events)', async () => {
      const session = await BenchSession.start({
        maxWorkersPerFunction: workers,
        outdir: path.join(__dirname, '..', 'cdk.bench-events.out'),
        events: {},
      });
      try {
        const timeoutMs = quick ? 120_000 : 600_000;
        await session.warmUp(timeoutMs);
        const runs: EventsRun[] = [];
        runs.push(await eventsRun(session, e.burst, { timeoutMs, progress }));
        runs.push(await eventsRun(session, e.paced, { timeoutMs, progress, pauseMs: e.pauseMs }));
        runs.push(await eventsRun(session, e.published, { timeoutMs, progress, topic: PUBLISH_TOPIC }));
        const publisherIds = new Set(session.functions.publisher);
        results.eventCost = eventCost(runs, {
          memoryMB: session.memoryMB(session.functions.publisher[0]!),
          publisherIds,
          queued: results.cost!,
          platformLogBytesPerInvocation: platformLogBytes(session),
        });
        const [busy, quiet] = results.eventCost.runs;
        progress(
          `  US$ ${busy?.usdPerMillionEvents} per million events (busy), ${quiet?.usdPerMillionEvents} (quiet)`,
        );
      } finally {
        await session.stop();
      }
    });
  }

  if (wants(7)) {
    const { agentSeconds, tasksPerCell } = sizes.agentModes;
    progress(`7. consumer Lambda ms per task, sync against async: agents of ${agentSeconds.join(', ')} s`);
    await attempt('7', async () => {
      results.agentModes = await agentModes({ durationsSeconds: agentSeconds, tasksPerCell, progress });
      results.agentModeCost = agentModeCost(results.agentModes, {
        agentSeconds: 60,
        heartbeatSeconds: 60,
        base: costBase(results.cost),
        // Figure 7's runtime runs the default configuration: Lambda's own records as the construct sets them.
        platformLogBytesPerInvocation: platformLogBytesPerInvocation({
          LogFormat: 'JSON',
          SystemLogLevel: DEFAULT_SYSTEM_LOG_LEVEL,
        }),
      });
      const [sync, asyncMode] = results.agentModeCost.modes;
      progress(
        `  60 s agent: sync +$${sync?.extraUsdPerMillion}/M, async +$${asyncMode?.extraUsdPerMillion}/M; async running task $${results.agentModeCost.asyncRunningTaskUsdPerHour}/hour`,
      );
    });
  }

  if (wants(8)) {
    const l = sizes.limits;
    progress(
      `8. limits: bursts of ${l.throughput.map((t) => `${t.tasks} × ${t.ms} ms`).join(', ')} limited tasks; waiting cost, hand-off, tenants, per-task cost`,
    );
    await attempt('8', async () => {
      results.limits = await limits({ sizes: l, ...(workersGiven && { workers }), progress });
    });
  }

  let runtimes: NodeRuntime[] | undefined;
  if (wants(9) || wants(10)) {
    runtimes = [];
    for (const major of RUNTIME_MAJORS) {
      await attempt(`9/10 (Node ${major})`, async () => {
        runtimes!.push(nodeRuntime(major, progress));
      });
    }
    results.runtimes = runtimes;
  }

  if (wants(9) && runtimes && runtimes.length > 0) {
    progress(
      `9. handler overhead in-process: producer and consumer beside their raw requests, on ${runtimes.map((n) => n.version).join(' and ')}`,
    );
    await attempt('9', async () => {
      results.handlerCpu = await handlerCpu({ sizes: sizes.handlerCpu, nodes: runtimes!, progress });
    });
    if (results.cost && results.handlerCpu) {
      // Figure 5's GB-s as Lambda bills it: figure 9's CPU per invocation on the functions' Node, at their share
      // of a vCPU.
      const cpu = results.handlerCpu;
      await attempt('5 (GB-s at Lambda’s CPU share)', async () => {
        const times = cpu.rows
          .filter((r) => r.node.startsWith(`v${FUNCTION_NODE_MAJOR}.`))
          .map((r) => ({
            handler: r.handler,
            batchSize: r.batchSize,
            cpuMs: r.sequential.handler.cpuMsPerInvocation,
            wallMs: r.sequential.handler.wallMsPerInvocation,
          }));
        results.cost = atLambdaCpuShare(results.cost!, times);
        progress(
          `  5 again, GB-s at Lambda's CPU share: US$ ${results.cost.totalUsdPerMillion} per million tasks`,
        );
      });
    }
  }

  if (wants(10) && runtimes && runtimes.length > 0) {
    progress(`10. init by runtime: ${sizes.runtimeInitRuns} fresh processes per bundle on each Node`);
    await attempt('10', async () => {
      results.runtimeInit = await initByRuntime({ runs: sizes.runtimeInitRuns, nodes: runtimes!, progress });
    });
  }

  results.finishedAt = new Date().toISOString();
  results.durationSeconds = round((Date.now() - t0) / 1000, 1);
  results.loadAverageAfter = machineInfo().loadAverage;
  const jsonPath = out ? `${out}.json` : path.join(__dirname, 'results.json');
  const mdPath = out ? `${out}.md` : path.join(__dirname, '..', 'BENCHMARKS.md');
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  writeReport(mdPath, results);
  progress(
    `wrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), mdPath)} in ${results.durationSeconds} s`,
  );
  if (results.errors.length > 0) process.exitCode = 1;
}

/**
 * Lambda's own records per invocation of the session's functions, from their LoggingConfig in the template it runs
 * (the producer's; every function of the construct has the same).
 */
function platformLogBytes(session: BenchSession): number {
  const resource = session.runtime.template.Resources[session.functions.producer[0]!];
  return platformLogBytesPerInvocation(
    resource?.Properties?.LoggingConfig as Parameters<typeof platformLogBytesPerInvocation>[0],
  );
}

/** Figure 5's total for the rest of a task: from this run when it measured figure 5, else from the last saved run. */
function costBase(measured: CostResult | undefined): { usdPerMillion: number; source: string } | undefined {
  if (measured) return { usdPerMillion: measured.totalUsdPerMillion, source: 'figure 5 of this run' };
  const saved = path.join(__dirname, 'results.json');
  if (!existsSync(saved)) return undefined;
  const previous = JSON.parse(readFileSync(saved, 'utf8')) as BenchResults;
  return previous.cost
    ? {
        usdPerMillion: previous.cost.totalUsdPerMillion,
        source: `figure 5 of the run of ${previous.finishedAt ?? previous.machine.date} (bench/results.json)`,
      }
    : undefined;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
