/**
 * `npm run chaos -- [--tasks 2000] [--seed 7] [--async-share 0.12] [--limited-share 0.05] [--fanout-share 0.08]
 * [--tenant-share 0.3] [--fuzz 5000]`: every fault at once (SNS publish failures included), on sync, async and
 * limited agents, on tasks published to a topic and on tenants under a cap, then (with
 * `--fuzz`) bad requests against a fresh runtime without faults; `--tasks 0` runs the fuzz alone. Exits 1 on any
 * violation.
 */
import { Command } from 'commander';
import { startDemoAgents } from '../local/demo-agents';
import { startLocalRuntime } from '../local/runtime';
import {
  ALL_FAULTS,
  DEFAULT_ASYNC_SHARE,
  DEFAULT_FANOUT_SHARE,
  DEFAULT_LIMITED_SHARE,
  DEFAULT_TENANT_SHARE,
  formatReport,
  runChaos,
} from './chaos';
import { formatFuzzReport, runFuzz } from './fuzz';

/** A share option's parser: a number from 0 to 1. */
const share = (flag: string) => (v: string) => {
  const r = Number(v);
  if (!(r >= 0 && r <= 1)) throw new Error(`${flag} must be a number from 0 to 1, not ${v}`);
  return r;
};

const program = new Command('chaos')
  .option('--tasks <n>', 'tasks to submit', (v) => Number.parseInt(v, 10), 2000)
  .option(
    '--async-share <r>',
    'share of the tasks on the async agent async-echo, from 0 to 1',
    share('--async-share'),
    DEFAULT_ASYNC_SHARE,
  )
  .option(
    '--limited-share <r>',
    'share of the tasks on the limited agent, from 0 to 1 (with --async-share, at most 1)',
    share('--limited-share'),
    DEFAULT_LIMITED_SHARE,
  )
  .option(
    '--fanout-share <r>',
    'share of the tasks published to the topic chaos.fanout (echo, flaky), from 0 to 1 (with the others, at most 1)',
    share('--fanout-share'),
    DEFAULT_FANOUT_SHARE,
  )
  .option(
    '--tenant-share <r>',
    'share of the tasks, of every kind, that belong to a tenant under the tenant cap, from 0 to 1',
    share('--tenant-share'),
    DEFAULT_TENANT_SHARE,
  )
  .option('--seed <n>', 'seed of the task mix, the fault dice and the fuzz', (v) => Number.parseInt(v, 10), 7)
  .option('--fuzz [n]', 'then send n generated requests, mostly bad (default 5000)', (v) =>
    Number.parseInt(v, 10),
  )
  .option(
    '--dynamodb-endpoint <url>',
    'share a DynamoDB Local already running at http://127.0.0.1:PORT (taskq local --dynamodb-endpoint)',
  )
  .parse();
const opts = program.opts<{
  tasks: number;
  seed: number;
  asyncShare: number;
  limitedShare: number;
  fanoutShare: number;
  tenantShare: number;
  fuzz?: number | true;
  dynamodbEndpoint?: string;
}>();
const { tasks, seed, asyncShare, limitedShare, fanoutShare, tenantShare } = opts;
if (asyncShare + limitedShare + fanoutShare > 1)
  program.error('--async-share, --limited-share and --fanout-share add up to more than 1');
const fuzzRuns = opts.fuzz === true ? 5000 : opts.fuzz;
/** A shared DynamoDB Local for the runtimes, when given (each otherwise starts its own on a free port). */
const shared = opts.dynamodbEndpoint !== undefined && { dynamodbEndpoint: opts.dynamodbEndpoint };

async function main(): Promise<boolean> {
  let ok = true;
  if (tasks > 0) {
    const report = await runChaos({
      tasks,
      seed,
      asyncShare,
      limitedShare,
      fanoutShare,
      tenantShare,
      faults: { ...ALL_FAULTS, seed },
      ...shared,
      progress: (line) => console.error(line),
    });
    console.log(formatReport(report));
    ok = report.violations.length === 0;
  }
  if (fuzzRuns !== undefined) {
    // A runtime of its own and without faults: an injected 503 would hide the answer to the bad request. The
    // demo agents run here, so that the fuzz can see overlapping executions of a late agent's task.
    const agents = await startDemoAgents({ port: 0 });
    const runtime = await startLocalRuntime({
      port: 0,
      awsPort: 0,
      dynamodbPort: 0,
      ...shared,
      demoAgents: true,
      agentsUrl: agents.url,
      log: () => {},
    });
    try {
      const report = await runFuzz({
        apiUrl: runtime.apiUrl,
        runs: fuzzRuns,
        seed,
        agents,
        progress: (line) => console.error(line),
      });
      console.log(formatFuzzReport(report));
      ok &&= report.violations.length === 0;
    } finally {
      await runtime.stop();
      await agents.close();
    }
  }
  return ok;
}

main()
  .then((ok) => process.exit(ok ? 0 : 1))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
