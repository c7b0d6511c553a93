/**
 * The integration project's global setup (jest.config.js `globalSetup`): synthesizes and bundles the demo app once,
 * before the suites boot their runtimes. On a fresh clone every runtime that starts before the first bundling ends
 * would bundle too, and under a readiness deadline; after this, each start reuses the bundles (a synth without
 * bundling for a configuration of its own, none at all for the default one).
 */
import { synthesizeDemo } from '../../../local/runtime';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const cached = await synthesizeDemo();
  // On a line of its own: jest prints no newline before the first suite's output.
  process.stdout.write(
    `\nintegration setup: demo synth (cache: ${cached}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
