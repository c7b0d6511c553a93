/**
 * Figure 1, the cold-start proxy: each handler's minified bundle size, and the median time to `require` it in a
 * fresh `node` process, beside a floor bundle that only constructs the SDK clients the handler uses. Bundles
 * are built here with the options of lib/handler-function.ts (esbuild: minify, source map, CJS, node22,
 * everything bundled), and the probe runs with the NODE_OPTIONS the functions get (`--enable-source-maps`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { DEFAULTS } from '../lambda/contract';
import { median, ratio, round } from './stats';

const ROOT = path.join(__dirname, '..');
const PROBE = path.join(__dirname, 'require-probe.cjs');

interface Subject {
  readonly name: string;
  readonly entry: string;
  readonly floor: 'dynamodb' | 'sqs-dynamodb';
}

export const HANDLERS: readonly Subject[] = [
  { name: 'producer (enqueue)', entry: 'lambda/handlers/enqueue.ts', floor: 'sqs-dynamodb' },
  { name: 'status/cancel (task-status)', entry: 'lambda/handlers/task-status.ts', floor: 'dynamodb' },
  { name: 'consumer', entry: 'lambda/handlers/consumer.ts', floor: 'sqs-dynamodb' },
];

/** What requireEnv asks for at init; the values are never used by a require. */
const HANDLER_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TASK_TYPES: 'echo',
  TASK_TABLE_NAME: 'bench-table',
  HIGH_QUEUE_URL: 'http://127.0.0.1:9/000000000000/high',
  LOW_QUEUE_URL: 'http://127.0.0.1:9/000000000000/low',
  QUEUE_URL: 'http://127.0.0.1:9/000000000000/low',
  DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/low-dlq',
  AGENTS: JSON.stringify({ echo: { kind: 'http', url: 'http://127.0.0.1:9/echo', timeoutSeconds: 10 } }),
  MAX_BODY_BYTES: String(DEFAULTS.maxBodyBytes),
  MAX_JSON_DEPTH: String(DEFAULTS.maxJsonDepth),
  TASK_RETENTION_SECONDS: String(DEFAULTS.taskRetentionSeconds),
  MAX_RECEIVE_COUNT: String(DEFAULTS.maxReceiveCount),
  LEASE_SECONDS: String(DEFAULTS.consumerTimeoutSeconds * 2),
  BACKOFF_BASE_SECONDS: String(DEFAULTS.backoffBaseSeconds),
  BACKOFF_CAP_SECONDS: String(DEFAULTS.backoffCapSeconds),
  MAX_RESULT_BYTES: String(DEFAULTS.maxResultBytes),
  TOPICS: '{}',
  CALLBACK_BASE_URL: 'https://abc123def4.execute-api.us-east-1.amazonaws.com',
  LIMITS_TABLE_NAME: 'bench-limits',
  TENANT_MAX_CONCURRENCY: '0',
  LIMIT_WAKE_UP_SECONDS: String(DEFAULTS.limitWakeUpSeconds),
  LOG_LEVEL: 'INFO',
};

export interface BundleFigure {
  readonly bundleKB: number;
  /** The largest packages in the bundle, KB of minified output each: where the init time goes. */
  readonly composition?: Record<string, number>;
  /** Median wall-clock time of the require. */
  readonly initMedianMs: number;
  /** Median CPU time (user + system, all threads) of the require: what a loaded machine disturbs least. */
  readonly cpuMedianMs: number;
  readonly initSamplesMs: number[];
  readonly cpuSamplesMs: number[];
}

export interface ColdStartRow {
  readonly handler: string;
  readonly floor: string;
  readonly handlerBundle: BundleFigure;
  readonly floorBundle: BundleFigure;
  /** Median CPU init of the handler ÷ that of its floor; target ≤ 1.15. */
  readonly ratio: number;
  /** The same with wall-clock medians. */
  readonly wallRatio: number;
  readonly meetsTarget: boolean;
  /** Size of the same handler's asset in cdk.local.out, when a synth left one: a check that this bundle is the shipped one. */
  readonly cdkAssetKB?: number;
}

export interface VariantFigure {
  readonly handler: string;
  readonly bundleKB: number;
  readonly handlerCpuMs: number;
  readonly floorCpuMs: number;
  readonly handlerWallMs: number;
  readonly floorWallMs: number;
  readonly ratio: number;
}

export interface ColdStartResult {
  readonly runs: number;
  readonly nodeOptions: string;
  readonly rows: ColdStartRow[];
  /** The same without --enable-source-maps: what the source-map option costs at init. */
  readonly withoutSourceMaps?: VariantFigure[];
  /**
   * An experiment, not the shipped bundle: the consumer with the clients it only imports lazily (Lambda agents,
   * Secrets Manager auth) left out of the bundle, as a separately loaded chunk would leave them.
   */
  readonly consumerWithoutLazyClients?: VariantFigure;
}

/** Clients the consumer imports only when an agent needs them (see lambda/adapters/agents.ts). */
const LAZY_CLIENTS = ['@aws-sdk/client-lambda', '@aws-sdk/client-secrets-manager'];

async function bundle(
  entry: string,
  outfile: string,
  external: string[] = [],
  target = 'node22',
): Promise<{ kb: number; composition: Record<string, number> }> {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target,
    minify: true,
    sourcemap: true,
    metafile: true,
    external,
    logLevel: 'error',
  });
  const byPackage = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const pkg =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
    }
  }
  const composition = Object.fromEntries(
    [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => [k, round(v / 1024)]),
  );
  return { kb: round(statSync(outfile).size / 1024), composition };
}

/** Sizes of the cdk.local.out assets by handler entry, read from the local runtime's bundle cache. */
function cdkAssetSizes(): Map<string, number> {
  const sizes = new Map<string, number>();
  const dir = path.join(ROOT, 'cdk.local.out');
  try {
    const cache = JSON.parse(readFileSync(path.join(dir, 'local-bundles.json'), 'utf8')) as {
      assets: Record<string, string>;
    };
    for (const [constructPath, asset] of Object.entries(cache.assets)) {
      const file = path.join(dir, asset, 'index.js');
      if (!existsSync(file)) continue;
      const kb = round(statSync(file).size / 1024);
      if (constructPath.endsWith('/Producer/Resource')) sizes.set('lambda/handlers/enqueue.ts', kb);
      if (constructPath.endsWith('/Status/Resource')) sizes.set('lambda/handlers/task-status.ts', kb);
      if (constructPath.endsWith('/Consumer/Resource')) sizes.set('lambda/handlers/consumer.ts', kb);
    }
  } catch {
    // No local synth yet: the check is skipped.
  }
  return sizes;
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function requireOnce(file: string, nodeOptions: string, node = process.execPath): Sample {
  const out = spawnSync(node, [PROBE, file], {
    env: { ...HANDLER_ENV, NODE_OPTIONS: nodeOptions, PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`requiring ${file} failed: ${out.stderr}`);
  const [wallMs, cpuMs] = out.stdout.trim().split(' ').map(Number);
  return { wallMs: wallMs!, cpuMs: cpuMs! };
}

function figure(kb: number, samples: Sample[], composition?: Record<string, number>): BundleFigure {
  const wall = samples.map((x) => x.wallMs);
  const cpu = samples.map((x) => x.cpuMs);
  return {
    bundleKB: kb,
    ...(composition && { composition }),
    initMedianMs: round(median(wall)),
    cpuMedianMs: round(median(cpu)),
    initSamplesMs: wall.map((x) => round(x)),
    cpuSamplesMs: cpu.map((x) => round(x)),
  };
}

/** Interleaves handler and floor runs, so that drift in the machine's speed hits both alike. */
function measurePair(
  handlerFile: string,
  floorFile: string,
  runs: number,
  nodeOptions: string,
  node = process.execPath,
) {
  // One unmeasured run each warms the file cache.
  requireOnce(handlerFile, nodeOptions, node);
  requireOnce(floorFile, nodeOptions, node);
  const h: Sample[] = [];
  const f: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    h.push(requireOnce(handlerFile, nodeOptions, node));
    f.push(requireOnce(floorFile, nodeOptions, node));
  }
  return { h, f };
}

function variant(handler: string, kb: number, h: Sample[], f: Sample[]): VariantFigure {
  const hf = figure(kb, h);
  const ff = figure(0, f);
  return {
    handler,
    bundleKB: kb,
    handlerCpuMs: hf.cpuMedianMs,
    floorCpuMs: ff.cpuMedianMs,
    handlerWallMs: hf.initMedianMs,
    floorWallMs: ff.initMedianMs,
    ratio: ratio(hf.cpuMedianMs, ff.cpuMedianMs),
  };
}

export async function coldStart(options: {
  runs: number;
  withoutSourceMaps: boolean;
  /** Also measure the consumer without its lazily used clients. */
  experiments: boolean;
  progress: (line: string) => void;
}): Promise<ColdStartResult> {
  const outDir = path.join(os.tmpdir(), 'agent-task-queue-bench');
  mkdirSync(outDir, { recursive: true });
  const floors = {
    dynamodb: path.join(outDir, 'floor-dynamodb.js'),
    'sqs-dynamodb': path.join(outDir, 'floor-sqs-dynamodb.js'),
  };
  const floorKB = {
    dynamodb: (await bundle('bench/floors/dynamodb.ts', floors.dynamodb)).kb,
    'sqs-dynamodb': (await bundle('bench/floors/sqs-dynamodb.ts', floors['sqs-dynamodb'])).kb,
  };
  const assets = cdkAssetSizes();
  const nodeOptions = '--enable-source-maps';
  const rows: ColdStartRow[] = [];
  const plain: VariantFigure[] = [];
  for (const subject of HANDLERS) {
    const file = path.join(outDir, `${path.basename(subject.entry, '.ts')}.js`);
    const { kb, composition } = await bundle(subject.entry, file);
    const floorFile = floors[subject.floor];
    const { h, f } = measurePair(file, floorFile, options.runs, nodeOptions);
    const handlerBundle = figure(kb, h, composition);
    const floorBundle = figure(floorKB[subject.floor], f);
    const cpuRatio = handlerBundle.cpuMedianMs / floorBundle.cpuMedianMs;
    const row: ColdStartRow = {
      handler: subject.name,
      floor: subject.floor === 'dynamodb' ? 'DynamoDB client' : 'SQS + DynamoDB clients',
      handlerBundle,
      floorBundle,
      ratio: round(cpuRatio, 2),
      wallRatio: ratio(handlerBundle.initMedianMs, floorBundle.initMedianMs),
      meetsTarget: cpuRatio <= 1.15,
      ...(assets.has(subject.entry) && { cdkAssetKB: assets.get(subject.entry) }),
    };
    rows.push(row);
    options.progress(
      `  ${subject.name}: ${kb} KB, CPU ${handlerBundle.cpuMedianMs} ms vs floor ${floorBundle.cpuMedianMs} ms (${row.ratio}×); ` +
        `wall ${handlerBundle.initMedianMs} vs ${floorBundle.initMedianMs} ms (${row.wallRatio}×)`,
    );
    if (options.withoutSourceMaps) {
      const p = measurePair(file, floorFile, options.runs, '');
      plain.push(variant(subject.name, kb, p.h, p.f));
    }
  }
  let consumerWithoutLazyClients: VariantFigure | undefined;
  if (options.experiments) {
    const file = path.join(outDir, 'consumer-without-lazy-clients.js');
    const { kb } = await bundle('lambda/handlers/consumer.ts', file, LAZY_CLIENTS);
    const { h, f } = measurePair(file, floors['sqs-dynamodb'], options.runs, nodeOptions);
    consumerWithoutLazyClients = variant(`consumer without ${LAZY_CLIENTS.join(', ')}`, kb, h, f);
    options.progress(
      `  experiment, ${consumerWithoutLazyClients.handler}: ${kb} KB, CPU ${consumerWithoutLazyClients.handlerCpuMs} ms vs floor ${consumerWithoutLazyClients.floorCpuMs} ms (${consumerWithoutLazyClients.ratio}×)`,
    );
  }
  return {
    runs: options.runs,
    nodeOptions,
    rows,
    ...(options.withoutSourceMaps && { withoutSourceMaps: plain }),
    ...(consumerWithoutLazyClients && { consumerWithoutLazyClients }),
  };
}

export interface RuntimeInitRow {
  readonly node: string;
  readonly handler: string;
  readonly bundleKB: number;
  readonly handlerCpuMs: number;
  readonly floorCpuMs: number;
  readonly handlerWallMs: number;
  readonly floorWallMs: number;
  /** Handler CPU ÷ floor CPU, both built for and run on this Node; target ≤ 1.15. */
  readonly ratio: number;
}

/**
 * Figure 10's init: every handler bundle and its floor, built for each Node's esbuild target (`node22`, `node24`)
 * and required in fresh processes of that Node, with the functions' NODE_OPTIONS. Nodes are interleaved per handler,
 * so that drift in the machine's speed hits both alike.
 */
export async function initByRuntime(options: {
  runs: number;
  nodes: ReadonlyArray<{ major: number; path: string; version: string }>;
  progress: (line: string) => void;
}): Promise<RuntimeInitRow[]> {
  const outDir = path.join(os.tmpdir(), 'agent-task-queue-bench');
  mkdirSync(outDir, { recursive: true });
  const nodeOptions = '--enable-source-maps';
  const built = new Map<
    number,
    { floors: Record<Subject['floor'], string>; handlers: Map<string, { file: string; kb: number }> }
  >();
  for (const node of options.nodes) {
    const target = `node${node.major}`;
    const floors = {
      dynamodb: path.join(outDir, `floor-dynamodb-${target}.js`),
      'sqs-dynamodb': path.join(outDir, `floor-sqs-dynamodb-${target}.js`),
    };
    await bundle('bench/floors/dynamodb.ts', floors.dynamodb, [], target);
    await bundle('bench/floors/sqs-dynamodb.ts', floors['sqs-dynamodb'], [], target);
    const handlers = new Map<string, { file: string; kb: number }>();
    for (const subject of HANDLERS) {
      const file = path.join(outDir, `${path.basename(subject.entry, '.ts')}-${target}.js`);
      handlers.set(subject.entry, { file, kb: (await bundle(subject.entry, file, [], target)).kb });
    }
    built.set(node.major, { floors, handlers });
  }
  const rows: RuntimeInitRow[] = [];
  for (const subject of HANDLERS) {
    const samples = new Map<number, { h: Sample[]; f: Sample[] }>();
    for (const node of options.nodes) samples.set(node.major, { h: [], f: [] });
    const files = (major: number) => {
      const b = built.get(major)!;
      return { handler: b.handlers.get(subject.entry)!.file, floor: b.floors[subject.floor] };
    };
    // One unmeasured require of each warms the file cache; then rounds of one pair per Node, so that both Nodes
    // see the same stretch of the machine's load.
    for (const node of options.nodes)
      measurePair(files(node.major).handler, files(node.major).floor, 0, nodeOptions, node.path);
    for (let round = 0; round < options.runs; round++) {
      for (const node of options.nodes) {
        const { handler, floor } = files(node.major);
        samples.get(node.major)!.h.push(requireOnce(handler, nodeOptions, node.path));
        samples.get(node.major)!.f.push(requireOnce(floor, nodeOptions, node.path));
      }
    }
    for (const node of options.nodes) {
      const { h, f } = samples.get(node.major)!;
      const v = variant(subject.name, built.get(node.major)!.handlers.get(subject.entry)!.kb, h, f);
      const row: RuntimeInitRow = {
        node: node.version,
        handler: subject.name,
        bundleKB: v.bundleKB,
        handlerCpuMs: v.handlerCpuMs,
        floorCpuMs: v.floorCpuMs,
        handlerWallMs: v.handlerWallMs,
        floorWallMs: v.floorWallMs,
        ratio: v.ratio,
      };
      rows.push(row);
      options.progress(
        `  ${subject.name} on ${node.version}: init CPU ${row.handlerCpuMs} ms vs floor ${row.floorCpuMs} ms (${row.ratio}×), wall ${row.handlerWallMs} vs ${row.floorWallMs} ms`,
      );
    }
  }
  return rows;
}
