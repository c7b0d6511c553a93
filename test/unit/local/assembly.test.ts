import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  cdkJsonApp,
  isAssemblyDir,
  projectContext,
  readAssembly,
  sourcesHash,
  synthesize,
} from '../../../local/assembly';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'assembly-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(relative: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  writeFileSync(path.join(dir, relative), text);
}

describe('Function: readAssembly', () => {
  it("reads each stack's name, construct path, template and asset folders, nested assemblies included", () => {
    const fn = (asset?: string) => ({
      Type: 'AWS::Lambda::Function',
      ...(asset && { Metadata: { 'aws:asset:path': asset } }),
    });
    write(
      'manifest.json',
      JSON.stringify({
        artifacts: {
          Top: {
            type: 'aws:cloudformation:stack',
            displayName: 'Top',
            properties: { templateFile: 'Top.template.json', stackName: 'TopStack' },
          },
          'Top.assets': { type: 'cdk:asset-manifest', properties: { file: 'Top.assets.json' } },
          'assembly-Stage': { type: 'cdk:cloud-assembly', properties: { directoryName: 'assembly-Stage' } },
        },
      }),
    );
    write('Top.template.json', JSON.stringify({ Resources: { Fn: fn('asset.abc'), Inline: fn() } }));
    write(
      'assembly-Stage/manifest.json',
      JSON.stringify({
        artifacts: {
          StageInner: {
            type: 'aws:cloudformation:stack',
            displayName: 'Stage/Inner',
            properties: { templateFile: 'StageInner.template.json' },
          },
        },
      }),
    );
    write(
      'assembly-Stage/StageInner.template.json',
      JSON.stringify({ Resources: { Fn: fn('../asset.def') } }),
    );

    const stacks = readAssembly(dir);
    expect(stacks.map((s) => [s.stackName, s.displayName])).toEqual([
      ['TopStack', 'Top'],
      ['StageInner', 'Stage/Inner'],
    ]);
    expect([...stacks[0]!.codePaths]).toEqual([['Fn', path.join(dir, 'asset.abc')]]);
    expect(stacks[1]!.codePaths.get('Fn')).toBe(path.join(dir, 'asset.def'));
  });

  it('names the folder that is not an assembly', () => {
    expect(() => readAssembly(dir)).toThrow(`${dir} is not a cloud assembly`);
    expect(isAssemblyDir(dir, '/')).toBe(false);
    write('manifest.json', '{}');
    expect(isAssemblyDir(dir, '/')).toBe(true);
  });
});

describe('Function: sourcesHash', () => {
  beforeEach(() => {
    write('app.ts', 'one');
    write('lib/queue.ts', 'two');
  });

  it("changes with a source file's contents, and with a new source file", () => {
    const before = sourcesHash(dir);
    write('lib/queue.ts', 'three');
    const edited = sourcesHash(dir);
    expect(edited).not.toBe(before);
    write('lib/other.ts', 'four');
    expect(sourcesHash(dir)).not.toBe(edited);
  });

  it('ignores node_modules, CDK output, dot-folders, documentation, test files and the folders it is told', () => {
    const before = sourcesHash(dir, ['state']);
    for (const file of [
      'node_modules/x/index.js',
      'cdk.out/manifest.json',
      'cdk.local.out/local-bundles.json',
      '.cache/x.json',
      'README.md',
      'lib/queue.test.ts',
      'state/dynamodb/db',
    ])
      write(file, String(Math.random()));
    expect(sourcesHash(dir, ['state'])).toBe(before);
  });
});

describe('Function: projectContext and cdkJsonApp', () => {
  it("merges cdk.json's context with cdk.context.json's, the latter winning", () => {
    write('cdk.json', JSON.stringify({ app: 'npx tsx app.ts', context: { a: 1, b: 1 } }));
    write('cdk.context.json', JSON.stringify({ b: 2 }));
    expect(projectContext(dir)).toEqual({ a: 1, b: 2 });
    expect(cdkJsonApp(dir)).toBe('npx tsx app.ts');
  });

  it('says what is missing: the cdk.json, or its app', () => {
    expect(() => cdkJsonApp(dir)).toThrow(`no cdk.json in ${dir}`);
    write('cdk.json', '{}');
    expect(() => cdkJsonApp(dir)).toThrow('has no "app"');
  });
});

/**
 * A CDK app in miniature: it writes a one-stack assembly to CDK_OUTDIR, with one function whose code is bundled
 * into an asset folder unless the context skips bundling, and logs each run (outside the app's folder).
 */
const FAKE_APP = `
const fs = require('node:fs');
const path = require('node:path');
const out = process.env.CDK_OUTDIR;
const context = JSON.parse(process.env.CDK_CONTEXT_JSON);
const bundle = context['aws:cdk:bundling-stacks'] === undefined;
fs.appendFileSync(process.env.FAKE_APP_RUNS, (bundle ? 'bundle' : 'template') + '\\n');
if (bundle) {
  fs.mkdirSync(path.join(out, 'asset.1'));
  fs.writeFileSync(path.join(out, 'asset.1', 'index.js'), fs.readFileSync(path.join(__dirname, 'handler.js')));
}
fs.writeFileSync(path.join(out, 'S.template.json'), JSON.stringify({ Resources: {
  Fn: { Type: 'AWS::Lambda::Function', Properties: { Description: context.greeting + '/' + context.fromCdkJson },
        Metadata: { 'aws:cdk:path': 'S/Fn/Resource', 'aws:asset:path': bundle ? 'asset.1' : __dirname } } } }));
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ artifacts: {
  S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } } }));
`;

describe('Function: synthesize', () => {
  let runs: string;
  beforeEach(() => {
    write('app.js', FAKE_APP);
    write('handler.js', 'exports.handler = async () => 1;');
    write('cdk.json', JSON.stringify({ app: 'node app.js', context: { fromCdkJson: 'yes' } }));
    runs = path.join(mkdtempSync(path.join(tmpdir(), 'assembly-runs-')), 'runs.log');
    process.env.FAKE_APP_RUNS = runs;
  });
  afterEach(() => {
    rmSync(path.dirname(runs), { recursive: true, force: true });
    delete process.env.FAKE_APP_RUNS;
  });
  const runsSoFar = () => (existsSync(runs) ? readFileSync(runs, 'utf8').trim().split('\n') : []);
  const synth = (greeting: string) =>
    synthesize({ command: `"${process.execPath}" app.js`, appDir: dir, context: { greeting } });

  it('synthesizes once, then takes the stacks from the cache while the command, context and sources hold', async () => {
    const first = await synth('hi');
    expect(first.cached).toBe('none');
    const [stack] = first.stacks;
    expect(stack!.template.Resources.Fn!.Properties!.Description).toBe('hi/yes');
    expect(readFileSync(path.join(stack!.codePaths.get('Fn')!, 'index.js'), 'utf8')).toContain('=> 1');
    expect(path.relative(path.join(dir, 'cdk.local.out'), stack!.codePaths.get('Fn')!)).toMatch(/^synth-/);

    const second = await synth('hi');
    expect(second.cached).toBe('template');
    expect(second.stacks[0]!.codePaths).toEqual(stack!.codePaths);
    expect(runsSoFar()).toEqual(['bundle']);
  });

  it('synthesizes without bundling when only the context changed, and reuses the bundles by construct path', async () => {
    const first = await synth('hi');
    const other = await synth('hello');
    expect(other.cached).toBe('bundles');
    expect(other.stacks[0]!.template.Resources.Fn!.Properties!.Description).toBe('hello/yes');
    expect(other.stacks[0]!.codePaths).toEqual(first.stacks[0]!.codePaths);
    expect(runsSoFar()).toEqual(['bundle', 'template']);
  });

  it('keeps the stacks of each context: going back to an earlier context synthesizes nothing', async () => {
    await synth('hi');
    await synth('hello');
    const back = await synth('hi');
    expect(back.cached).toBe('template');
    expect(back.stacks[0]!.template.Resources.Fn!.Properties!.Description).toBe('hi/yes');
    expect(runsSoFar()).toEqual(['bundle', 'template']);
  });

  it('bundles again when a source file changed', async () => {
    await synth('hi');
    write('handler.js', 'exports.handler = async () => 2;');
    const again = await synth('hi');
    expect(again.cached).toBe('none');
    expect(readFileSync(path.join(again.stacks[0]!.codePaths.get('Fn')!, 'index.js'), 'utf8')).toContain(
      '=> 2',
    );
    expect(runsSoFar()).toEqual(['bundle', 'bundle']);
  });

  it('keeps two synths at once apart: each reads its own assembly', async () => {
    await synth('warm');
    const [a, b] = await Promise.all([synth('one'), synth('two')]);
    expect(a.stacks[0]!.template.Resources.Fn!.Properties!.Description).toBe('one/yes');
    expect(b.stacks[0]!.template.Resources.Fn!.Properties!.Description).toBe('two/yes');
  });

  it('reports a failing app command with its output', async () => {
    write('app.js', 'console.error("no luck"); process.exit(3);');
    await expect(synth('hi')).rejects.toThrow(/failed \(exit code 3\):\nno luck/);
  });
});
