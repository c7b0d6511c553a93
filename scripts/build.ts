/**
 * Builds the package into dist/ (`npm run build`, and `npm pack` through `prepack`):
 * 1. tsc (tsconfig.build.json): lib/, lambda/, cli/, local/ and bin/taskq.ts to JavaScript with declarations;
 * 2. the files those modules read at run time beside themselves (local/lambda-worker.cjs, local/java/…,
 *    lambda/core/generated/…), copied to the same place under dist/;
 * 3. one bundle per handler of lambda/handlers, dist/handlers/<name>/index.js (+ .map), made with the esbuild
 *    options of HandlerFunction (HANDLER_BUNDLING), and one per combination of the parts it can be built without
 *    (OPTIONAL_BUNDLE_PARTS, dist/handlers/<bundleName>): the built construct deploys these as they are.
 *
 *   npx tsx scripts/build.ts
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { type BundlePart, omitDefines } from '../lambda/contract/bundle-parts';
import {
  bundleName,
  bundleVariants,
  HANDLER_BUNDLING,
  LAZY_CHUNK_BUNDLING,
  LAZY_CHUNKS,
  OPTIONAL_BUNDLE_PARTS,
} from '../lib/handler-function';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
/** The folders tsc compiles; every file in them that is not TypeScript is copied as it is. */
const SOURCE_DIRS = ['cli', 'lambda', 'lib', 'local'];
/** A handler module exports `handler`; the other files of lambda/handlers are shared wiring. */
const HANDLER_EXPORT = /^export (const|async function|function) handler\b/m;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

function compile(): void {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (run.status !== 0) throw new Error(`tsc failed (exit ${run.status})`);
}

/** Copies the run-time files that are not TypeScript, unchanged (tsc would rewrite .js and .cjs files). */
function copyRuntimeFiles(): string[] {
  const copied = SOURCE_DIRS.flatMap((dir) => filesUnder(path.join(ROOT, dir)))
    .filter((file) => !file.endsWith('.ts'))
    .map((file) => path.relative(ROOT, file));
  for (const file of copied) cpSync(path.join(ROOT, file), path.join(DIST, file));
  return copied;
}

export function handlerNames(): string[] {
  const dir = path.join(ROOT, 'lambda', 'handlers');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ts') && HANDLER_EXPORT.test(readFileSync(path.join(dir, file), 'utf8')))
    .map((file) => file.slice(0, -'.ts'.length))
    .sort();
}

/** Every bundle to prebuild: each handler whole, and without each combination of its optional parts. */
export function prebuiltBundles(): Array<{ name: string; handler: string; omit: BundlePart[] }> {
  return handlerNames().flatMap((handler) =>
    bundleVariants(OPTIONAL_BUNDLE_PARTS[handler] ?? []).map((omit) => ({
      name: bundleName(handler, omit),
      handler,
      omit,
    })),
  );
}

async function bundleHandlers(): Promise<string[]> {
  const bundles = prebuiltBundles();
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: HANDLER_BUNDLING.target,
    format: HANDLER_BUNDLING.format,
    minify: HANDLER_BUNDLING.minify,
    logLevel: 'error',
  } as const;
  await Promise.all(
    bundles.flatMap(({ name, handler, omit }) => [
      build({
        ...common,
        entryPoints: [path.join(ROOT, 'lambda', 'handlers', `${handler}.ts`)],
        outfile: path.join(DIST, 'handlers', name, 'index.js'),
        sourcemap: HANDLER_BUNDLING.sourceMap,
        define: omitDefines(omit),
        external: [...LAZY_CHUNK_BUNDLING.external],
        supported: LAZY_CHUNK_BUNDLING.supported,
      }),
      // Its lazy chunks beside it, as HandlerFunction's bundling writes them.
      ...LAZY_CHUNKS.map((chunk) =>
        build({
          ...common,
          entryPoints: [path.join(ROOT, chunk.source)],
          outfile: path.join(DIST, 'handlers', name, chunk.file),
        }),
      ),
    ]),
  );
  return bundles.map((b) => b.name);
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  compile();
  const copied = copyRuntimeFiles();
  const handlers = await bundleHandlers();
  console.log(
    `dist/: compiled ${SOURCE_DIRS.join(', ')}, bin/taskq.ts; copied ${copied.join(', ')}; ` +
      `bundled ${handlers.length} handler bundles (${handlers.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
