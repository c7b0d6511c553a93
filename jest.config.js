/** Three jest projects: fast pure tests, CDK template tests, and the local-runtime integration suite. */
// esbuild, file by file (test/support/esbuild-transform.cjs): with ts-jest's TypeScript transpiler the unit and
// infra projects took 69 s and 113 s of CPU on a cold cache, as on every clean clone; 62 s and 98 s with esbuild.
const transform = {
  '^.+\\.[tj]sx?$': '<rootDir>/test/support/esbuild-transform.cjs',
};
const common = {
  testEnvironment: 'node',
  transform,
  // middy v5+ and puppeteer-core (with @puppeteer/browsers and chromium-bidi) ship ESM only; let the transform
  // turn them into CommonJS.
  transformIgnorePatterns: ['node_modules/(?!(@middy|puppeteer-core|@puppeteer|chromium-bidi)/)'],
  // @middy packages export only an `import` condition, which jest's CommonJS resolver does not match.
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
};

module.exports = {
  // Four workers on these 2-core machines: the integration suites spend much of their time waiting on the
  // runtimes they boot (visibility timeouts, leases, agents' sleeps), so more suites at once fill the gaps; a fifth
  // would only add contention, as the CPU is the floor. The measurements are in DEVELOPERS.md.
  maxWorkers: 4,
  // The longest suites first, on a clean clone too (test/support/longest-first-sequencer.cjs).
  testSequencer: '<rootDir>/test/support/longest-first-sequencer.cjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // Every response of the task API a test receives is checked against openapi.json.
      setupFilesAfterEnv: ['<rootDir>/test/integration/support/openapi-setup.ts'],
      // The demo app synthesized and bundled once, before the suites' runtimes start side by side, and one DynamoDB
      // Local for them to share.
      globalSetup: '<rootDir>/test/integration/support/global-setup.ts',
      // Stops the DynamoDB Local the global setup started for the suites' runtimes to share.
      globalTeardown: '<rootDir>/test/integration/support/global-teardown.ts',
    },
  ],
};
