/**
 * The agents of figure 7: the runtime's demo agents, with a `sleep` that may run as long as the figure asks.
 *
 * The demo `sleep` stops at 60 s (local/demo-agents.ts, so that a typo cannot hold a consumer for long), and figure
 * 7 needs a synchronous agent of 300 s. This server answers `POST /sleep` itself, after `payload.ms` (up to
 * {@link MAX_BENCH_SLEEP_MS}), and passes every other request to a demo agent server unchanged, so that
 * `async-echo` is the demo agent itself. The runtime is started with `agentsUrl` set to this server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DemoAgents, startDemoAgents } from '../local/demo-agents';
import { answer, forwardToDemo, readBody } from './agent-server';

/** Lambda's longest timeout: no synchronous agent can run longer behind a consumer. */
export const MAX_BENCH_SLEEP_MS = 15 * 60 * 1000;

export interface LongAgents {
  /** Base URL without a trailing slash, as `agentsUrl` wants it. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startLongAgents(): Promise<LongAgents> {
  const demo: DemoAgents = await startDemoAgents();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      if (req.method === 'POST' && req.url === '/sleep') {
        const ms = (JSON.parse(body.toString('utf8')) as { payload?: { ms?: unknown } }).payload?.ms;
        if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_BENCH_SLEEP_MS) {
          answer(res, 400, {
            error: { code: 'BadRequest', message: `payload.ms must be 0 to ${MAX_BENCH_SLEEP_MS}` },
          });
          return;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer(res, 200, { slept_ms: ms });
        }, ms);
        timers.add(timer);
        return;
      }
      await forwardToDemo(demo.url, req, res, body);
    } catch (error) {
      if (!res.headersSent)
        answer(res, 502, { error: { code: 'BadGateway', message: (error as Error).message } });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await demo.close();
    },
  };
}
