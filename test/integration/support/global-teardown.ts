/** The integration project's global teardown (jest.config.js `globalTeardown`): stops the shared DynamoDB Local. */
import type { DynamoEmulator } from '../../../local/emulators';
import { SHARED_DYNAMODB } from './shared-dynamodb';

export default async function globalTeardown(): Promise<void> {
  const shared = (globalThis as Record<symbol, unknown>)[SHARED_DYNAMODB] as DynamoEmulator | undefined;
  await shared?.stop();
}
