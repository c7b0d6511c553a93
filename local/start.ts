/**
 * `npm start` as it was before `taskq local`: the same as `taskq local --demo-agents` (cli/commands/local.ts), kept
 * for scripts that run this file. `tsx local/start.ts --port 3001` is `taskq local --demo-agents --port 3001`.
 */
process.argv.splice(2, 0, 'local', '--demo-agents');
require('../bin/taskq.ts');
