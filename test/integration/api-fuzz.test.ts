/**
 * API fuzzing against the real local runtime: a few hundred generated bad requests (chaos/fuzz.ts), each of
 * which must get a 4xx JSON error, with nothing enqueued. `npm run chaos -- --tasks 0 --fuzz 5000` is the
 * long run. FUZZ_SEED=<n> replays another sequence.
 */

import { type FuzzRequest, judge, runFuzz, send, storeCounts } from '../../chaos/fuzz';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, type RunningRuntime } from './support/local-runtime';

// Booting the emulators and the JVM takes tens of seconds on a busy machine.
jest.setTimeout(240_000);

const RUNS = 300;
const SEED = Number(process.env.FUZZ_SEED ?? 20);
/** Every generator in chaos/fuzz.ts; a run of RUNS requests must reach each one. */
const KINDS = [
  'conflict',
  'content-type',
  'deep-nesting',
  'idempotency-key',
  'invalid-json',
  'method',
  'not-utf8',
  'oversized',
  'path-id',
  'proto-keys',
  'unknown-route',
  'wrong-field',
];

let agents: DemoAgents;
let runtime: RunningRuntime;

beforeAll(async () => {
  agents = await startDemoAgents({ port: 0 });
  runtime = await bootRuntime({ agentsUrl: agents.url });
});

afterAll(async () => {
  await runtime?.stop();
  await agents?.close();
});

describe('API fuzzing', () => {
  it('answers every generated bad request with a 4xx JSON error and enqueues nothing', async () => {
    // Act
    const report = await runFuzz({ apiUrl: runtime.apiUrl, runs: RUNS, seed: SEED });

    // Assess
    expect(report.violations).toEqual([]);
    expect(report.requests).toBe(RUNS);
    expect(Object.keys(report.byKind).sort()).toEqual(KINDS);
    expect(report.after).toEqual(report.before);
  });

  it('counts an accepted request as a violation and sees what it enqueued', async () => {
    // Prepare: a valid task (`__proto__` inside the payload is allowed), which the checks must not let through.
    const valid: FuzzRequest = {
      kind: 'valid',
      method: 'POST',
      path: '/tasks',
      headers: [['Content-Type', 'application/json']],
      body: Buffer.from('{"type":"echo","payload":{"__proto__":{"polluted":true}}}'),
    };
    const before = await storeCounts(runtime.apiUrl);

    // Act
    const response = await send(runtime.apiUrl, valid);

    // Assess
    expect(response.status).toBe(202);
    expect(judge(response)).toMatch(/^answered 202/);
    expect((await storeCounts(runtime.apiUrl)).taskItems).toBe(before.taskItems + 1);
  });
});
