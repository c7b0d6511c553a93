/** `npm run chaos -- [--tasks 2000] [--seed 7]`: every fault at once; exits 1 on any violation. */
import { Command } from 'commander';
import { ALL_FAULTS, formatReport, runChaos } from './chaos';

const program = new Command('chaos')
  .option('--tasks <n>', 'tasks to submit', (v) => Number.parseInt(v, 10), 2000)
  .option('--seed <n>', 'seed of the task mix and the fault dice', (v) => Number.parseInt(v, 10), 7)
  .parse();
const { tasks, seed } = program.opts<{ tasks: number; seed: number }>();

runChaos({ tasks, seed, faults: { ...ALL_FAULTS, seed }, progress: (line) => console.error(line) })
  .then((report) => {
    console.log(formatReport(report));
    process.exit(report.violations.length === 0 ? 0 : 1);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
