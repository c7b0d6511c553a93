/**
 * The cloud assembly of a CDK app, as `cdk synth` makes it: from a command that synthesizes the app (run with
 * `CDK_OUTDIR` and `CDK_CONTEXT_JSON`, as the CDK CLI runs it), or from a folder that already holds an assembly.
 * The local runtime reads the stacks' templates and the folders their functions' code was bundled to.
 *
 * A synth costs seconds (loading aws-cdk-lib, and above all bundling the functions), so its result is cached in
 * the output folder, under two keys:
 * - the bundles, on the command and a hash of the app folder's source files (every file git does not ignore, but
 *   those under node_modules, .git, the CDK output folders and dot-folders, documentation, images and test files
 *   by name). While it holds, a synth skips bundling (`aws:cdk:bundling-stacks: []`)
 *   and each function runs from the asset folder its code went to last time, found by construct path;
 * - the stacks, on the same plus the context, one file per context (so that runtimes of different configurations,
 *   e.g. test suites side by side, do not evict each other's). While it holds, there is no synth at all.
 * A new context alone (e.g. another agents URL) thus costs a synth without bundling.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import type { Template } from './template';

/** The CDK CLI's environment variables for the app it runs (aws-cdk-lib cx-api `OUTDIR_ENV`, `CONTEXT_ENV`). */
const OUTDIR_ENV = 'CDK_OUTDIR';
const CONTEXT_ENV = 'CDK_CONTEXT_JSON';
/** Context the local runtime always needs: construct paths and asset folders in the template's metadata. */
const METADATA_CONTEXT = { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true };
/** Folders whose files are not the app's sources. */
const SKIPPED_FOLDERS = new Set(['node_modules', 'cdk.out', 'cdk.local.out']);
/** Files that neither the app nor its bundles load: documentation, images, logs, and test files by their names. */
const NOT_SOURCES = /(\.(md|markdown|txt|log|png|jpe?g|gif|svg)|\.(test|spec)\.[cm]?[jt]sx?)$/i;
/** The folder of the stacks' cache files, one per stacks key. */
const STACKS_CACHE_DIR = 'local-stacks';
/** Also read by bench/cold-start.ts. */
const ASSETS_CACHE_FILE = 'local-bundles.json';
/** A synth folder no runtime started from for this long is deleted at the next synth that bundles. */
const STALE_SYNTH_MS = 24 * 3600 * 1000;

/** One stack of the assembly. */
export interface AssemblyStack {
  /** The CloudFormation stack name. */
  readonly stackName: string;
  /** The stack's construct path in the app (`Stage/Stack`), as `cdk list` shows it. */
  readonly displayName: string;
  readonly template: Template;
  /** Absolute folder holding the code of a function, by logical id. */
  readonly codePaths: ReadonlyMap<string, string>;
}

export interface LocalAssembly {
  readonly stacks: readonly AssemblyStack[];
  /** What came from the cache: nothing, the bundles, or the whole synth; `assembly` when read from a folder. */
  readonly cached: 'none' | 'bundles' | 'template' | 'assembly';
}

export interface SynthOptions {
  /** The command that synthesizes the app (cdk.json's `app`). */
  readonly command: string;
  /** The app's folder: the command runs there, and its files make the cache key. */
  readonly appDir: string;
  /** Context over cdk.json's (and cdk.context.json's) `context`. @default - none */
  readonly context?: Readonly<Record<string, unknown>>;
  /** The output folder and cache. @default '<appDir>/cdk.local.out' */
  readonly outdir?: string;
  /** Folders inside the app folder whose files are not sources (e.g. a persisted state). @default - none */
  readonly ignore?: readonly string[];
}

interface StacksCache {
  readonly key: string;
  readonly stacks: ReadonlyArray<Omit<AssemblyStack, 'codePaths'> & { codePaths: Record<string, string> }>;
}

interface AssetsCache {
  readonly key: string;
  /** Asset folder (relative to the outdir) by construct path of the function. */
  readonly assets: Record<string, string>;
}

/** An artifact of manifest.json, as far as the runtime reads it. */
interface Artifact {
  readonly type: string;
  readonly displayName?: string;
  readonly properties?: { templateFile?: string; stackName?: string; directoryName?: string };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes a cache file whole or not at all, so that a runtime starting beside this one never reads half of it. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

const functionsOf = (template: Template) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

const constructPath = (metadata: Record<string, unknown> | undefined) =>
  String(metadata?.['aws:cdk:path'] ?? '');

/**
 * Reads the stacks of a cloud assembly folder, nested assemblies (stages) included. A function's code is the
 * folder of its `aws:asset:path` metadata; a function without one (inline or S3 code) gets no code path.
 */
export function readAssembly(dir: string): AssemblyStack[] {
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = readJson<{ artifacts?: Record<string, Artifact> }>(manifestFile);
  if (!manifest) throw new Error(`${dir} is not a cloud assembly: it has no readable manifest.json`);
  const stacks: AssemblyStack[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      stacks.push(...readAssembly(path.join(dir, artifact.properties.directoryName)));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template = readJson<Template>(path.join(dir, artifact.properties.templateFile));
    if (!template) throw new Error(`${dir}: the template of stack ${id} cannot be read`);
    const codePaths = new Map<string, string>();
    for (const [logicalId, fn] of functionsOf(template)) {
      const asset = fn.Metadata?.['aws:asset:path'];
      if (typeof asset === 'string') codePaths.set(logicalId, path.resolve(dir, asset));
    }
    stacks.push({
      stackName: artifact.properties.stackName ?? id,
      displayName: artifact.displayName ?? id,
      template: { ...template, Resources: template.Resources ?? {} },
      codePaths,
    });
  }
  return stacks;
}

/**
 * The app folder's source files, relative to it: those git does not ignore when the folder is in a git work tree
 * (so that a log or a benchmark's results file changes nothing), every file otherwise; never those under
 * node_modules, .git, the CDK output folders, dot-folders or `ignore`.
 */
function sourceFiles(appDir: string, ignore: readonly string[]): string[] {
  const skipped = (relative: string) => {
    const parts = relative.split(/[\\/]/);
    if (parts.slice(0, -1).some((p) => SKIPPED_FOLDERS.has(p) || p.startsWith('.'))) return true;
    if (NOT_SOURCES.test(relative)) return true;
    return ignore.some((folder) => relative === folder || relative.startsWith(`${folder}${path.sep}`));
  };
  let listed: string[] | undefined;
  try {
    listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: appDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    })
      .split('\0')
      .filter((f) => f !== '')
      .map((f) => path.normalize(f));
  } catch {
    listed = undefined; // not a git work tree, or no git
  }
  const walk = (relative: string): string[] =>
    readdirSync(path.join(appDir, relative), { withFileTypes: true }).flatMap((entry) => {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory())
        return SKIPPED_FOLDERS.has(entry.name) || entry.name.startsWith('.') ? [] : walk(child);
      return entry.isFile() ? [child] : [];
    });
  return (listed ?? walk(''))
    .filter((f) => !skipped(f))
    .filter((f) => listed === undefined || existsSync(path.join(appDir, f)))
    .sort();
}

/** Hash of the app folder's source files: their paths and contents. */
export function sourcesHash(appDir: string, ignore: readonly string[] = []): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles(appDir, ignore)) {
    const full = path.join(appDir, file);
    if (!statSync(full).isFile()) continue;
    hash.update(file).update('\0').update(readFileSync(full)).update('\0');
  }
  return hash.digest('hex');
}

/** cdk.json's and cdk.context.json's `context` in the app folder, as the CDK CLI reads them. */
export function projectContext(appDir: string): Record<string, unknown> {
  const fromFile = (name: string): Record<string, unknown> => {
    const file = path.join(appDir, name);
    if (!existsSync(file)) return {};
    const value = readJson<Record<string, unknown>>(file);
    if (!value) throw new Error(`${file} is not valid JSON`);
    return name === 'cdk.json' ? ((value.context as Record<string, unknown>) ?? {}) : value;
  };
  return { ...fromFile('cdk.json'), ...fromFile('cdk.context.json') };
}

/** cdk.json's `app` in a folder; throws a clear error when there is none. */
export function cdkJsonApp(dir: string): string {
  const file = path.join(dir, 'cdk.json');
  if (!existsSync(file))
    throw new Error(
      `no cdk.json in ${dir}: run in a CDK app's folder, or name the app with --app COMMAND|DIR`,
    );
  const app = readJson<{ app?: unknown }>(file)?.app;
  if (typeof app !== 'string' || app === '')
    throw new Error(`${file} has no "app": name the app with --app COMMAND|DIR`);
  return app;
}

/** Runs the app's command as the CDK CLI does; rejects with its output when it fails. */
function runApp(
  command: string,
  appDir: string,
  outdir: string,
  context: Record<string, unknown>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      cwd: appDir,
      shell: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [OUTDIR_ENV]: outdir, [CONTEXT_ENV]: JSON.stringify(context) },
    });
    let output = '';
    const collect = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 && existsSync(path.join(outdir, 'manifest.json'))) return resolve();
      reject(
        new Error(
          `the app command \`${command}\` (in ${appDir}) ${
            code === 0 ? 'wrote no cloud assembly' : `failed (${signal ?? `exit code ${code}`})`
          }:\n${output.trim()}`,
        ),
      );
    });
  });
}

/**
 * The folder one synth writes its cloud assembly to: its own, inside the outdir. The templates are read back from
 * the assembly's files, so two runtimes synthesizing into one folder at once (two `npm start`, or test suites side
 * by side) would each read whichever assembly was written last.
 */
function synthDir(outdir: string): string {
  mkdirSync(outdir, { recursive: true });
  return mkdtempSync(path.join(outdir, 'synth-'));
}

/** Marks the synth folders whose bundles a runtime starts from as in use (their modification time). */
function touchSynths(outdir: string, codePaths: Iterable<string>): void {
  const now = new Date();
  for (const code of codePaths) {
    const relative = path.relative(outdir, code);
    const top = relative.split(path.sep)[0];
    if (!top?.startsWith('synth-')) continue;
    try {
      utimesSync(path.join(outdir, top), now, now);
    } catch {
      // removed meanwhile: the cache check finds it missing next time
    }
  }
}

/** The stacks' cache file of a key. */
const stacksCacheFile = (outdir: string, key: string) => path.join(outdir, STACKS_CACHE_DIR, `${key}.json`);

/**
 * Deletes the synth folders of earlier bundles that no runtime started from for a day, and the stacks' cache files
 * no runtime read for as long.
 */
function removeStaleSynths(outdir: string, keep: string): void {
  const stacksDir = path.join(outdir, STACKS_CACHE_DIR);
  for (const entry of existsSync(stacksDir) ? readdirSync(stacksDir) : []) {
    const file = path.join(stacksDir, entry);
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_SYNTH_MS) rmSync(file, { force: true });
    } catch {
      // another runtime removed it first
    }
  }
  for (const entry of readdirSync(outdir)) {
    const dir = path.join(outdir, entry);
    if (!entry.startsWith('synth-') || dir === keep) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_SYNTH_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // another runtime removed it first
    }
  }
}

/** Synthesizes the app (or takes it from the cache). */
export async function synthesize(options: SynthOptions): Promise<LocalAssembly> {
  const appDir = path.resolve(options.appDir);
  const outdir = path.resolve(options.outdir ?? path.join(appDir, 'cdk.local.out'));
  if (outdir.split(path.sep).includes('node_modules'))
    throw new Error(
      `the synth cache ${outdir} would be inside node_modules: run in the app's folder, or give --outdir`,
    );
  const ignore = [
    path.relative(appDir, outdir),
    ...(options.ignore ?? []).map((d) => path.relative(appDir, d)),
  ]
    .filter((d) => d !== '' && !d.startsWith('..') && !path.isAbsolute(d))
    .map(path.normalize);
  const context = { ...projectContext(appDir), ...options.context, ...METADATA_CONTEXT };
  const bundleKey = createHash('sha256')
    .update(JSON.stringify({ command: options.command, sources: sourcesHash(appDir, ignore) }))
    .digest('hex');
  const stacksKey = createHash('sha256').update(bundleKey).update(JSON.stringify(context)).digest('hex');

  const cacheFile = stacksCacheFile(outdir, stacksKey);
  const saved = readJson<StacksCache>(cacheFile);
  if (
    saved?.key === stacksKey &&
    saved.stacks.every((s) => Object.values(s.codePaths).every((dir) => existsSync(dir)))
  ) {
    touchSynths(
      outdir,
      saved.stacks.flatMap((s) => Object.values(s.codePaths)),
    );
    try {
      const now = new Date();
      utimesSync(cacheFile, now, now);
    } catch {
      // removed meanwhile: the stacks were read already
    }
    return {
      stacks: saved.stacks.map((s) => ({ ...s, codePaths: new Map(Object.entries(s.codePaths)) })),
      cached: 'template',
    };
  }
  const assembly = await synthesizeApp(options.command, appDir, outdir, context, bundleKey);
  touchSynths(
    outdir,
    assembly.stacks.flatMap((s) => [...s.codePaths.values()]),
  );
  const cache: StacksCache = {
    key: stacksKey,
    stacks: assembly.stacks.map((s) => ({ ...s, codePaths: Object.fromEntries(s.codePaths) })),
  };
  mkdirSync(path.dirname(cacheFile), { recursive: true });
  writeAtomically(cacheFile, JSON.stringify(cache));
  return assembly;
}

async function synthesizeApp(
  command: string,
  appDir: string,
  outdir: string,
  context: Record<string, unknown>,
  bundleKey: string,
): Promise<LocalAssembly> {
  const cache = readJson<AssetsCache>(path.join(outdir, ASSETS_CACHE_FILE));
  if (cache?.key === bundleKey) {
    const dir = synthDir(outdir);
    await runApp(command, appDir, dir, { ...context, 'aws:cdk:bundling-stacks': [] });
    // Without bundling, the assembly holds the templates only: the bundles are where the cache says.
    const stacks = readAssembly(dir).map((stack) => {
      const codePaths = new Map<string, string>();
      for (const [id, fn] of functionsOf(stack.template)) {
        if (!stack.codePaths.has(id)) continue; // no asset: no code to find either
        const asset = cache.assets[constructPath(fn.Metadata)];
        if (asset !== undefined && existsSync(path.join(outdir, asset)))
          codePaths.set(id, path.join(outdir, asset));
      }
      return { ...stack, codePaths };
    });
    rmSync(dir, { recursive: true, force: true });
    if (stacks.every((s) => s.codePaths.size === functionsWithAssets(s.template)))
      return { stacks, cached: 'bundles' };
  }

  const dir = synthDir(outdir);
  await runApp(command, appDir, dir, context);
  const stacks = readAssembly(dir);
  const assets: Record<string, string> = {};
  for (const stack of stacks) {
    for (const [id, fn] of functionsOf(stack.template)) {
      const code = stack.codePaths.get(id);
      if (code) assets[constructPath(fn.Metadata)] = path.relative(outdir, code);
    }
  }
  writeAtomically(
    path.join(outdir, ASSETS_CACHE_FILE),
    JSON.stringify({ key: bundleKey, assets } satisfies AssetsCache, null, 2),
  );
  removeStaleSynths(outdir, dir);
  return { stacks, cached: 'none' };
}

const functionsWithAssets = (template: Template) =>
  functionsOf(template).filter(([, fn]) => typeof fn.Metadata?.['aws:asset:path'] === 'string').length;

/** Reads `--app`: a folder holding a cloud assembly, or else a command. */
export function isAssemblyDir(app: string, cwd: string): boolean {
  const dir = path.resolve(cwd, app);
  return existsSync(dir) && statSync(dir).isDirectory() && existsSync(path.join(dir, 'manifest.json'));
}
