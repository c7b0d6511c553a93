/** The runtime's listening ports: a port 0 becomes a free one, and a fixed port must be free. */
import { createServer } from 'node:net';
import { LOOPBACK } from './loopback';

/** A port another process holds; the message names the flag that chooses it. */
export class PortInUseError extends Error {
  public constructor(port: number, flag: string) {
    super(`port ${port} is already in use: stop what holds it, or choose another with ${flag}`);
    this.name = 'PortInUseError';
  }
}

/** Resolves port 0 to a free port, and checks that a fixed port is free. */
export function reservePort(port: number, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, flag) : error),
    );
    server.listen(port, LOOPBACK, () => {
      const { port: actual } = server.address() as { port: number };
      server.close(() => resolve(actual));
    });
  });
}
