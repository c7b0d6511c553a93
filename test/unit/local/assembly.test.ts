import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  cdkJsonApp,
  isAssemblyDir,
  projectContext,
  readAssembly,
  sourcesHash,
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
