import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type Invocation, LambdaPool, type LocalFunction } from '../../../local/lambda-pool';

jest.setTimeout(30_000);

const HANDLER = `
exports.handler = async (event, context) => {
  if (event.throw) throw Object.assign(new Error('boom'), { name: 'BoomError' });
  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  if (event.exit !== undefined) process.exit(event.exit);
  return { event, pid: process.pid, appId: process.env.AWS_SDK_UA_APP_ID, variable: process.env.MY_VARIABLE, functionName: context.functionName };
};
`;

let codePath: string;
const pools: LambdaPool[] = [];

beforeAll(() => {
  codePath = mkdtempSync(path.join(tmpdir(), 'lambda-pool-'));
  writeFileSync(path.join(codePath, 'index.js'), HANDLER);
});
afterAll(() => rmSync(codePath, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

function pool(
  overrides: Partial<LocalFunction> = {},
  maxWorkers = 2,
  onInvoke?: (invocation: Invocation) => void,
): LambdaPool {
  const fn: LocalFunction = {
    logicalId: 'EchoFunction',
    name: 'Local-EchoFunction',
    arn: 'arn:aws:lambda:us-east-1:000000000000:function:Local-EchoFunction',
    codePath,
    handler: 'index.handler',
    timeoutSeconds: 10,
    memorySize: 128,
    logGroupName: '/aws/lambda/Local-EchoFunction',
    env: { MY_VARIABLE: 'from the template' },
    ...overrides,
  };
  const p = new LambdaPool(fn, { maxWorkers, log: () => {}, ...(onInvoke && { onInvoke }) });
  pools.push(p);
  return p;
}

interface Echo {
  readonly event: unknown;
  readonly pid: number;
  readonly appId: string;
  readonly variable: string;
  readonly functionName: string;
}

async function echo(p: LambdaPool, event: Record<string, unknown> = {}): Promise<Echo> {
  const out = await p.invoke(event);
  if (!out.ok) throw new Error(`invocation failed: ${out.error.errorMessage}`);
  return out.result as Echo;
}

describe('Class: LambdaPool', () => {
  it("returns the handler's result, run with the function's environment and context", async () => {
    const result = await echo(pool(), { a: 1 });
    expect(result).toMatchObject({
      event: { a: 1 },
      appId: 'EchoFunction.1',
      variable: 'from the template',
      functionName: 'Local-EchoFunction',
    });
  });

  it('tells onInvoke of each invocation once it ends: its event, outcome and the time the handler held it', async () => {
    // Prepare
    const seen: Invocation[] = [];
    const p = pool({}, 2, (invocation) => seen.push(invocation));

    // Act
    await echo(p, { sleepMs: 50 });
    await p.invoke({ throw: true });

    // Assess
    expect(seen).toEqual([
      expect.objectContaining({ logicalId: 'EchoFunction', event: { sleepMs: 50 }, ok: true }),
      expect.objectContaining({ logicalId: 'EchoFunction', event: { throw: true }, ok: false }),
    ]);
    // A lower bound, not a speed target: the duration covers the handler's 50 ms sleep.
    expect(seen[0]!.durationMs).toBeGreaterThanOrEqual(45);
  });

  it("reports the handler's error as Lambda does, and keeps the environment", async () => {
    const p = pool();
    const first = await echo(p);
    expect(await p.invoke({ throw: true })).toMatchObject({
      ok: false,
      timedOut: false,
      error: { errorType: 'BoomError', errorMessage: 'boom' },
    });
    expect((await echo(p)).pid).toBe(first.pid);
  });

  it('fails an invocation that outlives the Timeout, and replaces its environment', async () => {
    const p = pool({ timeoutSeconds: 0.5 });
    const first = await echo(p);
    expect(await p.invoke({ sleepMs: 20_000 })).toMatchObject({
      ok: false,
      timedOut: true,
      error: {
        errorType: 'Sandbox.Timedout',
        errorMessage: expect.stringMatching(
          /^RequestId: [0-9a-f-]{36} Error: Task timed out after 0\.50 seconds$/,
        ),
      },
    });
    expect((await echo(p)).pid).not.toBe(first.pid);
  });

  it('fails only its own invocation when the runtime exits, and the next one gets a new environment', async () => {
    const p = pool();
    expect(await p.invoke({ exit: 3 })).toMatchObject({
      ok: false,
      timedOut: false,
      error: { errorType: 'Runtime.ExitError', errorMessage: 'the runtime exited with code 3' },
    });
    expect((await echo(p)).event).toEqual({});
  });

  it('kills an environment by its app id mid-invocation, as a crash would', async () => {
    // Prepare
    const p = pool();
    await p.warm();
    expect(p.owns('EchoFunction.1')).toBe(true);
    const running = p.invoke({ sleepMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Act
    p.kill('EchoFunction.1');

    // Assess
    expect(await running).toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.ExitError', errorMessage: 'the runtime exited with signal SIGKILL' },
    });
    expect(p.owns('EchoFunction.1')).toBe(false);
  });

  it('runs no more environments than maxWorkers: further invocations wait for a free one', async () => {
    const p = pool({}, 1);
    const results = await Promise.all([echo(p, { sleepMs: 100 }), echo(p, { sleepMs: 100 }), echo(p)]);
    expect(new Set(results.map((r) => r.pid)).size).toBe(1);
  });

  it('grows up to maxWorkers for concurrent invocations', async () => {
    const p = pool({}, 2);
    const results = await Promise.all([echo(p, { sleepMs: 500 }), echo(p, { sleepMs: 500 })]);
    expect(new Set(results.map((r) => r.appId))).toEqual(new Set(['EchoFunction.1', 'EchoFunction.2']));
  });

  it('throws from warm when the handler cannot be loaded, and fails its invocations with the init error', async () => {
    const p = pool({ handler: 'index.missing' });
    await expect(p.warm()).rejects.toThrow('EchoFunction failed to initialise: index.missing is undefined');
    expect(await p.invoke({})).toMatchObject({ ok: false, error: { errorType: 'Runtime.HandlerNotFound' } });
  });

  it('settles a running invocation and refuses new ones once stopped', async () => {
    const p = pool();
    await p.warm();
    const running = p.invoke({ sleepMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await p.stop();
    expect(await running).toMatchObject({ ok: false, error: { errorType: 'ServiceUnavailable' } });
    expect(await p.invoke({})).toMatchObject({ ok: false, error: { errorType: 'ServiceUnavailable' } });
  });
});
