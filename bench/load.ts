/** Runs a number of jobs at a fixed concurrency and times each one. */
import http from 'node:http';

export interface LoadResult<T> {
  readonly results: T[];
  /** Latency of every job that succeeded, in milliseconds. */
  readonly latenciesMs: number[];
  readonly elapsedMs: number;
  readonly errors: number;
  readonly firstError?: string;
}

export async function runConcurrent<T>(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<T>,
): Promise<LoadResult<T>> {
  const results: T[] = new Array(count);
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      try {
        results[i] = await job(i);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { results, latenciesMs, elapsedMs: performance.now() - start, errors, firstError };
}

/** A small JSON client over keep-alive sockets, lighter than fetch, so the load generator costs little. */
export class JsonClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly url: URL;

  public constructor(baseUrl: string) {
    this.url = new URL(baseUrl);
  }

  public async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    try {
      return await this.send(method, path, body);
    } catch (error) {
      // A kept-alive socket the server closed just as it was reused: the request never reached the server, so
      // sending it again is safe (https://nodejs.org/api/http.html#requestreusedsocket).
      if ((error as { reusedSocket?: boolean }).reusedSocket) return this.send(method, path, body);
      throw error;
    }
  }

  private send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          agent: this.agent,
          headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          req.reusedSocket && error.code === 'ECONNRESET'
            ? Object.assign(error, { reusedSocket: true })
            : error,
        ),
      );
      req.end(data);
    });
  }

  public close(): void {
    this.agent.destroy();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where long waits report what they are waiting on, every 15 s. */
let waitReporter: ((line: string) => void) | undefined;
export const reportWaitsTo = (report: (line: string) => void) => {
  waitReporter = report;
};

/** Waits until `done()` holds, checking every `everyMs`; throws after `timeoutMs`, saying where things stood. */
export async function waitFor(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
  describe?: () => string,
) {
  const start = Date.now();
  let lastReport = start;
  while (!(await done())) {
    const now = Date.now();
    const where = describe ? ` (${describe()})` : '';
    if (now - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${where}`);
    if (now - lastReport > 15_000) {
      waitReporter?.(`  … waiting ${Math.round((now - start) / 1000)} s for ${what}${where}`);
      lastReport = now;
    }
    await sleep(everyMs);
  }
}
