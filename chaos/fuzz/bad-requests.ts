/**
 * Bad requests: each generator yields requests that stay invalid whatever the others add, and every one must
 * get a 4xx JSON error with nothing enqueued (judge.ts).
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
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../lambda/core/submission';
import { PRIORITIES } from '../../lambda/core/task';
import type { Anchor } from './anchor';
import { ECHO_TYPE, type Entries, type FuzzRequest, JSON_CT, object, post } from './request';

const { maxBodyBytes, maxJsonDepth } = DEFAULT_LIMITS;

/** A valid task's members; the generators below break at least one of them. */
const validMembers: fc.Arbitrary<Entries> = fc
  .record(
    {
      payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
      priority: fc.constantFrom(...PRIORITIES),
      idempotency_key: fc.string({ minLength: 1, maxLength: 40 }),
      delay_seconds: fc.integer({ min: 0, max: 900 }),
    },
    { requiredKeys: ['payload'] },
  )
  .map((task) => [
    ['type', JSON.stringify(ECHO_TYPE)] as const,
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
      fc.integer({ min: maxJsonDepth - 1, max: maxJsonDepth + 2 }),
      fc.integer({ min: maxJsonDepth, max: 10_000 }),
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
      ? `{"type":"echo","payload":{"x":${nest(Math.max(depth, maxJsonDepth - 1))}}}`
      : nest(Math.max(depth, maxJsonDepth + 1));
    return post('deep-nesting', body);
  });

const schemaViolation = fc
  .oneof(invalidMembers, hostilePayload)
  .map((m) => post(m.some(([k]) => isHostile(k)) ? 'proto-keys' : 'wrong-field', object(m)));

function isHostile(key: string): boolean {
  return ['__proto__', 'constructor', 'prototype', 'toString', '__defineGetter__'].includes(key);
}

/** Bytes that are not UTF-8: overlong, surrogate, truncated, lone continuation, 0xFF. */
export const badUtf8 = fc.constantFrom(
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
    fc.oneof(fc.constant(maxBodyBytes + 1), fc.integer({ min: maxBodyBytes + 1, max: 2 * maxBodyBytes })),
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
    if (method === 'POST' && /^\/tasks\/[^/]+\/(heartbeat|complete)$/.test(pathname)) return false;
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
export const noise: fc.Arbitrary<Entries> = fc.array(
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
