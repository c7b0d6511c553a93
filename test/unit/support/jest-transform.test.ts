/**
 * The tests' transform (test/support/esbuild-transform.cjs) compiles each file on its own, as esbuild does: it
 * does not hoist `jest.mock` calls above the imports, as babel-jest does, so a module mock would come too late.
 * Tests mock at the SDK level (aws-sdk-client-mock) or inject ports instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const TEST_ROOT = path.join(__dirname, '..', '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

describe('the tests’ transform', () => {
  it('meets no jest.mock call in any test file, since it does not hoist them', () => {
    // Prepare
    const files = testFiles(TEST_ROOT);
    const mockCall = ['jest', 'mock('].join('.');

    // Act
    const offenders = files.filter((file) => readFileSync(file, 'utf8').includes(mockCall));

    // Assess
    expect(files.length).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });

  it('keeps source lines: a thrown error points at the line of this file that threw', () => {
    // Act
    const stack = new Error('here').stack ?? '';

    // Assess: the line of `new Error` above, through the inline source map
    expect(stack).toMatch(/jest-transform\.test\.ts:35:\d+/);
  });
});
