/**
 * API fuzzing against the real local runtime: a few hundred generated requests (chaos/fuzz/). Each bad one
 * must get a 4xx JSON error, with nothing enqueued; each bad callback (a token no attempt was given) leaves the
 * running async task it aims at RUNNING; each valid one (edgy text and numbers, misbehaving agents)
 * must be accepted and end as expected. `npm run chaos -- --tasks 0 --fuzz 5000` is the long run.
 * FUZZ_SEED=<n> replays another sequence.
 */

import { type FuzzRequest, judge, runFuzz, send, storeCounts } from '../../chaos/fuzz';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, type RunningRuntime } from './support/local-runtime';

// Booting the emulators and the JVM takes tens of seconds on a busy machine.
jest.setTimeout(240_000);

const RUNS = 300;
const SEED = Number(process.env.FUZZ_SEED ?? 20);
/**
 * Every bad-request generator (chaos/fuzz/bad-requests.ts and callback-requests.ts); a run of RUNS requests must
 * reach each one.
 */
const KINDS = [
  'callback-auth',
  'callback-body',
  'callback-content-type',
  'callback-not-utf8',
  'callback-oversized',
  'callback-path-id',
  'callback-route',
  'callback-token',
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

/** Valid-task generators that a run of RUNS requests must reach (the rarer ones need the long run). */
const VALID_KINDS = ['exact-number', 'exact-text'];

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
  it('answers every generated bad request with a 4xx JSON error, lets no wrong token change a task, and runs every valid task exactly as sent', async () => {
    // Act: answers of 5 MB at most here; the long run asks for 300 MB.
    const report = await runFuzz({
      apiUrl: runtime.apiUrl,
      runs: RUNS,
      seed: SEED,
      agents,
      maxAnswerBytes: 5_000_000,
    });

    // Assess
    expect(report.violations).toEqual([]);
    expect(report.requests).toBe(RUNS);
    expect(Object.keys(report.byKind)).toEqual(expect.arrayContaining([...KINDS, ...VALID_KINDS]));
    expect(report.accepted).toBeGreaterThan(0);
    // The callback anchor is the one task item besides the accepted ones.
    expect(report.after.taskItems).toBe(report.before.taskItems + report.accepted + 1);
    expect(report.after.queuedMessages).toBe(report.before.queuedMessages);
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
