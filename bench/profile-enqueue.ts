/**
 * `npx tsx bench/profile-enqueue.ts`: runs the enqueue load (c=32) against the local runtime with the main
 * thread's CPU profiler on during the load only, and prints where that thread spends its time (self time by
 * package or file). Used to explain the enqueue figure; not part of `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}

function bucket(url: string): string {
  if (!url) return '(native/idle)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return url;
  return path.relative(path.join(__dirname, '..'), url.replace('file://', ''));
}

if (process.argv[2] === '--child') {
  void (async () => {
    const { BenchSession } = await import('./session');
    const { runConcurrent } = await import('./load');
    const session = await BenchSession.start({});
    await session.warmUp(120_000);
    const body = { type: 'echo', payload: { data: 'x'.repeat(1000) }, delaySeconds: 900 };
    // Only the load window is profiled, not the synth and start-up before it.
    const inspector = new Session();
    inspector.connect();
    const post = (method: string) =>
      new Promise<unknown>((resolve, reject) =>
        inspector.post(method, (error, result) => (error ? reject(error) : resolve(result))),
      );
    await post('Profiler.enable');
    await post('Profiler.start');
    const out = await runConcurrent(1500, 32, () => session.submit(body));
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(path.join(process.argv[3]!, 'main-load-window.cpuprofile'), JSON.stringify(profile));
    console.log(`rps ${((out.latenciesMs.length / out.elapsedMs) * 1000).toFixed(1)}`);
    await session.purgeTiers();
    await session.stop();
  })();
} else {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-prof-'));
  const run = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', dir], {
    stdio: 'inherit',
    cwd: path.join(__dirname, '..'),
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
  for (const file of readdirSync(dir)) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
      nodes: ProfileNode[];
      samples: number[];
      timeDeltas: number[];
    };
    const byBucket = new Map<string, number>();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id)!;
      const key =
        node.callFrame.functionName === '(idle)'
          ? '(idle)'
          : bucket(node.callFrame.url) || node.callFrame.functionName;
      byBucket.set(key, (byBucket.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
    const total = [...byBucket.values()].reduce((a, b) => a + b, 0);
    const busy = total - (byBucket.get('(idle)') ?? 0);
    console.log(`\n${file}: ${Math.round(busy)} ms busy of ${Math.round(total)} ms`);
    for (const [k, v] of [...byBucket]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)) {
      console.log(`  ${k.padEnd(60)} ${Math.round(v)} ms (${((v / busy) * 100).toFixed(1)}%)`);
    }
  }
}
