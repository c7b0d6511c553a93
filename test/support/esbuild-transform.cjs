/**
 * Jest's transform for TypeScript and the ESM-only packages: esbuild's transformSync, one file at a time, to
 * CommonJS with an inline source map. It replaces ts-jest, which ran TypeScript's own transpiler per file (the
 * tests never relied on its type check: `isolatedModules` was on, and `npm run typecheck` checks the types).
 * No test uses `jest.mock`, whose calls only babel-based transforms hoist above the imports; the unit test
 * test/unit/support/jest-transform.test.ts keeps it that way.
 */
const { transformSync } = require('esbuild');
const { createHash } = require('node:crypto');
const { version } = require('esbuild/package.json');

const TARGET = 'node22';

module.exports = {
  process(source, filename) {
    const loader = /\.tsx?$/.test(filename) ? 'ts' : /\.[cm]?jsx$/.test(filename) ? 'jsx' : 'js';
    const { code, map } = transformSync(source, {
      loader,
      format: 'cjs',
      target: TARGET,
      sourcemap: 'external',
      sourcefile: filename,
      // Keeps class and function names, which some assertions and error messages print.
      keepNames: true,
      // import() as a require, as ts-jest compiled it: jest's module system runs dynamic imports only under
      // --experimental-vm-modules, and the handlers load some SDK clients lazily.
      supported: { 'dynamic-import': false },
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(`${version}\0${TARGET}\0${filename}\0`).update(source).digest('hex');
  },
};
