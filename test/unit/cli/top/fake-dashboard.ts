/**
 * A stand-in for the local runtime's dashboard data API (`GET /_local/dashboard/api/overview`, the contract in
 * cli/top/overview.ts): it answers with the document it holds now, which a test may change between reads, or with
 * the status it is told to answer; 404 for any other route.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OVERVIEW_PATH } from '../../../../cli/top/local-source';

export interface FakeDashboard {
  readonly url: string;
  /** Requests so far, as `METHOD path`. */
  readonly requests: string[];
  /** What the next reads answer: a document (200), or a status with an error body. */
  answer(next: unknown | { readonly status: number }): void;
  close(): Promise<void>;
}

const isStatus = (value: unknown): value is { status: number } =>
  typeof value === 'object' && value !== null && typeof (value as { status?: unknown }).status === 'number';

export async function startFakeDashboard(initial: unknown): Promise<FakeDashboard> {
  const requests: string[] = [];
  let current = initial;
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'GET' && req.url === OVERVIEW_PATH && !isStatus(current)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(current));
      return;
    }
    res.writeHead(isStatus(current) && req.url === OVERVIEW_PATH ? current.status : 404, {
      'content-type': 'application/json',
    });
    res.end(JSON.stringify({ error: { code: 'NotFound', message: 'no such route' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
