/**
 * The DynamoDB Local the integration suites' runtimes share: started by global-setup.ts, stopped by
 * global-teardown.ts, found by local-runtime.ts `bootRuntime` through the environment (jest's workers inherit the
 * environment of the process that ran the global setup).
 */
import { type DynamoEmulator, startDynamoEmulator } from '../../../local/emulators';
import { reservePort } from '../../../local/ports';

export const SHARED_DYNAMODB_ENV = 'TEST_SHARED_DYNAMODB_ENDPOINT';

/** Where global-setup.ts keeps the emulator for global-teardown.ts (both run in jest's main process). */
export const SHARED_DYNAMODB = Symbol.for('agent-task-queue.test.sharedDynamoDb');

/** The shared DynamoDB Local's endpoint, when the global setup started one. */
export function sharedDynamoDbEndpoint(): string | undefined {
  return process.env[SHARED_DYNAMODB_ENV] || undefined;
}

/**
 * A DynamoDB Local for a suite that makes tables of its own under names no other suite uses: the shared one when
 * the global setup started it (its `stop` then leaves it running), else one of the suite's own.
 */
export async function suiteDynamoDb(): Promise<DynamoEmulator> {
  const shared = sharedDynamoDbEndpoint();
  if (shared) return { endpoint: shared, stop: async () => {} };
  return startDynamoEmulator({ port: await reservePort(0, 'the suite') });
}
