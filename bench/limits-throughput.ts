/**
 * Figure 8.1 alone (throughput of bursts of `limited` tasks under its limits), without the other parts of figure 8:
 * `npx tsx bench/limits-throughput.ts [tasks×ms ...]`, e.g. `2000x200 500x50 200x1000` (the default). Prints each
 * row as the figure measures it, and the whole result as JSON at the end.
 */
import os from 'node:os';
import { limits } from './limits';

const cells = (process.argv.slice(2).length ? process.argv.slice(2) : ['2000x200', '500x50', '200x1000']).map(
  (cell) => {
    const [tasks, ms] = cell.split('x').map(Number);
    if (!Number.isInteger(tasks) || !Number.isFinite(ms)) throw new Error(`not tasks×ms: ${cell}`);
    return { tasks: tasks!, ms: ms! };
  },
);

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
