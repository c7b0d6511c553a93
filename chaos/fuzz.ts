/**
 * API fuzzing: fast-check generates requests, sends them byte for byte over node:http, and checks the answers.
 * - Bad requests: every answer is a 4xx with a JSON error body, and nothing is enqueued.
 * - Valid tasks whose text a careless queue would change (astral characters, U+FFFE/U+FFFF, lone surrogates as
 *   `\uD800` escapes, numbers past double precision or range, bodies near the limit): each gets 202, and its
 *   echo result shows the payload reached the agent exactly (same JSON value, every number literal's digits).
 * - Valid tasks whose agent misbehaves (a huge answer, an answer after the timeout): each ends as expected
 *   (`ResultTooLarge`, or SUCCEEDED on a later attempt), and with the demo agents at hand no two executions of
 *   one task overlap.
 *
 * Left out on purpose, because they test something other than our stack:
 * - requests node's HTTP parser refuses before the local API sees them (unknown or lowercase methods, raw
 *   non-ASCII bytes in the path, oversized header blocks, Content-Length with chunked encoding); API
 *   Gateway's own front door answers those;
 * - HEAD, whose answer has no body to check;
 * - a repeated Idempotency-Key alone: API Gateway joins the values with a comma, and `a,b` is a valid key.
 *   Repeated keys are sent with a body key that the joined value contradicts;
 * - bodies over API Gateway's 10 MiB: the ones over our 256 KiB limit already get 413, at less cost.
 */
import { request as httpRequest } from 'node:http';
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { parseExactJson } from '../lambda/core/json-text';

/** One request, exactly as it goes on the wire (headers may repeat; their order is kept). */
export interface FuzzRequest {
  /** The generator that made it, for the report. */
  readonly kind: string;
  readonly method: string;
  /** Sent as is: already percent-encoded where it should be. */
  readonly path: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body?: Buffer;
  /** Set on a valid task: what must become of it. Unset: a bad request, which must get a 4xx. */
  readonly expect?: Expectation;
}

/** What must become of an accepted task. */
export type Expectation =
  /** SUCCEEDED, with the echo agent's result holding this payload text exactly. */
  | { readonly outcome: 'echo'; readonly payload: string }
  /** FAILED with this error code. */
  | { readonly outcome: 'failed'; readonly code: string }
  /** SUCCEEDED after an attempt that answered too late, with no overlapping executions. */
  | { readonly outcome: 'late' };

export interface FuzzResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface FuzzOptions {
  /** Base URL of a running local runtime (it must serve `GET /_local/stack`). */
  readonly apiUrl: string;
  /** Generated requests. @default 5000 */
  readonly runs?: number;
  /** fast-check seed; the same seed sends the same requests. @default 7 */
  readonly seed?: number;
  /** Distinct violation kinds to shrink to a minimal counterexample (each costs more requests). @default 3 */
  readonly shrinkKinds?: number;
  readonly progress?: (line: string) => void;
  /**
   * Largest answer a `huge-answer` task asks the echo agent for. The default reaches past what a consumer
   * can buffer (the consumer must stop reading at `maxResultBytes`).
   * @default 300_000_000
   */
  readonly maxAnswerBytes?: number;
  /** How long accepted tasks may take to finish. @default 600_000 */
  readonly finishWithinMs?: number;
  /** The demo agents, when they run in this process: then no two executions of one task may overlap. */
  readonly agents?: { overlaps(): ReadonlyMap<string, number> };
}

export interface FuzzViolation {
  readonly kind: string;
  readonly problem: string;
  readonly request: string;
  /** The smallest failing request fast-check found from this one, when it was shrunk. */
  readonly shrunk?: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly runs: number;
  /** Every request sent, including the ones sent while shrinking. */
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byKind: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Valid tasks accepted (202), each checked once it finished. */
  readonly accepted: number;
  /** Messages in the two tier queues and items in the task table, before and after. */
  readonly before: StoreCounts;
  readonly after: StoreCounts;
  readonly violations: readonly FuzzViolation[];
}

export interface StoreCounts {
  readonly queuedMessages: number;
  readonly taskItems: number;
}

// ---------------------------------------------------------------------------------------------------------
// Generators. Each one yields requests that stay invalid whatever the others add.

const VALID_TYPE = 'echo';
const JSON_CT: readonly [string, string] = ['Content-Type', 'application/json'];
const MAX_BODY_BYTES = 262_144;
const MAX_JSON_DEPTH = 32;

type Entries = ReadonlyArray<readonly [string, string]>;

/** A JSON object from already-serialized members, so that keys like `__proto__` survive as written. */
const object = (entries: Entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** A valid task's members; the generators below break at least one of them. */
const validMembers: fc.Arbitrary<Entries> = fc
  .record(
    {
      payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
      priority: fc.constantFrom('high', 'low'),
      idempotency_key: fc.string({ minLength: 1, maxLength: 40 }),
      delay_seconds: fc.integer({ min: 0, max: 900 }),
    },
    { requiredKeys: ['payload'] },
  )
  .map((task) => [
    ['type', JSON.stringify(VALID_TYPE)] as const,
    ...Object.entries(task).map(([k, v]) => [k, JSON.stringify(v)] as const),
  ]);

const set = (entries: Entries, key: string, value: string | undefined): Entries => {
  const rest = entries.filter(([k]) => k !== key);
  return value === undefined ? rest : [...rest, [key, value]];
};

const hugeString = fc
  .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('a', 'é', '😀', '\\u0000'))
  .map(([n, unit]) => `"${unit.repeat(Math.floor(n / unit.length))}"`);

/** JSON values of every type but the kept ones (an integer field keeps integers out, even `0`). */
const notA = (...keep: Array<'string' | 'object' | 'integer'>) =>
  fc.constantFrom(
    ...[
      'null',
      'true',
      '-1.5',
      '[]',
      '[1,2]',
      ...(keep.includes('string') ? [] : ['""', '"x"']),
      ...(keep.includes('object') ? [] : ['{}', '{"a":1}']),
      ...(keep.includes('integer') ? [] : ['0', '7', '1e308']),
    ],
  );

/** A bad value for each field: a wrong JSON type, or the right type out of range. */
const badField: fc.Arbitrary<[string, string | undefined]> = fc.oneof(
  fc.tuple(
    fc.constant('type'),
    fc.oneof(
      notA('string'),
      hugeString,
      fc.constantFrom(
        '""',
        JSON.stringify('x'.repeat(65)),
        '"-echo"',
        '"ec ho"',
        '"echo\\n"',
        '"écho"',
        '"nope"',
        '"__proto__"',
        '"constructor"',
        '"toString"',
        '"hasOwnProperty"',
        '"ECHO"',
      ),
      fc.string({ minLength: 1, maxLength: 20 }).map((s) => JSON.stringify(`${s}\u0000`)),
    ),
  ),
  fc.tuple(fc.constant('payload'), fc.oneof(notA('object'), hugeString)),
  fc.tuple(
    fc.constant('priority'),
    fc.oneof(notA('string'), hugeString, fc.constantFrom('""', '"HIGH"', '"medium"', '"high "', '"0"')),
  ),
  fc.tuple(
    fc.constant('idempotency_key'),
    fc.oneof(
      notA('string'),
      hugeString,
      fc.constantFrom('""', JSON.stringify('k'.repeat(129)), JSON.stringify('😀'.repeat(129))),
    ),
  ),
  fc.tuple(
    fc.constant('delay_seconds'),
    fc.oneof(
      notA('integer'),
      fc.constantFrom('-1', '901', '1.5', '"10"', '1e21', '-1e-7', '9007199254740993'),
      fc.integer({ min: 901 }).map(String),
      fc.integer({ max: -1 }).map(String),
    ),
  ),
  // A required field left out.
  fc.tuple(fc.constantFrom('type', 'payload'), fc.constant(undefined)),
);

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '__defineGetter__');
const hostileValue = fc.constantFrom(
  '{"polluted":true}',
  '{"prototype":{"polluted":true}}',
  'null',
  '[]',
  '1',
);

/** Members that break the schema: a bad field, or an unknown top-level one (hostile names included). */
const invalidMembers: fc.Arbitrary<Entries> = fc.oneof(
  fc.tuple(validMembers, badField).map(([m, [k, v]]) => set(m, k, v)),
  fc
    .tuple(
      validMembers,
      fc.oneof(
        hostileKey,
        fc.constantFrom('Type', 'PAYLOAD', 'payload ', '', 'task', 'idempotencyKey', 'delaySeconds'),
        fc.string({ minLength: 1, maxLength: 30 }).filter((k) => !isField(k)),
      ),
      hostileValue,
    )
    .map(([m, k, v]) => [...m, [k, v] as const]),
);

function isField(key: string): boolean {
  return ['type', 'payload', 'priority', 'idempotency_key', 'delay_seconds'].includes(key);
}

/** An invalid task that also carries `__proto__`/`constructor` keys inside its payload. */
const hostilePayload: fc.Arbitrary<Entries> = fc
  .tuple(invalidMembers, fc.array(fc.tuple(hostileKey, hostileValue), { minLength: 1, maxLength: 3 }))
  .map(([m, extra]) => {
    const payload = m.find(([k]) => k === 'payload');
    // Keep a bad payload as it is; otherwise add the hostile keys next to the payload's own ones.
    if (payload?.[1].startsWith('{')) {
      const inner = payload[1].slice(1, -1);
      const added = extra.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',');
      return set(m, 'payload', `{${inner}${inner ? ',' : ''}${added}}`);
    }
    return m;
  });

const post = (kind: string, body: string | Buffer, headers: Entries = [JSON_CT]): FuzzRequest => ({
  kind,
  method: 'POST',
  path: '/tasks',
  headers,
  body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
});

const validBody = validMembers.map(object);

const invalidJson: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    // A valid task cut short, or with something after it.
    fc.tuple(validBody, fc.nat()).map(([body, n]) => body.slice(0, n % body.length)),
    fc
      .tuple(validBody, fc.constantFrom('x', '}', ',', ' {}', '\u0000', '{"type":1}'))
      .map(([body, tail]) => body + tail),
    fc.constantFrom(
      '',
      ' ',
      '{',
      'null',
      '[]',
      '"task"',
      "{'type':'echo','payload':{}}",
      '{"type":"echo","payload":{},}',
      '{"type":"echo","payload":{"n":NaN}}',
      '{"type":"echo",/* c */"payload":{}}',
      '{type:"echo",payload:{}}',
      '\uFEFF{"type":"echo","payload":{},"x":1}',
      // Duplicate keys: the last one wins, and it is bad.
      '{"type":"echo","payload":{},"type":"no such type"}',
      '{"type":"echo","payload":{},"payload":[]}',
    ),
  )
  .map((text) => post('invalid-json', text));

const deepNesting: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: MAX_JSON_DEPTH - 1, max: MAX_JSON_DEPTH + 2 }),
      fc.integer({ min: MAX_JSON_DEPTH, max: 10_000 }),
      fc.constant(10_000),
      fc.constant(100_000),
    ),
    fc.constantFrom('array', 'object', 'unclosed'),
    fc.boolean(),
  )
  .map(([depth, shape, inPayload]) => {
    const [open, close] = shape === 'object' ? ['{"a":', '}'] : ['[', ']'];
    const nest = (n: number) => open.repeat(n) + (shape === 'unclosed' ? '' : `0${close.repeat(n)}`);
    // Top-level object and payload are two levels already; the whole body must be deeper than the limit.
    const body = inPayload
      ? `{"type":"echo","payload":{"x":${nest(Math.max(depth, MAX_JSON_DEPTH - 1))}}}`
      : nest(Math.max(depth, MAX_JSON_DEPTH + 1));
    return post('deep-nesting', body);
  });

const schemaViolation = fc
  .oneof(invalidMembers, hostilePayload)
  .map((m) => post(m.some(([k]) => isHostile(k)) ? 'proto-keys' : 'wrong-field', object(m)));

function isHostile(key: string): boolean {
  return ['__proto__', 'constructor', 'prototype', 'toString', '__defineGetter__'].includes(key);
}

/** Bytes that are not UTF-8: overlong, surrogate, truncated, lone continuation, 0xFF. */
const badUtf8 = fc.constantFrom(
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0x80]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.from([0xfe, 0xfe, 0xff, 0xff]),
);

const MARK = '\u0001BAD\u0001';

const notUtf8: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    badUtf8,
    fc.constantFrom('type', 'priority', 'key', 'payload', 'octet-stream', 'no-content-type'),
    validMembers,
  )
  .map(([bytes, where, members]) => {
    const text =
      where === 'type'
        ? object(set(members, 'type', `"ec${MARK}ho"`))
        : where === 'priority'
          ? object(set(members, 'priority', `"hi${MARK}gh"`))
          : where === 'key'
            ? `${object(members).slice(0, -1)},"x${MARK}":1}`
            : object(set(members, 'payload', `{"x":"${MARK}"}`));
    const [head = '', tail = ''] = text.split(MARK);
    const body = Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]);
    if (where === 'octet-stream')
      return post('not-utf8', body, [['Content-Type', 'application/octet-stream']]);
    return post('not-utf8', body, where === 'no-content-type' ? [] : [JSON_CT]);
  });

const oversized: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.oneof(
      fc.constant(MAX_BODY_BYTES + 1),
      fc.integer({ min: MAX_BODY_BYTES + 1, max: 2 * MAX_BODY_BYTES }),
    ),
    fc.constantFrom('a', 'é', '€'),
  )
  .map(([bytes, unit]) => {
    const head = '{"type":"echo","payload":{"x":"';
    const tail = '"}}';
    const unitBytes = Buffer.byteLength(unit);
    const room = bytes - head.length - tail.length;
    // Pad with ASCII to land on exactly `bytes` bytes whatever the unit's width.
    const fill = unit.repeat(Math.floor(room / unitBytes)) + 'a'.repeat(room % unitBytes);
    return post('oversized', head + fill + tail);
  });

/** Content types the handler must refuse (415), sent with an otherwise valid body. */
const badContentType: fc.Arbitrary<Entries> = fc.oneof(
  fc.constant([]),
  fc.constantFrom(
    [['Content-Type', '']],
    [['Content-Type', 'text/plain']],
    [['Content-Type', 'application/json; charset=latin1']],
    [['Content-Type', 'application/json; charset=iso-8859-1']],
    [['Content-Type', 'application/json;charset=utf-16']],
    [['Content-Type', 'multipart/form-data; boundary=x']],
    [['Content-Type', 'application/x-www-form-urlencoded']],
    [['Content-Type', 'application/jsonx']],
    [['Content-Type', 'application/json, text/plain']],
    [['Content-Type', 'json']],
    [['Content-Type', '*/*']],
    // Repeated: API Gateway joins the values with a comma.
    [JSON_CT, JSON_CT],
    [JSON_CT, ['content-type', 'text/plain']],
  ) as fc.Arbitrary<Entries>,
  fc
    .tuple(fc.constantFrom('text', 'application', 'image', 'x'), fc.stringMatching(/^[a-z]{1,12}$/))
    .filter(([, sub]) => !sub.endsWith('json'))
    .map(([top, sub]) => [['Content-Type', `${top}/${sub}`]] as Entries),
);

const contentType: fc.Arbitrary<FuzzRequest> = fc
  .tuple(validBody, badContentType, fc.boolean())
  .map(([body, headers, multipart]) =>
    multipart && headers.some(([, v]) => v.startsWith('multipart'))
      ? post(
          'content-type',
          `--x\r\nContent-Disposition: form-data; name="task"\r\n\r\n${body}\r\n--x--\r\n`,
          headers,
        )
      : post('content-type', body, headers),
  );

/** Idempotency-Key headers that are bad on their own, or repeated and then joined into a key the body contradicts. */
const badKeyHeader: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc
    .tuple(
      validMembers,
      fc.constantFrom('', 'k'.repeat(200), 'k'.repeat(129), 'é'.repeat(129), ' '.repeat(200)),
    )
    .map(([m, key]) => post('idempotency-key', object(m), [JSON_CT, ['Idempotency-Key', key]])),
  fc
    .tuple(
      validMembers,
      fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/), { minLength: 2, maxLength: 4 }),
    )
    .map(([m, keys]) =>
      post('idempotency-key', object(set(m, 'idempotency_key', JSON.stringify(keys[0]))), [
        JSON_CT,
        ...keys.map((k) => ['Idempotency-Key', k] as const),
      ]),
    ),
  // Header and body keys that differ.
  fc
    .tuple(
      validMembers,
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.string({ minLength: 1, maxLength: 20 }),
    )
    .filter(([, a, b]) => a !== b && /^[\x21-\x7e]+$/.test(a))
    .map(([m, header, body]) =>
      post('idempotency-key', object(set(m, 'idempotency_key', JSON.stringify(body))), [
        JSON_CT,
        ['Idempotency-Key', header],
      ]),
    ),
);

/** Methods node's parser knows but no route serves (HEAD and CONNECT excluded: no body, or no request). */
const oddMethod: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom(
      'PUT',
      'PATCH',
      'OPTIONS',
      'TRACE',
      'PROPFIND',
      'MKCOL',
      'COPY',
      'MOVE',
      'LOCK',
      'PURGE',
      'SEARCH',
      'REPORT',
      'GET',
      'DELETE',
      'POST',
    ),
    fc.constantFrom('/tasks', '/tasks/', `/tasks/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`),
    fc.option(validBody, { nil: undefined }),
  )
  .filter(([method, path]) => {
    // Leave the served routes out: POST /tasks, GET and DELETE /tasks/{id}.
    if (path === '/tasks') return method !== 'POST';
    if (path === '/tasks/') return true;
    return method !== 'GET' && method !== 'DELETE';
  })
  .map(([method, path, body]) => ({
    kind: 'method',
    method,
    path,
    headers: body === undefined ? [] : [JSON_CT],
    ...(body !== undefined && { body: Buffer.from(body) }),
  }));

const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Path ids that are not task ids: slashes, NUL, encoded slashes, unicode, 2,000 characters, near-UUIDs. */
const pathId: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom('GET', 'DELETE'),
    fc.oneof(
      fc.uuid().map((id) => id.toUpperCase()),
      fc.uuid().map((id) => `${id}%00`),
      fc.uuid().map((id) => `${id}/`),
      fc.uuid().map((id) => `${id.slice(0, 8)}%2F${id.slice(9)}`),
      fc.uuid().map((id) => `${id}%2f..`),
      fc.uuid().map((id) => `${id.slice(0, -1)}`),
      fc.uuid().map((id) => `${id}0`),
      fc.uuid().map((id) => encode(`${id.slice(0, 4)}é${id.slice(5)}`)),
      fc.constantFrom(
        '%zz',
        '%E0%A4',
        '%',
        '%00',
        '%2F',
        '%2f',
        '..',
        '%2e%2e',
        '.',
        'a/b',
        'a%2Fb',
        '%20',
        '+',
        '~',
        'null',
        'undefined',
      ),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(encode),
      fc
        .tuple(fc.integer({ min: 1_990, max: 2_010 }), fc.constantFrom('a', '0', '-', '%2F', '%00', '%C3%A9'))
        // Whole escapes only: a cut one is a malformed escape (see the note at the top).
        .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length))),
    ),
    fc.constantFrom('', '?x=1', '?id=../../x', '#frag'),
  )
  .filter(([, id]) => id !== '' && !id.includes('_local'))
  .map(([method, id, suffix]) => ({ kind: 'path-id', method, path: `/tasks/${id}${suffix}`, headers: [] }));

const unknownRoute: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
    fc.oneof(
      fc.constantFrom(
        '/',
        '/task',
        '/TASKS',
        '/tasks/a/b',
        '/tasks//',
        '//tasks',
        '/tasks.json',
        '/v1/tasks',
        '/_local',
        '/%00',
      ),
      fc
        .array(fc.stringMatching(/^[a-z0-9.~-]{1,12}$/), { minLength: 1, maxLength: 5 })
        .map((s) => `/${s.join('/')}`),
    ),
    fc.option(validBody, { nil: undefined }),
  )
  .filter(([method, path]) => {
    const pathname = new URL(path, 'http://local').pathname;
    if (pathname === '/_local/stack') return false;
    if (pathname === '/tasks') return method !== 'POST';
    return !/^\/tasks\/[^/]+$/.test(pathname);
  })
  .map(([method, path, body]) => ({
    kind: 'unknown-route',
    method,
    path,
    headers: body === undefined ? [] : [JSON_CT],
    ...(body !== undefined && { body: Buffer.from(body) }),
  }));

/**
 * Headers added to any request; none can make an invalid request valid (no Content-Type, no Idempotency-Key).
 * At most 4 × 2,000 characters, well under node's 16 KiB header limit (over it, node answers 431 itself).
 */
const noise: fc.Arbitrary<Entries> = fc.array(
  fc.oneof(
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.stringMatching(/^[\x20-\x7e]{0,60}$/)),
    fc.tuple(
      fc.constantFrom(
        'Accept',
        'User-Agent',
        'Cookie',
        'Authorization',
        'X-Forwarded-For',
        'X-Amzn-Trace-Id',
      ),
      fc.oneof(
        fc.stringMatching(/^[\x20-\x7e]{0,60}$/),
        fc.constant('a=1; b=2; ;;'),
        fc.constant('x'.repeat(2000)),
      ),
    ),
    // Latin-1 bytes in a header value: node sends them, the server reads them as latin1.
    fc.tuple(fc.constant('X-Latin1'), fc.constant('caf\u00e9 \u00ff')),
  ),
  { maxLength: 4 },
);

/** A finished task the fuzz plants first, so that requests can conflict with it. */
export interface Anchor {
  readonly taskId: string;
  readonly idempotencyKey: string;
}

/**
 * Requests that are bad only because of the anchor: its idempotency key with a different body (409
 * IdempotencyConflict), or cancelling it when it has already finished (409 NotCancellable).
 */
const conflicts = (anchor: Anchor): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    fc.tuple(validMembers, fc.string({ maxLength: 20 }), fc.boolean()).map(([m, other, inHeader]) => {
      const members = set(m, 'payload', object([['fuzz', JSON.stringify(`not the anchor ${other}`)]]));
      return inHeader
        ? post('conflict', object(set(members, 'idempotency_key', undefined)), [
            JSON_CT,
            ['Idempotency-Key', anchor.idempotencyKey],
          ])
        : post('conflict', object(set(members, 'idempotency_key', JSON.stringify(anchor.idempotencyKey))));
    }),
    fc.constant<FuzzRequest>({
      kind: 'conflict',
      method: 'DELETE',
      path: `/tasks/${anchor.taskId}`,
      headers: [],
    }),
  );

// ---------------------------------------------------------------------------------------------------------
// Valid tasks. Each must be accepted (202) and end as its expectation says.

/** Text a careless queue changes or SQS refuses as it stands: astral characters, U+FFFE/U+FFFF, controls. */
const edgyText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constantFrom(
        '😀',
        'great 😀',
        '🧑‍💻',
        '𝄞',
        '\u{10FFFF}',
        '中文',
        '\uFFFE',
        '\uFFFF',
        '\u0000',
        '\u001b[31m',
      ),
      // Lone surrogates: JSON.stringify writes them as `\uD800`-style escapes in the body text.
      fc.constantFrom('\uD800', '\uDFFF', '\uDBFF\uDBFF', 'a\uDC00b'),
    ),
    { maxLength: 6 },
  )
  .map((parts) => JSON.stringify(parts.join('')));

/** Number literals a double changes: past 2^53, out of range, long, or written with digits a double drops. */
const edgyNumber = fc.oneof(
  fc.constantFrom(
    '9007199254740993',
    '-9007199254740993',
    '18446744073709551615',
    '1e400',
    '-1e400',
    '1E400',
    '1e-400',
    '1.50',
    '-0',
    '0.1000000000000000000001',
    '1e20',
    '7'.repeat(300),
  ),
  fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map(String),
  fc
    .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: -500, max: 500 }))
    .map(([digits, exponent]) => `${digits}e${exponent}`),
);

const edgyValue = (leaf: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    leaf,
    fc.array(leaf, { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  );

const validTask = (kind: string, payload: string, expect: Expectation, priority = 'low'): FuzzRequest => ({
  ...post(kind, `{"type":${JSON.stringify(VALID_TYPE)},"priority":"${priority}","payload":${payload}}`),
  expect,
});

/** A payload of edgy text (`exact-text`) or edgy numbers (`exact-number`), which must reach the agent exactly. */
const exactPayload = (kind: string, leaf: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(
      fc.array(
        fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('😀', '\uFFFF')), edgyValue(leaf)),
        {
          minLength: 1,
          maxLength: 5,
        },
      ),
      fc.constantFrom('high', 'low'),
    )
    .map(([entries, priority]) => {
      // Keys made unique, so that the payload is one JSON value however it is read.
      const payload = `{${entries.map(([k, v], i) => `${JSON.stringify(`${k}${i}`)}:${v}`).join(',')}}`;
      return validTask(kind, payload, { outcome: 'echo', payload }, priority);
    });

/** Bodies just under the body limit that an exact queue must carry: `1e20` repeated (4 bytes each), U+FFFF. */
const nearLimit: fc.Arbitrary<FuzzRequest> = fc
  .tuple(fc.constantFrom('1e20', 'ffff'), fc.integer({ min: 0, max: 64 }))
  .map(([unit, slack]) => {
    // `{"type":"echo","priority":"low","payload":` and the closing `}` around the payload.
    const room = MAX_BODY_BYTES - 44 - slack;
    const payload =
      unit === '1e20'
        ? `{"a":[${Array(Math.floor((room - 7) / 5))
            .fill('1e20')
            .join(',')}]}`
        : `{"a":"${'\uFFFF'.repeat(Math.floor((room - 8) / 3))}"}`;
    return validTask('near-limit', payload, { outcome: 'echo', payload });
  });

/** Agents that answer a huge body (the consumer must stop reading at maxResultBytes) or after their timeout. */
const misbehavingAgent = (maxAnswerBytes: number): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    fc
      .constantFrom(262_145, 1_000_000, 5_000_000, 300_000_000)
      .map((bytes) => Math.min(bytes, maxAnswerBytes))
      .map((bytes) =>
        validTask('huge-answer', `{"answer_bytes":${bytes}}`, { outcome: 'failed', code: 'ResultTooLarge' }),
      ),
    // Past the local agent timeout (10 s), and within twice it: finished before the next attempt may start.
    fc
      .constantFrom(11_000, 15_000)
      .map((ms) => validTask('late-answer', `{"late_ms":${ms}}`, { outcome: 'late' })),
  );

/** Valid tasks: mostly exact payloads, some near the body limit, a few misbehaving agents. */
export function validTasks(maxAnswerBytes = 300_000_000): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { arbitrary: exactPayload('exact-text', edgyText), weight: 4 },
    { arbitrary: exactPayload('exact-number', fc.oneof(edgyNumber, edgyText)), weight: 4 },
    { arbitrary: nearLimit, weight: 1 },
    { arbitrary: misbehavingAgent(maxAnswerBytes), weight: 1 },
  );
}

/** Every kind of bad request, each with some harmless noise headers; conflicts too when there is an anchor. */
export function badRequests(anchor?: Anchor): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(
      fc.oneof(
        invalidJson,
        deepNesting,
        schemaViolation,
        notUtf8,
        oversized,
        contentType,
        badKeyHeader,
        oddMethod,
        pathId,
        unknownRoute,
        ...(anchor ? [conflicts(anchor)] : []),
      ),
      noise,
    )
    .map(([req, extra]) => ({ ...req, headers: [...req.headers, ...extra] }));
}

// ---------------------------------------------------------------------------------------------------------
// Sending and judging.

/** Sends one request with node:http, so that bytes, header order and repeats are exactly as generated. */
export function send(apiUrl: string, req: FuzzRequest): Promise<FuzzResponse> {
  const url = new URL(apiUrl);
  const raw: string[] = ['Host', url.host];
  for (const [k, v] of req.headers) raw.push(k, v);
  if (req.body !== undefined) raw.push('Content-Length', String(req.body.length));
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: raw,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** What is wrong with an answer to a bad request, or undefined when it is a 4xx JSON error. */
export function judge(res: FuzzResponse): string | undefined {
  if (res.status < 400 || res.status > 499) return `answered ${res.status}: ${res.body.slice(0, 300)}`;
  if (!/^application\/json\b/i.test(res.contentType))
    return `answered ${res.status} with content-type '${res.contentType}'`;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `answered ${res.status} with a body that is not JSON: ${res.body.slice(0, 300)}`;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || !error.code || typeof error.message !== 'string' || !error.message) {
    return `answered ${res.status} without { error: { code, message } }: ${res.body.slice(0, 300)}`;
  }
  return undefined;
}

/** A short, printable form of a request for the report: long runs of one character are collapsed. */
export function requestText(req: FuzzRequest): string {
  const squeeze = (s: string) =>
    s.replace(/(.)\1{19,}/gsu, (run, c: string) => `${c.repeat(3)}…(${[...run].length}×)`).slice(0, 600);
  const body =
    req.body === undefined
      ? ''
      : ` body(${req.body.length} B)=${JSON.stringify(squeeze(req.body.toString('latin1')))}`;
  const headers = req.headers.map(([k, v]) => `${k}: ${squeeze(v)}`).join(' | ');
  return `[${req.kind}] ${req.method} ${squeeze(req.path)} {${headers}}${body}`;
}

/** Messages in the two tier queues and items in the task table, read through the endpoints `/_local/stack` names. */
export async function storeCounts(apiUrl: string): Promise<StoreCounts> {
  const response = await fetch(new URL('/_local/stack', apiUrl));
  if (!response.ok) throw new Error(`GET /_local/stack answered ${response.status}`);
  const stack = (await response.json()) as {
    outputs: Record<string, string>;
    endpoints: { sqs: string; dynamodb: string };
    region: string;
  };
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const sqs = new SQSClient({ endpoint: stack.endpoints.sqs, region: stack.region, credentials });
  const dynamo = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials,
  });
  try {
    let queuedMessages = 0;
    for (const key of ['HighQueueUrl', 'LowQueueUrl']) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.outputs[key],
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      for (const value of Object.values(out.Attributes ?? {})) queuedMessages += Number(value);
    }
    let taskItems = 0;
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page = await dynamo.send(
        new ScanCommand({
          TableName: stack.outputs.TaskTableName,
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      taskItems += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return { queuedMessages, taskItems };
  } finally {
    sqs.destroy();
    dynamo.destroy();
  }
}

/** Submits the anchor task (a replay if it exists already) and waits until it has finished. */
export async function plantAnchor(apiUrl: string, seed: number, withinMs = 60_000): Promise<Anchor> {
  const idempotencyKey = `fuzz-anchor-${seed}`;
  const res = await send(apiUrl, {
    kind: 'anchor',
    method: 'POST',
    path: '/tasks',
    headers: [JSON_CT, ['Idempotency-Key', idempotencyKey]],
    body: Buffer.from(
      object([
        ['type', JSON.stringify(VALID_TYPE)],
        ['payload', '{"fuzz":"anchor"}'],
      ]),
    ),
  });
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`the anchor task got ${res.status}: ${res.body}`);
  const taskId = (JSON.parse(res.body) as { task_id: string }).task_id;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const task = await send(apiUrl, { kind: 'anchor', method: 'GET', path: `/tasks/${taskId}`, headers: [] });
    const { status } = JSON.parse(task.body) as { status?: string };
    if (status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED')
      return { taskId, idempotencyKey };
    if (Date.now() > deadline)
      throw new Error(`the anchor task ${taskId} was still ${status} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Plants the anchor task, then sends `runs` generated bad requests one after another and records every
 * answer. Then, for the first violation of each kind (up to `shrinkKinds`), replays that run with
 * fast-check's `path` so that it shrinks the request to a minimal one that still fails.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const runs = options.runs ?? 5000;
  const seed = options.seed ?? 7;
  const say = options.progress ?? (() => {});
  const byStatus: Record<string, number> = {};
  const byKind: Record<string, Record<string, number>> = {};
  const violations: FuzzViolation[] = [];
  const firstFailingRun = new Map<string, number>();
  const accepted: Accepted[] = [];
  let requests = 0;

  const attempt = async (req: FuzzRequest): Promise<string | undefined> => {
    requests += 1;
    let problem: string | undefined;
    let status = 'network error';
    try {
      const res = await send(options.apiUrl, req);
      status = String(res.status);
      if (req.expect) {
        const taskId = acceptedTaskId(res);
        if (taskId) accepted.push({ taskId, request: req, expect: req.expect });
        else problem = `a valid task answered ${res.status}: ${res.body.slice(0, 300)}`;
      } else problem = judge(res);
    } catch (error) {
      problem = `no answer: ${(error as Error).message}`;
    }
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const kind = byKind[req.kind] ?? {};
    kind[status] = (kind[status] ?? 0) + 1;
    byKind[req.kind] = kind;
    return problem;
  };

  const anchor = await plantAnchor(options.apiUrl, seed);
  const request = fc.oneof(
    { arbitrary: badRequests(anchor), weight: 9 },
    { arbitrary: validTasks(options.maxAnswerBytes), weight: 1 },
  );
  const before = await storeCounts(options.apiUrl);
  let run = 0;
  await fc.check(
    fc.asyncProperty(request, async (req) => {
      const index = run++;
      const problem = await attempt(req);
      if (problem) {
        violations.push({ kind: req.kind, problem, request: requestText(req) });
        if (!firstFailingRun.has(req.kind)) firstFailingRun.set(req.kind, index);
      }
      if (run % 500 === 0) say(`fuzz: ${run}/${runs} requests, ${violations.length} violations`);
      return true;
    }),
    { numRuns: runs, seed },
  );

  for (const [kind, index] of [...firstFailingRun].slice(0, options.shrinkKinds ?? 3)) {
    const details = await fc.check(
      fc.asyncProperty(request, async (req) => (await attempt(req)) === undefined),
      { seed, path: String(index), numRuns: runs },
    );
    const first = violations.find((v) => v.kind === kind)!;
    if (details.failed && details.counterexample) {
      violations[violations.indexOf(first)] = { ...first, shrunk: requestText(details.counterexample[0]) };
    }
  }

  say(`fuzz: waiting for ${accepted.length} accepted tasks to finish`);
  violations.push(
    ...(await checkAccepted(options.apiUrl, accepted, options.finishWithinMs ?? 600_000, options.agents)),
  );

  // Accepted tasks have finished; their messages are deleted once acknowledged, moments later.
  const settled = Date.now() + 60_000;
  let after = await storeCounts(options.apiUrl);
  while (after.queuedMessages > before.queuedMessages && Date.now() < settled) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    after = await storeCounts(options.apiUrl);
  }
  if (after.queuedMessages > before.queuedMessages || after.taskItems > before.taskItems + accepted.length) {
    violations.push({
      kind: 'store',
      problem: `something other than the ${accepted.length} accepted tasks was enqueued: queued messages ${before.queuedMessages} → ${after.queuedMessages}, task items ${before.taskItems} → ${after.taskItems}`,
      request: '(all)',
    });
  }
  return {
    seed,
    runs,
    requests,
    byStatus,
    byKind,
    accepted: accepted.length,
    before,
    after,
    violations,
  };
}

/** A valid task the API accepted, to check once it has finished. */
interface Accepted {
  readonly taskId: string;
  readonly request: FuzzRequest;
  readonly expect: Expectation;
}

/** The task id of a 202 answer, or undefined for any other answer. */
function acceptedTaskId(res: FuzzResponse): string | undefined {
  if (res.status !== 202) return undefined;
  try {
    const id = (JSON.parse(res.body) as { task_id?: unknown }).task_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** JSON text with every number literal as written and no whitespace: equal for "exactly as sent" payloads. */
const exactText = (value: unknown) => JSON.stringify(value);

/**
 * Waits until every accepted task is terminal, then checks each against its expectation: an echo result that
 * holds the payload exactly, the expected error code, or a late agent's task SUCCEEDED without overlapping
 * executions (when the demo agents are at hand).
 */
export async function checkAccepted(
  apiUrl: string,
  accepted: readonly Accepted[],
  withinMs: number,
  agents?: FuzzOptions['agents'],
): Promise<FuzzViolation[]> {
  const violations: FuzzViolation[] = [];
  const deadline = Date.now() + withinMs;
  let pending = [...accepted];
  const finished = new Map<
    string,
    { status?: string; attempts?: number; error?: { code?: string }; result?: unknown }
  >();
  while (pending.length > 0) {
    const still: Accepted[] = [];
    for (const task of pending) {
      let text = '';
      try {
        text = (
          await send(apiUrl, { kind: 'check', method: 'GET', path: `/tasks/${task.taskId}`, headers: [] })
        ).body;
        const view = parseExactJson(text) as { status?: string };
        if (view.status === 'SUCCEEDED' || view.status === 'FAILED' || view.status === 'CANCELLED')
          finished.set(task.taskId, view);
        else still.push(task);
      } catch {
        still.push(task);
      }
    }
    pending = still;
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      for (const task of pending)
        violations.push({
          kind: task.request.kind,
          problem: `task ${task.taskId} did not finish within ${withinMs} ms`,
          request: requestText(task.request),
        });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const overlaps = agents?.overlaps();
  for (const task of accepted) {
    const view = finished.get(task.taskId);
    if (!view) continue;
    const problem = expectationProblem(task.expect, view, overlaps?.get(task.taskId) ?? 0);
    if (problem)
      violations.push({
        kind: task.request.kind,
        problem: `task ${task.taskId} ${problem}`,
        request: requestText(task.request),
      });
  }
  return violations;
}

function expectationProblem(
  expect: Expectation,
  view: { status?: string; attempts?: number; error?: { code?: string }; result?: unknown },
  overlaps: number,
): string | undefined {
  const state = `${view.status}${view.error?.code ? ` (${view.error.code})` : ''}`;
  switch (expect.outcome) {
    case 'echo': {
      if (view.status !== 'SUCCEEDED') return `ended ${state}, not SUCCEEDED`;
      const echoed = exactText((view.result as { echo?: unknown } | undefined)?.echo);
      const sent = exactText(parseExactJson(expect.payload));
      return echoed === sent
        ? undefined
        : `reached the agent as ${echoed.slice(0, 200)}, not as sent: ${sent.slice(0, 200)}`;
    }
    case 'failed':
      return view.status === 'FAILED' && view.error?.code === expect.code
        ? undefined
        : `ended ${state}, not FAILED (${expect.code})`;
    case 'late':
      if (view.status !== 'SUCCEEDED') return `ended ${state}, not SUCCEEDED`;
      return overlaps > 0 ? `had ${overlaps} agent executions overlapping an earlier one` : undefined;
  }
}

export function formatFuzzReport(report: FuzzReport): string {
  const rows: Array<[string, string | number]> = [
    ['fuzz seed', report.seed],
    ['generated requests', report.runs],
    ['requests sent (with shrinking)', report.requests],
    ...Object.entries(report.byStatus)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]): [string, number] => [`  status ${s}`, n]),
    ...Object.entries(report.byKind)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, statuses]): [string, string] => [
        `  ${kind}`,
        Object.entries(statuses)
          .map(([s, n]) => `${s}:${n}`)
          .join(' '),
      ]),
    ['queued messages before → after', `${report.before.queuedMessages} → ${report.after.queuedMessages}`],
    ['task items before → after', `${report.before.taskItems} → ${report.after.taskItems}`],
    ['valid tasks accepted and checked', report.accepted],
    ['violations', report.violations.length],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v).padStart(8)}`);
  const shown = report.violations
    .slice(0, 20)
    .flatMap((v) => [
      `VIOLATION ${v.problem}`,
      `  request: ${v.request}`,
      ...(v.shrunk ? [`  shrunk:  ${v.shrunk}`] : []),
    ]);
  return [...lines, ...shown].join('\n');
}
