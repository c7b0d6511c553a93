// Loads one bundle in a fresh process, as Lambda's init does, and prints how long its `require` took:
// wall-clock ms and CPU ms (user + system, all threads of the process). Plain CommonJS, so that nothing but
// Node itself loads before the measured require.
const { performance } = require('node:perf_hooks');
const bundle = process.argv[2];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
require(bundle);
const t1 = performance.now();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${(t1 - t0).toFixed(3)} ${((cpu.user + cpu.system) / 1000).toFixed(3)}\n`);
