/**
 * A stand-in for the local runtime's `GET /_local/stack` (the contract the DLQ commands read with
 * `--endpoint`): it answers with the document it is given, and 404 for anything else.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalStackDocument } from '../../../cli/stack-resources';

export interface FakeLocalStack {
  readonly url: string;
  /** Paths requested so far. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeLocalStack(
  document: LocalStackDocument | { status: number },
): Promise<FakeLocalStack> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'GET' && req.url === '/_local/stack' && !('status' in document)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(document));
      return;
    }
    res.writeHead('status' in document ? document.status : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NotFound', message: 'no such route' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
