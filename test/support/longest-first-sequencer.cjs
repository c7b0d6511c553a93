/**
 * jest's test sequencer (jest.config.js `testSequencer`), with one change: a suite jest has no recorded duration
 * for is given the one in `suite-seconds.cjs`, or a second if it is not there. jest runs the longest suites first
 * only when its cache knows their durations; on a clean clone, as in CI, it knows none and orders by file size,
 * which put the chaos run (a short file, the longest suite) last: the run then ended with one worker on chaos
 * alone for minutes. Recorded durations and failed-first ordering are kept when the cache has them.
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const EXPECTED_SECONDS = require('./suite-seconds.cjs');

const ROOT = path.join(__dirname, '..', '..');
const UNKNOWN_SECONDS = 1;

class LongestFirstSequencer extends Sequencer {
  time(test) {
    const recorded = super.time(test);
    if (recorded != null) return recorded;
    const relative = path.relative(ROOT, test.path).split(path.sep).join('/');
    return (EXPECTED_SECONDS[relative] ?? UNKNOWN_SECONDS) * 1000;
  }
}

module.exports = LongestFirstSequencer;
