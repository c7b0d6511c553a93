/** The local runtime's source: its dashboard's data API, `GET {endpoint}/_local/dashboard/api/overview`. */
import { type FetchLike, NetworkError } from '../api-client';
import { CommandError } from '../errors';
import { type Overview, parseOverview } from './overview';
import type { OverviewSource } from './source';

export const OVERVIEW_PATH = '/_local/dashboard/api/overview';

/** One read must not outlast the refresh that follows it by much. */
const READ_TIMEOUT_MS = 5_000;

export class LocalOverviewSource implements OverviewSource {
  public readonly description: string;
  private readonly url: string;

  public constructor(
    endpoint: string,
    private readonly fetch: FetchLike = (url, init) => globalThis.fetch(url, init),
  ) {
    this.description = `the local runtime at ${endpoint}`;
    this.url = `${endpoint.replace(/\/+$/, '')}${OVERVIEW_PATH}`;
  }

  public async read(): Promise<Overview> {
    let response: Response;
    try {
      response = await this.fetch(this.url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(READ_TIMEOUT_MS),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError')
        throw new NetworkError('Timeout', `GET ${this.url} did not answer within ${READ_TIMEOUT_MS} ms`, {
          cause: error,
        });
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new NetworkError(
        'Unreachable',
        `cannot reach ${this.url}: ${cause?.code ?? (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text();
    if (!response.ok)
      throw new CommandError(
        'NotLocalRuntime',
        `GET ${this.url} answered ${response.status}: taskq top needs the local runtime's dashboard there, ` +
          'or --stack NAME for a deployed stack',
      );
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new CommandError('InvalidResponse', `GET ${this.url} did not answer JSON`);
    }
    return parseOverview(document, `GET ${this.url}`);
  }
}
