/**
 * Synthesizes the CDK app in-process with a local configuration.
 *
 * A synth costs seconds (loading aws-cdk-lib, and above all bundling the handlers with esbuild), so
 * its output is cached in the outdir, keyed on a hash of everything it is made from:
 * - the bundles, on lambda/, the bundling options (lib/handler-function.ts), package-lock.json and
 *   tsconfig.json. While that key holds, a synth skips bundling and each function runs from the asset
 *   folder its code went to last time (found by construct path);
 * - the template, on the same inputs plus lib/ and the configuration. While that key holds, there is
 *   no synth at all.
 */
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
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import type { StackConfig } from '../lib/stack-config';
import type { Template } from './template';

const ROOT = path.join(__dirname, '..');
/** What a Lambda bundle is made from; a change to any of them invalidates the cache. */
const BUNDLE_INPUTS = ['lambda', 'lib/handler-function.ts', 'package-lock.json', 'tsconfig.json'];
/** What the template is made from, besides the bundles and the configuration. */
const TEMPLATE_INPUTS = ['lib', 'package-lock.json'];
const CACHE_FILE = 'local-bundles.json';
const TEMPLATE_CACHE_FILE = 'local-template.json';

export interface SynthOptions {
  readonly outdir: string;
  readonly config: StackConfig;
  /** @default 'AgentTaskQueueLocal' */
  readonly stackName?: string;
}

export interface LocalAssembly {
  readonly stackName: string;
  readonly template: Template;
  /** Absolute folder holding the code of a function, by logical id. */
  readonly codePaths: ReadonlyMap<string, string>;
  /** What came from the cache: nothing, the bundles, or the whole synth. */
  readonly cached: 'none' | 'bundles' | 'template';
}

interface BundleCache {
  readonly key: string;
  /** Asset folder (relative to the outdir) by construct path of the function. */
  readonly assets: Record<string, string>;
}

function filesUnder(p: string): string[] {
  if (!existsSync(p)) return [];
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((entry) => filesUnder(path.join(p, entry)));
}

/** Hash of the inputs' paths and contents, and of `extra`. */
function inputsKey(inputs: readonly string[], extra = '', root = ROOT): string {
  const hash = createHash('sha256').update(extra);
  for (const input of inputs) {
    for (const file of filesUnder(path.join(root, input))) {
      hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

/** Writes a cache file whole or not at all, so that a runtime starting beside this one never reads half of it. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

interface TemplateCache {
  readonly key: string;
  readonly template: Template;
  /** Absolute code folder by logical id. */
  readonly codePaths: Record<string, string>;
}

/**
 * The folder one synth writes its cloud assembly to: its own, inside the outdir. The stack's template is read
 * back from the assembly's files, so two runtimes synthesizing into one folder at once (two `npm start`, or
 * test suites side by side) would each read whichever template was written last, with the other's agents URL.
 */
function synthDir(outdir: string): string {
  return mkdtempSync(path.join(outdir, 'synth-'));
}

function synthTemplate(
  options: SynthOptions,
  stackName: string,
  bundle: boolean,
): { template: Template; dir: string } {
  // Loaded only when a synth is needed: aws-cdk-lib alone takes a second or more to load.
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { TaskQueueStack } = require('../lib/task-queue-stack') as typeof import('../lib/task-queue-stack');
  mkdirSync(options.outdir, { recursive: true });
  const dir = synthDir(options.outdir);
  const app = new App({
    outdir: dir,
    context: {
      taskQueue: options.config,
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  new TaskQueueStack(app, stackName);
  return { template: app.synth().getStackByName(stackName).template as Template, dir };
}

const functionsOf = (template: Template) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

const constructPath = (metadata: Record<string, unknown> | undefined) =>
  String(metadata?.['aws:cdk:path'] ?? '');

export async function synthesize(options: SynthOptions): Promise<LocalAssembly> {
  const stackName = options.stackName ?? 'AgentTaskQueueLocal';
  const outdir = path.resolve(options.outdir);
  const key = inputsKey(BUNDLE_INPUTS);
  const templateKey = inputsKey(TEMPLATE_INPUTS, JSON.stringify({ key, stackName, config: options.config }));
  const templateFile = path.join(outdir, TEMPLATE_CACHE_FILE);

  const saved = readJson<TemplateCache>(templateFile);
  if (saved?.key === templateKey && Object.values(saved.codePaths).every((dir) => existsSync(dir))) {
    return {
      stackName,
      template: saved.template,
      codePaths: new Map(Object.entries(saved.codePaths)),
      cached: 'template',
    };
  }
  const assembly = await synthesizeApp(options, stackName, outdir, key);
  const cache: TemplateCache = {
    key: templateKey,
    template: assembly.template,
    codePaths: Object.fromEntries(assembly.codePaths),
  };
  writeAtomically(templateFile, JSON.stringify(cache));
  return assembly;
}

async function synthesizeApp(
  options: SynthOptions,
  stackName: string,
  outdir: string,
  key: string,
): Promise<LocalAssembly> {
  const cache = readJson<BundleCache>(path.join(outdir, CACHE_FILE));
  if (cache?.key === key) {
    const { template, dir } = synthTemplate(options, stackName, false);
    // Without bundling, the assembly holds only the template: the bundles are where the cache says.
    rmSync(dir, { recursive: true, force: true });
    const codePaths = new Map<string, string>();
    let complete = true;
    for (const [id, fn] of functionsOf(template)) {
      const asset = cache.assets[constructPath(fn.Metadata)];
      if (asset === undefined || !existsSync(path.join(outdir, asset))) complete = false;
      else codePaths.set(id, path.join(outdir, asset));
    }
    if (complete) return { stackName, template, codePaths, cached: 'bundles' };
  }

  const { template, dir: assembly } = synthTemplate(options, stackName, true);
  const codePaths = new Map<string, string>();
  const assets: Record<string, string> = {};
  for (const [id, fn] of functionsOf(template)) {
    const asset = fn.Metadata?.['aws:asset:path'];
    if (typeof asset !== 'string') {
      throw new Error(
        `function ${id} has no 'aws:asset:path' metadata: only asset-backed code can run locally`,
      );
    }
    const dir = path.resolve(assembly, asset);
    codePaths.set(id, dir);
    assets[constructPath(fn.Metadata)] = path.relative(outdir, dir);
  }
  writeAtomically(
    path.join(outdir, CACHE_FILE),
    JSON.stringify({ key, assets } satisfies BundleCache, null, 2),
  );
  return { stackName, template, codePaths, cached: 'none' };
}
