import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { functionCode, NOT_EMULATED_ERROR } from '../../../local/function-code';
import type { TemplateResource } from '../../../local/template';

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'function-code-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

const fn = (props: Record<string, unknown>): TemplateResource => ({
  Type: 'AWS::Lambda::Function',
  Properties: props,
});

describe('Function: functionCode', () => {
  it('runs a Node.js function from its asset, or from its inline code saved as index.js', () => {
    const { codePaths, notEmulated } = functionCode(
      {
        Resources: {
          Bundled: fn({ Runtime: 'nodejs22.x', Handler: 'index.handler' }),
          Inline: fn({
            Runtime: 'nodejs22.x',
            Handler: 'index.handler',
            Code: { ZipFile: 'exports.handler = 1;' },
          }),
        },
      },
      new Map([['Bundled', '/assets/bundled']]),
      scratch,
    );
    expect(codePaths.get('Bundled')).toBe('/assets/bundled');
    expect(readFileSync(path.join(codePaths.get('Inline')!, 'index.js'), 'utf8')).toBe(
      'exports.handler = 1;',
    );
    expect(notEmulated).toEqual([]);
  });

  it('gives a function of another runtime, or without local code, a stand-in that fails, and lists it', async () => {
    const { codePaths, notEmulated } = functionCode(
      {
        Resources: {
          Py: fn({ Runtime: 'python3.12', Handler: 'app/main.handler' }),
          FromBucket: fn({ Runtime: 'nodejs22.x', Handler: 'index.handler', Code: { S3Bucket: 'theirs' } }),
        },
      },
      new Map(),
      scratch,
    );
    expect(notEmulated).toEqual([
      'Py (runtime python3.12: only Node.js functions run locally; its invocations fail)',
      'FromBucket (its code is not an asset of the app; its invocations fail)',
    ]);
    const py = require(path.join(codePaths.get('Py')!, 'app', 'main.js')) as {
      handler: () => Promise<unknown>;
    };
    await expect(py.handler()).rejects.toMatchObject({
      name: NOT_EMULATED_ERROR,
      message: expect.stringContaining('function Py is not emulated'),
    });
  });
});
