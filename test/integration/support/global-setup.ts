/**
 * The integration project's global setup (jest.config.js `globalSetup`):
 * - synthesizes and bundles the demo app once, before the suites boot their runtimes. On a fresh clone every
 *   runtime that starts before the first bundling ends would bundle too, and under a readiness deadline; after this,
 *   each start reuses the bundles (a synth without bundling for a configuration of its own, none at all for the
 *   default one);
 * - starts one DynamoDB Local for the suites' runtimes to share (`--dynamodb-endpoint`, local-runtime.ts
 *   `bootRuntime`), stopped by global-teardown.ts. Each JVM of its own cost about 4 s of CPU to start and warm up
 *   (1.7 s to listen, 2.4 s more over its first few hundred requests), some 40 of them a run.
 * The synth skips CDK's built-in validation, as the suites' runtimes do (synth-env.ts).
 */
import { type DynamoEmulator, startDynamoEmulator } from '../../../local/emulators';
import { reservePort } from '../../../local/ports';
import { synthesizeDemo } from '../../../local/runtime';
import { SHARED_DYNAMODB, SHARED_DYNAMODB_ENV } from './shared-dynamodb';
import { withSynthEnv } from './synth-env';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const dynamo = startDynamoEmulator({ port: await reservePort(0, 'the shared DynamoDB Local') });
  dynamo.catch(() => {});
  const cached = await withSynthEnv(() => synthesizeDemo());
  const shared: DynamoEmulator = await dynamo;
  (globalThis as Record<symbol, unknown>)[SHARED_DYNAMODB] = shared;
  process.env[SHARED_DYNAMODB_ENV] = shared.endpoint;
  // On a line of its own: jest prints no newline before the first suite's output.
  process.stdout.write(
    `\nintegration setup: demo synth (cache: ${cached}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
