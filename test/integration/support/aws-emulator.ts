/**
 * Runs fauxqs as the local runtime does (local/emulators.ts: patched, on 127.0.0.1), in its own process,
 * for tests that need SQS alone. fauxqs is ESM-only, which jest's module system does not host.
 * Prints `ready <endpoint>`; then answers `duplicate <queueName> <receiptHandle>` lines on stdin with a JSON
 * line (the runtime's duplicateDelivery fault).
 *
 *   node --import tsx test/integration/support/aws-emulator.ts [port]
 */
import { createInterface } from 'node:readline';
import { startAwsEmulator } from '../../../local/emulators';

async function main(): Promise<void> {
  const emulator = await startAwsEmulator({ port: Number(process.argv[2] ?? 0) });
  console.log(`ready ${emulator.endpoint}`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, queueName, handle] = line.trim().split(' ');
    if (command === 'duplicate') {
      console.log(JSON.stringify(emulator.duplicate(queueName!, handle!) ?? null));
    }
  });
  process.stdin.on('end', () => void emulator.stop().then(() => process.exit(0)));
}

void main();
