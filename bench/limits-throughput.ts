/**
 * Figure 8.1 alone (throughput of bursts of `limited` tasks under its limits), without the other parts of figure 8:
 * `npx tsx bench/limits-throughput.ts [--workers N] [tasks×ms ...]`, e.g. `2000x200 500x50 200x1000` (the default);
 * `--workers`: execution environments per function (figure 8's default: 10). Prints each row as the figure
 * measures it, and the whole result as JSON at the end.
 */
import os from 'node:os';
import { limits } from './limits';

const argv = process.argv.slice(2);
const workersAt = argv.indexOf('--workers');
const workers = workersAt >= 0 ? Number(argv.splice(workersAt, 2)[1]) : undefined;
const cells = (argv.length ? argv : ['2000x200', '500x50', '200x1000']).map((cell) => {
  const [tasks, ms] = cell.split('x').map(Number);
  if (!Number.isInteger(tasks) || !Number.isFinite(ms)) throw new Error(`not tasks×ms: ${cell}`);
  return { tasks: tasks!, ms: ms! };
});

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `load average before: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  const result = await limits({
    sizes: {
      throughput: cells,
      waiting: { waiters: [], windowSeconds: 0 },
      handOff: { waiters: [], reps: 0 },
      tenants: { flood: 0, trickle: 0 },
      perTask: 0,
    },
    ...(workers !== undefined && { workers }),
    progress: (line) => console.log(line),
  });
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  console.log(`took ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(JSON.stringify(result.throughput, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
