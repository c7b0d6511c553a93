/**
 * The integration project's setup (jest.config.js `setupFilesAfterEnv`): every response the tests receive from the
 * task API through the global `fetch`, theirs and the CLI's (cli/api-client.ts calls `globalThis.fetch`), is checked
 * against openapi.json (openapi-check.ts). A response that breaks the document fails the test that received it,
 * at its end: recorded, not thrown, so that a retry loop (`eventually`) or the CLI's error handling cannot swallow it.
 *
 * Requests to a loopback host whose path and method are an operation of the document are checked; anything else
 * (the agents, the emulators, `/_local/…`, `/openapi.json`) is passed through.
 */
import { checkFetchResponse, OpenApiChecker } from './openapi-check';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const checker = OpenApiChecker.fromFile();
const problems: string[] = [];
let checked = 0;
const unwrapped = globalThis.fetch;

function requestOf(input: string | URL | Request, init?: RequestInit): { method: string; url: URL } {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  return { method: method.toUpperCase(), url };
}

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const response = await unwrapped(input, init);
  const { method, url } = requestOf(input, init);
  if (LOOPBACK_HOSTS.has(url.hostname) && checker.operation(method, url.pathname)) {
    checked += 1;
    problems.push(...(await checkFetchResponse(checker, method, url, response)));
  }
  return response;
};

/**
 * How many responses were checked so far, and takes the problems found since the last test ended: for a test that
 * shows the check runs, and fails, by design.
 */
export function responseChecks(): { readonly checked: number; takeProblems(): string[] } {
  return { checked, takeProblems: () => problems.splice(0) };
}

function assertNoProblems(): void {
  if (problems.length === 0) return;
  const found = problems.splice(0);
  throw new Error(`${found.length} response(s) break openapi.json:\n${found.join('\n')}`);
}

afterEach(assertNoProblems);
afterAll(assertNoProblems);
