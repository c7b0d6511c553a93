import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import { type HandlerFunction, prebuiltBundle } from '../../lib/handler-function';
import { logicalId } from './synth';

const ROOT = path.join(__dirname, '..', '..');

/**
 * The installed package runs lib/handler-function.ts compiled, as dist/lib/handler-function.js, beside the
 * bundles that `npm run build` made in dist/handlers. These tests make that layout in a temp folder (the module
 * transpiled as tsc would, and a stand-in bundle) instead of running the whole build.
 */
describe('HandlerFunction from the built package', () => {
  let pkg: string;
  const bundleCode = 'exports.handler = async () => "the prebuilt consumer";\n';
  const leanBundleCode = 'exports.handler = async () => "the prebuilt consumer without the Lambda client";\n';

  beforeAll(() => {
    pkg = mkdtempSync(path.join(tmpdir(), 'taskq-package-'));
    // The compiled module finds aws-cdk-lib as an installed package does: in a node_modules above it.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    // The module and what it imports of lambda/ (the bundle parts, the environment's names), each where tsc puts it.
    for (const file of [
      'lib/handler-function.ts',
      'lambda/contract/bundle-parts.ts',
      'lambda/contract/environment.ts',
    ]) {
      const compiled = ts.transpileModule(readFileSync(path.join(ROOT, file), 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      }).outputText;
      const out = path.join(pkg, 'dist', file.replace(/\.ts$/, '.js'));
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, compiled);
    }
    for (const [name, code] of [
      ['consumer', bundleCode],
      ['consumer-without-lambda-agents', leanBundleCode],
    ]) {
      mkdirSync(path.join(pkg, 'dist', 'handlers', name!), { recursive: true });
      writeFileSync(path.join(pkg, 'dist', 'handlers', name!, 'index.js'), code!);
    }
  });

  /** Synthesizes `build`'s stack with a Docker that cannot run: any bundling would fail the synth. */
  function synthPrebuilt(build: (stack: Stack) => HandlerFunction): {
    template: Template;
    fn: HandlerFunction;
    outdir: string;
  } {
    const outdir = mkdtempSync(path.join(pkg, 'cdk.out-'));
    const app = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': ['**'] },
      // Not this test's subject, and seconds of CPU per synth (see synth.ts).
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'PrebuiltStack');
    const fn = build(stack);
    const docker = process.env.CDK_DOCKER;
    process.env.CDK_DOCKER = path.join(pkg, 'no-docker');
    try {
      return {
        template: Template.fromJSON(app.synth().getStackByName('PrebuiltStack').template),
        fn,
        outdir,
      };
    } finally {
      if (docker === undefined) delete process.env.CDK_DOCKER;
      else process.env.CDK_DOCKER = docker;
    }
  }

  const assetCode = (outdir: string, template: Template, fn: HandlerFunction): string => {
    const properties = template.toJSON().Resources[logicalId(fn)].Properties;
    const assetDir = path.join(outdir, `asset.${String(properties.Code.S3Key).replace(/\.zip$/, '')}`);
    return readFileSync(path.join(assetDir, 'index.js'), 'utf8');
  };

  test('deploys the prebuilt bundle without the parts the function omits', () => {
    // GIVEN the construct as the package ships it
    const compiled = require(path.join(pkg, 'dist', 'lib', 'handler-function.js')) as {
      HandlerFunction: typeof HandlerFunction;
    };

    // WHEN
    const { template, fn, outdir } = synthPrebuilt(
      (stack) =>
        new compiled.HandlerFunction(stack, 'Consumer', { handler: 'consumer', omit: ['lambda-agents'] }),
    );

    // THEN
    expect(assetCode(outdir, template, fn)).toBe(leanBundleCode);
  });

  afterAll(() => {
    rmSync(pkg, { recursive: true, force: true });
  });

  test('deploys the prebuilt bundle of the handler as it is, with no bundling', () => {
    // GIVEN the construct as the package ships it
    const compiled = require(path.join(pkg, 'dist', 'lib', 'handler-function.js')) as {
      HandlerFunction: typeof HandlerFunction;
    };
    const outdir = path.join(pkg, 'cdk.out');
    // A Docker that cannot run: any bundling would fail the synth.
    const app = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': ['**'] },
      // Not this test's subject, and seconds of CPU per synth (see synth.ts).
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'PrebuiltStack');

    // WHEN
    const consumer = new compiled.HandlerFunction(stack, 'Consumer', { handler: 'consumer' });
    const docker = process.env.CDK_DOCKER;
    process.env.CDK_DOCKER = path.join(pkg, 'no-docker');
    let template: Template;
    try {
      template = Template.fromJSON(app.synth().getStackByName('PrebuiltStack').template);
    } finally {
      if (docker === undefined) delete process.env.CDK_DOCKER;
      else process.env.CDK_DOCKER = docker;
    }

    // THEN the function's code is an asset holding exactly the bundle, and its handler is the bundle's export
    const properties = template.toJSON().Resources[logicalId(consumer)].Properties;
    expect(properties.Handler).toBe('index.handler');
    expect(properties.Runtime).toBe('nodejs24.x');
    const assetDir = path.join(outdir, `asset.${String(properties.Code.S3Key).replace(/\.zip$/, '')}`);
    expect(readFileSync(path.join(assetDir, 'index.js'), 'utf8')).toBe(bundleCode);
  });

  test('a handler is prebuilt only when the module runs compiled and its bundle exists', () => {
    const compiledModule = path.join(pkg, 'dist', 'lib', 'handler-function.js');
    expect(prebuiltBundle('consumer', compiledModule)).toBe(path.join(pkg, 'dist', 'handlers', 'consumer'));
    expect(prebuiltBundle('consumer', compiledModule, ['lambda-agents'])).toBe(
      path.join(pkg, 'dist', 'handlers', 'consumer-without-lambda-agents'),
    );
    // A combination the build did not make: bundled from the source.
    expect(prebuiltBundle('consumer', compiledModule, ['agent-secrets'])).toBeUndefined();
    // No bundle for it: bundled from the source, as in this repository.
    expect(prebuiltBundle('enqueue', compiledModule)).toBeUndefined();
    // From source (tsx, jest), a bundle beside it is not used: the sources are what runs.
    expect(prebuiltBundle('consumer', path.join(pkg, 'dist', 'lib', 'handler-function.ts'))).toBeUndefined();
    expect(prebuiltBundle('consumer')).toBeUndefined();
  });
});
