/**
 * Figure 1, the cold-start proxy: each handler's minified bundle size, and the median time to `require` it in a
 * fresh process of the Node the functions run on (lib/handler-function.ts: nodejs24.x), beside a floor bundle
 * that only constructs the SDK clients the handler uses. Bundles and floors are built here with the options of
 * lib/handler-function.ts (esbuild: minify, source map, CJS, its target, everything bundled), the consumer
 * without the parts the bench's stack does not use as the construct leaves them out (HTTP agents without a
 * secret: no Lambda or Secrets Manager client), and the probe runs with the NODE_OPTIONS the functions get
 * (`--enable-source-maps`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import {
  type AgentTargets,
  type BundlePart,
  DEFAULTS,
  FUNCTION_ENV,
  omitDefines,
  parseAgentTargets,
} from '../lambda/contract';
import {
  bundleName,
  HANDLER_BUNDLING,
  LAZY_CHUNK_BUNDLING,
  OPTIONAL_BUNDLE_PARTS,
} from '../lib/handler-function';
import { median, ratio, round } from './stats';

const ROOT = path.join(__dirname, '..');
const PROBE = path.join(__dirname, 'require-probe.cjs');

/** The floor bundles of bench/floors: the SDK clients a handler constructs, and nothing else. */
type Floor = 'dynamodb' | 'sqs-dynamodb' | 'sqs-dynamodb-lambda';

interface Subject {
  readonly name: string;
  readonly entry: string;
  readonly floor: Floor;
  /** Parts the construct leaves out of this bundle for the bench's stack (see `omitFor`). */
  readonly omit?: readonly BundlePart[];
}

/** The esbuild target of the functions' runtime (`node24`), and its major version: the Node figure 1 runs on. */
export const FUNCTION_TARGET = HANDLER_BUNDLING.target;
export const FUNCTION_NODE_MAJOR = Number(FUNCTION_TARGET.replace(/^node/, ''));

const FLOOR_NAMES: Record<Floor, string> = {
  dynamodb: 'DynamoDB client',
  'sqs-dynamodb': 'SQS + DynamoDB clients',
  'sqs-dynamodb-lambda': 'SQS + DynamoDB + Lambda clients',
};

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
  RESULT_BUCKET_NAME: 'bench-results',
  LOG_LEVEL: 'INFO',
};

/**
 * Every variable a measured function reads at init (the contract's FUNCTION_ENV) must have a value here, or its
 * require throws and the figure is lost: checked before any process starts.
 */
function checkHandlerEnv(): void {
  const names = new Set((['producer', 'status', 'consumer'] as const).flatMap((fn) => [...FUNCTION_ENV[fn]]));
  const missing = [...names].filter((name) => !(name in HANDLER_ENV));
  if (missing.length > 0) throw new Error(`bench/cold-start.ts HANDLER_ENV lacks ${missing.join(', ')}`);
}

/**
 * The parts of `handler` that no agent of `agents` needs: what the construct leaves out of that handler's bundle
 * (lib/agents.ts `unusedAgentClients`, here read from the consumer's `AGENTS`).
 */
export function omitFor(handler: string, agents: AgentTargets): BundlePart[] {
  const all = Object.values(agents);
  const used = new Set<BundlePart>([
    ...(all.some((agent) => agent.kind === 'lambda') ? (['lambda-agents'] as const) : []),
    ...(all.some((agent) => agent.kind === 'http' && agent.authSecretArn !== undefined)
      ? (['agent-secrets'] as const)
      : []),
  ]);
  return (OPTIONAL_BUNDLE_PARTS[handler] ?? []).filter((part) => !used.has(part));
}

const BENCH_AGENTS = parseAgentTargets(HANDLER_ENV.AGENTS);

export const HANDLERS: readonly Subject[] = [
  { name: 'producer (enqueue)', entry: 'lambda/handlers/enqueue.ts', floor: 'sqs-dynamodb' },
  { name: 'status/cancel (task-status)', entry: 'lambda/handlers/task-status.ts', floor: 'dynamodb' },
  {
    name: 'consumer',
    entry: 'lambda/handlers/consumer.ts',
    floor: 'sqs-dynamodb',
    omit: omitFor('consumer', BENCH_AGENTS),
  },
];

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
  /** The Node the bundles were required with (`process.version` of the binary), and how it was found. */
  readonly node?: { readonly version: string; readonly source: string };
  /**
   * The consumer as a stack with Lambda agents and agent secrets gets it (every part bundled), against its own
   * floor: the SQS, DynamoDB and Lambda clients.
   */
  readonly consumerWithEveryPart?: VariantFigure & { readonly floor: string };
}

async function bundle(
  entry: string,
  outfile: string,
  options: { omit?: readonly BundlePart[]; target?: string } = {},
): Promise<{ kb: number; composition: Record<string, number> }> {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: HANDLER_BUNDLING.format,
    target: options.target ?? FUNCTION_TARGET,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    metafile: true,
    define: omitDefines(options.omit ?? []),
    // As HandlerFunction bundles: the lazy chunks stay out (loaded on first use, never at init).
    external: [...LAZY_CHUNK_BUNDLING.external],
    supported: LAZY_CHUNK_BUNDLING.supported,
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

/** Builds the floor bundles of `floors` into `outDir` for `target`: file and KB of each. */
async function buildFloors(
  outDir: string,
  floors: readonly Floor[],
  target: string,
): Promise<Record<Floor, { file: string; kb: number }>> {
  const built: Partial<Record<Floor, { file: string; kb: number }>> = {};
  for (const floor of floors) {
    const file = path.join(outDir, `floor-${floor}-${target}.js`);
    built[floor] = { file, kb: (await bundle(`bench/floors/${floor}.ts`, file, { target })).kb };
  }
  return built as Record<Floor, { file: string; kb: number }>;
}

export async function coldStart(options: {
  runs: number;
  withoutSourceMaps: boolean;
  /** Also measure the consumer with every part, as a stack with Lambda agents and agent secrets gets it. */
  experiments: boolean;
  /** The Node the functions run on (FUNCTION_NODE_MAJOR). @default - the Node running the bench */
  node?: { readonly path: string; readonly version: string; readonly source: string };
  progress: (line: string) => void;
}): Promise<ColdStartResult> {
  checkHandlerEnv();
  const outDir = path.join(os.tmpdir(), 'agent-task-queue-bench');
  mkdirSync(outDir, { recursive: true });
  const node = options.node ?? {
    path: process.execPath,
    version: process.version,
    source: 'the Node running the bench',
  };
  const floors = await buildFloors(
    outDir,
    ['dynamodb', 'sqs-dynamodb', ...(options.experiments ? (['sqs-dynamodb-lambda'] as const) : [])],
    FUNCTION_TARGET,
  );
  const assets = cdkAssetSizes();
  const nodeOptions = '--enable-source-maps';
  const rows: ColdStartRow[] = [];
  const plain: VariantFigure[] = [];
  for (const subject of HANDLERS) {
    const handler = path.basename(subject.entry, '.ts');
    const file = path.join(outDir, `${bundleName(handler, subject.omit)}-${FUNCTION_TARGET}.js`);
    const { kb, composition } = await bundle(subject.entry, file, { omit: subject.omit });
    const floor = floors[subject.floor];
    const { h, f } = measurePair(file, floor.file, options.runs, nodeOptions, node.path);
    const handlerBundle = figure(kb, h, composition);
    const floorBundle = figure(floor.kb, f);
    const cpuRatio = handlerBundle.cpuMedianMs / floorBundle.cpuMedianMs;
    const row: ColdStartRow = {
      handler: subject.name,
      floor: FLOOR_NAMES[subject.floor],
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
      const p = measurePair(file, floor.file, options.runs, '', node.path);
      plain.push(variant(subject.name, kb, p.h, p.f));
    }
  }
  let consumerWithEveryPart: ColdStartResult['consumerWithEveryPart'];
  if (options.experiments) {
    const file = path.join(outDir, `consumer-${FUNCTION_TARGET}.js`);
    const { kb } = await bundle('lambda/handlers/consumer.ts', file);
    const floor = floors['sqs-dynamodb-lambda'];
    const { h, f } = measurePair(file, floor.file, options.runs, nodeOptions, node.path);
    consumerWithEveryPart = {
      ...variant('consumer with every part (Lambda agents, agent secrets)', kb, h, f),
      floor: FLOOR_NAMES['sqs-dynamodb-lambda'],
    };
    options.progress(
      `  ${consumerWithEveryPart.handler}: ${kb} KB, CPU ${consumerWithEveryPart.handlerCpuMs} ms vs floor ${consumerWithEveryPart.floorCpuMs} ms (${consumerWithEveryPart.ratio}×)`,
    );
  }
  return {
    runs: options.runs,
    nodeOptions,
    node: { version: node.version, source: node.source },
    rows,
    ...(options.withoutSourceMaps && { withoutSourceMaps: plain }),
    ...(consumerWithEveryPart && { consumerWithEveryPart }),
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
  checkHandlerEnv();
  const outDir = path.join(os.tmpdir(), 'agent-task-queue-bench');
  mkdirSync(outDir, { recursive: true });
  const nodeOptions = '--enable-source-maps';
  const built = new Map<
    number,
    {
      floors: Record<Floor, { file: string; kb: number }>;
      handlers: Map<string, { file: string; kb: number }>;
    }
  >();
  for (const node of options.nodes) {
    const target = `node${node.major}`;
    const floors = await buildFloors(outDir, ['dynamodb', 'sqs-dynamodb'], target);
    const handlers = new Map<string, { file: string; kb: number }>();
    for (const subject of HANDLERS) {
      const handler = path.basename(subject.entry, '.ts');
      const file = path.join(outDir, `${bundleName(handler, subject.omit)}-${target}.js`);
      handlers.set(subject.entry, {
        file,
        kb: (await bundle(subject.entry, file, { omit: subject.omit, target })).kb,
      });
    }
    built.set(node.major, { floors, handlers });
  }
  const rows: RuntimeInitRow[] = [];
  for (const subject of HANDLERS) {
    const samples = new Map<number, { h: Sample[]; f: Sample[] }>();
    for (const node of options.nodes) samples.set(node.major, { h: [], f: [] });
    const files = (major: number) => {
      const b = built.get(major)!;
      return { handler: b.handlers.get(subject.entry)!.file, floor: b.floors[subject.floor].file };
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
