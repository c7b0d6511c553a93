/** Three jest projects: fast pure tests, CDK template tests, and the local-runtime integration suite. */
const tsJest = {
  '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
};
const common = {
  testEnvironment: 'node',
  transform: tsJest,
  // middy v5+ and puppeteer-core (with @puppeteer/browsers and chromium-bidi) ship ESM only; let ts-jest
  // transpile them to CommonJS.
  transformIgnorePatterns: ['node_modules/(?!(@middy|puppeteer-core|@puppeteer|chromium-bidi)/)'],
  // @middy packages export only an `import` condition, which jest's CommonJS resolver does not match.
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
};

module.exports = {
  // Two workers on these 2-core machines (jest's default is one fewer than the cores): the integration suites
  // spend much of their time waiting on the runtime they boot, so two of them side by side nearly halve npm test.
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // Every response of the task API a test receives is checked against openapi.json.
      setupFilesAfterEnv: ['<rootDir>/test/integration/support/openapi-setup.ts'],
      // The demo app synthesized and bundled once, before the suites' runtimes start side by side.
      globalSetup: '<rootDir>/test/integration/support/global-setup.ts',
    },
  ],
};
