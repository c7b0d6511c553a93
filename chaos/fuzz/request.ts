/** What a fuzz request is, and the pieces every generator builds one from. */
import type { DEMO_AGENT_TYPES } from '../../local/demo-agents';

/** One request, exactly as it goes on the wire (headers may repeat; their order is kept). */
export interface FuzzRequest {
  /** The generator that made it, for the report. */
  readonly kind: string;
  readonly method: string;
  /** Sent as is: already percent-encoded where it should be. */
  readonly path: string;
  readonly headers: Entries;
  readonly body?: Buffer;
  /** Set on a valid task: what must become of it. Unset: a bad request, which must get a 4xx. */
  readonly expect?: Expectation;
  /**
   * A bad request's allowed answers, as {@link answerOf} writes them (`401 Unauthorized`, `404 Not Found`).
   * @default - any 4xx JSON error
   */
  readonly answers?: readonly string[];
}

/** What must become of an accepted task. */
export type Expectation =
  /** SUCCEEDED, with the echo agent's result holding this payload text exactly. */
  | { readonly outcome: 'echo'; readonly payload: string }
  /** FAILED with this error code. */
  | { readonly outcome: 'failed'; readonly code: string }
  /** SUCCEEDED after an attempt that answered too late, with no overlapping executions. */
  | { readonly outcome: 'late' };

/** Headers, or a JSON object's members with their values already serialized, in order. */
export type Entries = ReadonlyArray<readonly [string, string]>;

/** The demo agent type every valid task names; the echo agent answers with the payload it received. */
export const ECHO_TYPE = 'echo' satisfies (typeof DEMO_AGENT_TYPES)[number];
export const JSON_CT: readonly [string, string] = ['Content-Type', 'application/json'];

/** A JSON object from already-serialized members, so that keys like `__proto__` survive as written. */
export const object = (entries: Entries) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** A POST /tasks request with this body. */
export const post = (kind: string, body: string | Buffer, headers: Entries = [JSON_CT]): FuzzRequest => ({
  kind,
  method: 'POST',
  path: '/tasks',
  headers,
  body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
});
