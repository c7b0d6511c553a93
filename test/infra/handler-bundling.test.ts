import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  bundleName,
  bundleVariants,
  HANDLER_BUNDLING,
  HandlerFunction,
  OPTIONAL_BUNDLE_PARTS,
} from '../../lib/handler-function';
import { logicalId } from './synth';

/**
 * The one infra test that really bundles: a single consumer function, built by the local esbuild (no Docker).
 * Every other infra test turns bundling off to stay fast.
 */
describe('HandlerFunction bundling', () => {
  let outdir: string;
  const docker = process.env.CDK_DOCKER;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'taskq-bundle-'));
    // A Docker that cannot run: bundling succeeds only if it stays on the local esbuild.
    process.env.CDK_DOCKER = path.join(outdir, 'no-docker');
  });

  afterAll(() => {
    if (docker === undefined) delete process.env.CDK_DOCKER;
    else process.env.CDK_DOCKER = docker;
    rmSync(outdir, { recursive: true, force: true });
  });

  test('bundles the handler with the local esbuild: minified, with a source map, for nodejs24.x', () => {
    // GIVEN
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'BundleStack');
    const consumer = new HandlerFunction(stack, 'Consumer', { handler: 'consumer' });

    // WHEN
    const assembly = app.synth();
    const template = Template.fromJSON(assembly.getStackByName('BundleStack').template);

    // THEN
    const properties = template.toJSON().Resources[logicalId(consumer)].Properties;
    expect(properties.Runtime).toBe('nodejs24.x');
    // esbuild's target is the Node of that runtime, so that what the bundle keeps of new syntax runs there.
    expect(HANDLER_BUNDLING.target).toBe(properties.Runtime.replace(/^nodejs(\d+)\.x$/, 'node$1'));
    expect(properties.Environment.Variables.NODE_OPTIONS).toContain('--enable-source-maps');
    const assetHash = (properties.Code.S3Key as string).replace(/\.zip$/, '');
    const bundleDir = path.join(outdir, `asset.${assetHash}`);
    const code = readFileSync(path.join(bundleDir, 'index.js'), 'utf8');
    // Minified: names are mangled (this function of lambda/core is bundled, but not under its own name),
    // and the code is on long lines (the short ones are template literals and the license block).
    expect(code).not.toContain('classifyHttpStatus');
    expect(code.split('\n')[0].length).toBeGreaterThan(1000);
    expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    expect(code.trimEnd()).toMatch(/\/\/# sourceMappingURL=index\.js\.map$/);
    // The source map points back to the TypeScript sources, which is what the Lambda stack traces show.
    expect(existsSync(path.join(bundleDir, 'index.js.map'))).toBe(true);
    const map = JSON.parse(readFileSync(path.join(bundleDir, 'index.js.map'), 'utf8')) as {
      sources: string[];
    };
    expect(map.sources.some((s) => s.endsWith('lambda/handlers/consumer.ts'))).toBe(true);
    expect(map.sources.some((s) => s.endsWith('lambda/core/retry-policy.ts'))).toBe(true);
    // The contract with lib/ is bundled, but nothing of the CDK comes with it.
    expect(map.sources.some((s) => s.endsWith('lambda/contract/environment.ts'))).toBe(true);
    expect(map.sources.filter((s) => s.includes('aws-cdk-lib'))).toEqual([]);
    expect(map.sources.filter((s) => !s.includes('node_modules') && !s.includes('lambda/'))).toEqual([]);
    // Every part is in a bundle that omits none: the clients the consumer loads on first use.
    expect(map.sources.some((s) => s.includes('@aws-sdk/client-lambda/'))).toBe(true);
    expect(map.sources.some((s) => s.includes('@aws-sdk/client-secrets-manager/'))).toBe(true);
    // The S3 client is not in it: a file of its own beside it, required on first use (LAZY_CHUNKS).
    expect(map.sources.filter((s) => s.includes('@aws-sdk/client-s3/'))).toEqual([]);
    expect(code).toContain('require("./s3-sdk")');
    const chunk = readFileSync(path.join(bundleDir, 's3-sdk.js'), 'utf8');
    expect(chunk).toContain('PutObjectCommand');
    expect(chunk.length).toBeGreaterThan(100_000);
  });

  test.each([
    [['lambda-agents'], ['@aws-sdk/client-secrets-manager/'], ['@aws-sdk/client-lambda/']],
    [['agent-secrets'], ['@aws-sdk/client-lambda/'], ['@aws-sdk/client-secrets-manager/']],
    [['agent-secrets', 'lambda-agents'], [], ['@aws-sdk/client-lambda/', '@aws-sdk/client-secrets-manager/']],
  ] as const)(
    'bundles the consumer without %j: the clients of those parts are not in it',
    (omit, kept, left) => {
      // GIVEN
      const app = new App({ outdir, builtinCloudFormationValidation: false });
      const stack = new Stack(app, 'OmitStack');
      const consumer = new HandlerFunction(stack, 'Consumer', { handler: 'consumer', omit });

      // WHEN
      const assembly = app.synth();
      const template = Template.fromJSON(assembly.getStackByName('OmitStack').template);

      // THEN
      const properties = template.toJSON().Resources[logicalId(consumer)].Properties;
      const bundleDir = path.join(outdir, `asset.${(properties.Code.S3Key as string).replace(/\.zip$/, '')}`);
      const { sources } = JSON.parse(readFileSync(path.join(bundleDir, 'index.js.map'), 'utf8')) as {
        sources: string[];
      };
      for (const pkg of kept) expect(sources.some((s) => s.includes(pkg))).toBe(true);
      for (const pkg of left) expect(sources.filter((s) => s.includes(pkg))).toEqual([]);
    },
  );

  test('refuses to leave out a part the handler does not have', () => {
    const stack = new Stack(new App(), 'RefuseStack');
    expect(
      () => new HandlerFunction(stack, 'Producer', { handler: 'enqueue', omit: ['lambda-agents'] }),
    ).toThrow(
      'HandlerFunction Producer: enqueue cannot be bundled without lambda-agents (optional parts: none)',
    );
  });
});

describe('bundle names and variants', () => {
  test('a bundle is named by its handler and the parts it omits, in alphabetical order', () => {
    expect(bundleName('consumer')).toBe('consumer');
    expect(bundleName('consumer', ['lambda-agents', 'agent-secrets'])).toBe(
      'consumer-without-agent-secrets-without-lambda-agents',
    );
  });

  test('the variants are every subset of the optional parts, once each', () => {
    const variants = bundleVariants(OPTIONAL_BUNDLE_PARTS.consumer!).map((omit) =>
      bundleName('consumer', omit),
    );
    expect(variants.sort()).toEqual([
      'consumer',
      'consumer-without-agent-secrets',
      'consumer-without-agent-secrets-without-lambda-agents',
      'consumer-without-lambda-agents',
    ]);
  });
});
