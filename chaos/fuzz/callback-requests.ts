/**
 * Bad callback requests: POST /tasks/{id}/heartbeat and /complete, each with a token no attempt was given
 * (or none at all), so that none may change a task (the callback anchor shows it) and each must get an error
 * from its short list of answers (`FuzzRequest.answers`).
 *
 * The list of a request is the union of what each of its broken parts may cause, whatever order the handler
 * checks them in: a token nobody was given (always) → 401 `Unauthorized`; a bad task id → 400
 * `ValidationError`; a bad body → 400 `InvalidJson` or `ValidationError`; a content type that is not JSON →
 * 415 `UnsupportedMediaType`; no route → API Gateway's 404 `Not Found`. So a request whose only fault is its
 * token must get exactly 401, for the running anchor, a finished task and a task that does not exist alike
 * (no task-id oracle), and 409 `AttemptNotCurrent` is never right: it would mean the token was recognised.
 *
 * Left out on purpose, as for POST /tasks (bad-requests.ts): what node's HTTP parser refuses first (header
 * values outside Latin-1, header blocks over 16 KiB), and bodies over API Gateway's 10 MiB.
 */
import fc from 'fast-check';
import { DEFAULTS } from '../../lambda/contract/environment';
import { MAX_PROGRESS_MESSAGE_BYTES } from '../../lambda/core/async-attempt';
import { completionByteLimit } from '../../lambda/core/async-callbacks';
import { API_ERROR_CODES, ApiErrorCode } from '../../lambda/core/error-codes';
import { GATEWAY_RESPONSES } from '../../local/http-api';
import { badUtf8, noise } from './bad-requests';
import { FUZZ_PROGRESS_MARK } from './callback-anchor';
import { type Entries, type FuzzRequest, JSON_CT, object } from './request';

/** The tasks callback requests aim at. */
export interface CallbackTargets {
  /** The callback anchor: a live async attempt. */
  readonly running: string;
  /** A finished task that never had a token (the POST /tasks anchor). */
  readonly finished: string;
}

const answer = (code: ApiErrorCode) => `${API_ERROR_CODES[code].status} ${code}`;
const UNAUTHORIZED = answer(ApiErrorCode.Unauthorized);
const BAD_ID = answer(ApiErrorCode.ValidationError);
const BAD_BODY = [answer(ApiErrorCode.InvalidJson), answer(ApiErrorCode.ValidationError)];
const NOT_JSON_TYPE = answer(ApiErrorCode.UnsupportedMediaType);
const TOO_LARGE = answer(ApiErrorCode.PayloadTooLarge);
const NO_ROUTE = `${GATEWAY_RESPONSES.notFound.status} ${GATEWAY_RESPONSES.notFound.message}`;

const ACTIONS = ['heartbeat', 'complete'] as const;
type Action = (typeof ACTIONS)[number];

/** The bytes of a completion the handler reads; a longer one is a result over the limit. */
const completionLimit = completionByteLimit(DEFAULTS.maxResultBytes);

/** 32 random bytes in base64url: a token exactly like a real one, that no attempt was given. */
const tokenLike = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => Buffer.from(bytes).toString('base64url'));

/** Tokens the header syntax allows, none of them given to an attempt. */
const wrongToken = fc.oneof(
  { arbitrary: tokenLike, weight: 3 },
  fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,80}$/),
  fc.constantFrom('x', 'a'.repeat(512), 'null', 'undefined', '0', 'A'.repeat(43), '-'.repeat(43)),
);

/** A well-formed `Authorization` header with a wrong token. */
const bearer = wrongToken.map((token): Entries => [['Authorization', `Bearer ${token}`]]);

/** Latin-1 text that is not ASCII (node sends such header values as they are). */
const latin1 = fc
  .array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 40 })
  .map((codes) => String.fromCharCode(...codes));

/** `Authorization` headers that are missing or malformed: each gets 401 whatever the token. */
const badAuthorization: fc.Arbitrary<Entries> = fc.oneof(
  fc.constant([]),
  fc
    .constantFrom(
      '',
      ' ',
      'Bearer',
      'Bearer ',
      'Bearer <token>',
      'Bearer "token"',
      'Bearer a b',
      'Bearer tok;',
      'Bearer tok,Bearer tok2',
      'Bearer\ttok',
      'Basic dXNlcjpwYXNzd29yZA==',
      'Digest username="agent", realm="tasks"',
      'Token abc',
      'AWS4-HMAC-SHA256 Credential=x',
      'null',
      `Bearer ${'a'.repeat(513)}`,
      `Bearer ${'a'.repeat(6000)}`,
      'x'.repeat(6000),
    )
    .map((value): Entries => [['Authorization', value]]),
  // No scheme, another scheme, the scheme in another case, or many spaces before the token.
  tokenLike.map((token): Entries => [['Authorization', token]]),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z]{1,10}$/), tokenLike)
    .filter(([scheme]) => scheme !== 'Bearer')
    .map(([scheme, token]): Entries => [['Authorization', `${scheme} ${token}`]]),
  fc
    .tuple(fc.integer({ min: 2, max: 200 }), tokenLike)
    .map(([spaces, token]): Entries => [['Authorization', `Bearer${' '.repeat(spaces)}${token}`]]),
  fc
    .tuple(latin1, fc.boolean())
    .map(([text, scheme]): Entries => [['Authorization', scheme ? `Bearer ${text}` : text]]),
  // Repeated: API Gateway joins the values with a comma.
  fc.tuple(tokenLike, tokenLike).map(
    ([a, b]): Entries => [
      ['Authorization', `Bearer ${a}`],
      ['Authorization', `Bearer ${b}`],
    ],
  ),
);

/** Heartbeat bodies the contract allows: only the token is wrong in a request that carries one. */
const goodHeartbeat = fc.oneof(
  fc.constantFrom('', '{}', '{"progress":{}}'),
  fc
    .record(
      {
        percent: fc.double({ min: 0, max: 100, noNaN: true }),
        message: fc.string({ maxLength: 200 }).map((s) => `${FUZZ_PROGRESS_MARK} ${s}`),
      },
      { requiredKeys: [] },
    )
    .map((progress) => JSON.stringify({ progress })),
);

const errorCode = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/);

/** Completion bodies the contract allows. */
const goodCompletion = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((result) => object([['result', JSON.stringify(result)]])),
  fc
    .record({ code: errorCode, message: fc.string({ maxLength: 100 }), retryable: fc.boolean() })
    .map((error) => JSON.stringify({ error })),
  fc.constantFrom('{"error":{"code":"Cancelled"}}', '{"result":null}', '{"result":{"echo":{}}}'),
  // A result over maxResultBytes in a body the handler still reads: with the right token, ResultTooLarge.
  fc
    .integer({ min: DEFAULTS.maxResultBytes, max: completionLimit - 20 })
    .map((n) => `{"result":"${'r'.repeat(n)}"}`),
);

const goodBody = (action: Action) => (action === 'heartbeat' ? goodHeartbeat : goodCompletion);

const NOT_OBJECTS = ['[]', '1', 'null', '"x"', 'true', '[{"progress":{}}]', '[{"result":1}]'];

/** Heartbeat bodies that break the contract: not an object, another field, percent or message out of range. */
const badHeartbeat: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...NOT_OBJECTS,
    '{"x":1}',
    '{"progress":{},"x":1}',
    '{"progress":null}',
    '{"progress":[]}',
    '{"progress":1}',
    '{"progress":"50%"}',
    '{"progress":{"extra":1}}',
    '{"progress":{"percent":-1}}',
    '{"progress":{"percent":100.0001}}',
    '{"progress":{"percent":101}}',
    '{"progress":{"percent":1e309}}',
    '{"progress":{"percent":-1e-9}}',
    '{"progress":{"percent":"50"}}',
    '{"progress":{"percent":true}}',
    '{"progress":{"percent":null}}',
    '{"progress":{"message":1}}',
    '{"progress":{"message":null}}',
    '{"progress":{"message":["a"]}}',
    '{"__proto__":{"progress":{}}}',
    '{"progress":{"__proto__":{"percent":1}}}',
  ),
  fc
    .oneof(
      fc.double({ min: 100, minExcluded: true, noNaN: true, noDefaultInfinity: true }),
      fc.double({ max: 0, maxExcluded: true, noNaN: true, noDefaultInfinity: true }),
    )
    .filter((n) => !Object.is(n, -0))
    .map((percent) => JSON.stringify({ progress: { percent } })),
  // A message over 1 KiB, in bytes: ASCII, two-byte and four-byte characters.
  fc
    .tuple(
      fc.integer({ min: MAX_PROGRESS_MESSAGE_BYTES + 1, max: 4 * MAX_PROGRESS_MESSAGE_BYTES }),
      fc.constantFrom('m', 'é', '😀'),
    )
    .map(([bytes, unit]) =>
      JSON.stringify({
        progress: { percent: 50, message: unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))) },
      }),
    ),
);

/** JSON values that are not booleans. */
const notBoolean = fc.constantFrom('null', '"true"', '1', '0', '[]', '{}', '"false"');

/** Completion bodies that break the contract. */
const badCompletion: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...NOT_OBJECTS,
    '',
    ' ',
    '{}',
    '{"x":1}',
    '{"Result":1}',
    '{"result":1,"x":1}',
    '{"result":1,"error":{"code":"X","message":"m","retryable":true}}',
    '{"error":null}',
    '{"error":"boom"}',
    '{"error":[]}',
    '{"error":{}}',
    '{"error":{"message":"m","retryable":true}}',
    '{"error":{"code":"","message":"m","retryable":true}}',
    '{"error":{"code":1,"message":"m","retryable":true}}',
    '{"error":{"code":null,"message":"m","retryable":true}}',
    '{"error":{"code":"X","message":1,"retryable":true}}',
    '{"error":{"code":"X","message":"m"}}',
    '{"error":{"code":"Cancelled","retryable":"no"}}',
    '{"__proto__":{"result":1}}',
  ),
  // Both result and error.
  fc
    .tuple(fc.jsonValue({ maxDepth: 2 }), errorCode, fc.boolean())
    .map(([result, code, retryable]) => JSON.stringify({ result, error: { code, message: 'm', retryable } })),
  // An error without retryable, or with one that is not a boolean (a Cancelled stop may leave it out).
  fc
    .tuple(
      errorCode.filter((c) => c !== 'Cancelled'),
      fc.option(notBoolean, { nil: undefined }),
    )
    .map(([code, retryable]) =>
      object([
        [
          'error',
          object([
            ['code', JSON.stringify(code)],
            ['message', '"m"'],
            ...(retryable === undefined ? [] : [['retryable', retryable] as const]),
          ]),
        ],
      ]),
    ),
  // A code too long, or with characters outside letters, digits and ._:-.
  fc
    .oneof(
      fc.integer({ min: 129, max: 2000 }).map((n) => 'C'.repeat(n)),
      fc
        .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
        .filter((c) => !/^[A-Za-z0-9._:-]{1,128}$/.test(c)),
      fc.constantFrom('a b', 'é', 'a\n', 'a/b', '😀', 'Code!', ' X', 'X '),
    )
    .map((code) => JSON.stringify({ error: { code, message: 'm', retryable: false } })),
);

const badBody = (action: Action) => (action === 'heartbeat' ? badHeartbeat : badCompletion);

/** Text that is not JSON at all (whitespace alone is an empty body, which a heartbeat allows). */
const notJson = fc
  .oneof(
    fc.string({ maxLength: 200 }),
    fc.constantFrom(
      '{',
      '{"result":1',
      '{"result":1}}',
      "{'result':1}",
      '{result:1}',
      '{"result":NaN}',
      '\uFEFF{"result":1}',
      '{"result":1,}',
    ),
  )
  .filter((text) => text.trim() !== '' && !parses(text));

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A task id for a request whose only fault is elsewhere: mostly the running anchor, sometimes another. */
const targetId = (targets: CallbackTargets) =>
  fc.oneof(
    { arbitrary: fc.constant(targets.running), weight: 4 },
    { arbitrary: fc.constant(targets.finished), weight: 1 },
    { arbitrary: fc.uuid(), weight: 1 },
  );

const callback = (
  kind: string,
  id: string,
  action: Action,
  headers: Entries,
  body: string | Buffer,
  answers: readonly string[],
  query = '',
): FuzzRequest => ({
  kind,
  method: 'POST',
  path: `/tasks/${id}/${action}${query}`,
  headers,
  body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  answers,
});

/** A contract body with a wrong token, in a well-formed header or none: 401 exactly. */
const authRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(targetId(targets), fc.constantFrom(...ACTIONS), badAuthorization)
    .chain(([id, action, auth]) =>
      goodBody(action).map((body) =>
        callback('callback-auth', id, action, [JSON_CT, ...auth], body, [UNAUTHORIZED]),
      ),
    );

const tokenRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(
      targetId(targets),
      fc.constantFrom(...ACTIONS),
      bearer,
      fc.constantFrom('', '', '?x=1', '?token=x', '?id=../../x'),
    )
    .chain(([id, action, auth, query]) =>
      goodBody(action).map((body) =>
        callback('callback-token', id, action, [JSON_CT, ...auth], body, [UNAUTHORIZED], query),
      ),
    );

const bodyRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(targetId(targets), fc.constantFrom(...ACTIONS), bearer)
    .chain(([id, action, auth]) =>
      fc
        .oneof(badBody(action), notJson)
        .map((body) =>
          callback('callback-body', id, action, [JSON_CT, ...auth], body, [...BAD_BODY, UNAUTHORIZED]),
        ),
    );

const notUtf8Requests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(targetId(targets), fc.constantFrom(...ACTIONS), bearer, badUtf8)
    .map(([id, action, auth, bytes]) => {
      const [head, tail] =
        action === 'heartbeat' ? ['{"progress":{"message":"', '"}}'] : ['{"result":"', '"}'];
      return callback(
        'callback-not-utf8',
        id,
        action,
        [JSON_CT, ...auth],
        Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]),
        [answer(ApiErrorCode.InvalidJson), UNAUTHORIZED],
      );
    });

/**
 * Bodies over the completion limit (maxResultBytes + 64 KiB), up to twice it: JSON or not. A completion that
 * large is read as a result over the limit, which the right token would turn into ResultTooLarge.
 */
const oversizedRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(
      targetId(targets),
      fc.constantFrom(...ACTIONS),
      bearer,
      fc.oneof(
        fc.constant(completionLimit + 1),
        fc.integer({ min: completionLimit + 1, max: 2 * completionLimit }),
      ),
      fc.constantFrom('result', 'message', 'junk'),
    )
    .map(([id, action, auth, bytes, shape]) => {
      const [head, tail] =
        shape === 'result'
          ? ['{"result":"', '"}']
          : shape === 'message'
            ? ['{"progress":{"message":"', '"}}']
            : ['', ''];
      const body = head + 'x'.repeat(bytes - head.length - tail.length) + tail;
      const answers =
        action === 'complete' ? [UNAUTHORIZED, TOO_LARGE] : [UNAUTHORIZED, TOO_LARGE, ...BAD_BODY];
      return callback('callback-oversized', id, action, [JSON_CT, ...auth], body, answers);
    });

/** Content types that are not JSON, on a contract body. */
const notJsonType: fc.Arbitrary<Entries> = fc.constantFrom<Entries>(
  [],
  [['Content-Type', '']],
  [['Content-Type', 'text/plain']],
  [['Content-Type', 'application/octet-stream']],
  [['Content-Type', 'application/x-www-form-urlencoded']],
  [['Content-Type', 'multipart/form-data; boundary=x']],
  [['Content-Type', 'application/json; charset=latin1']],
  [['Content-Type', 'application/jsonx']],
  [JSON_CT, ['content-type', 'text/plain']],
);

const contentTypeRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(targetId(targets), fc.constantFrom(...ACTIONS), bearer, notJsonType)
    .chain(([id, action, auth, type]) =>
      goodBody(action).map((body) =>
        callback('callback-content-type', id, action, [...type, ...auth], body, [
          UNAUTHORIZED,
          NOT_JSON_TYPE,
        ]),
      ),
    );

/** Path segments that are not task ids but stay one segment: uppercase, cut, lengthened, not hex. */
const badId = (targets: CallbackTargets) =>
  fc.oneof(
    fc.constantFrom(targets.running, targets.finished).map((id) => id.toUpperCase()),
    fc.constantFrom(targets.running, targets.finished).map((id) => id.slice(0, -1)),
    fc.constantFrom(targets.running, targets.finished).map((id) => `${id}0`),
    fc.constantFrom(targets.running, targets.finished).map((id) => `${id}%00`),
    fc.constantFrom(targets.running, targets.finished).map((id) => `g${id.slice(1)}`),
    fc.constantFrom(targets.running, targets.finished).map((id) => id.replaceAll('-', '')),
    fc.uuid().map((id) => `{${id}}`),
    fc.constantFrom('null', 'undefined', '0', '-', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '%20', '%C3%A9'),
    fc.integer({ min: 37, max: 2000 }).map((n) => 'a'.repeat(n)),
    fc
      .stringMatching(/^[A-Za-z0-9_~-]{1,60}$/)
      .filter((id) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)),
  );

const pathIdRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(badId(targets), fc.constantFrom(...ACTIONS), bearer)
    .chain(([id, action, auth]) =>
      goodBody(action).map((body) =>
        callback('callback-path-id', id, action, [JSON_CT, ...auth], body, [BAD_ID, UNAUTHORIZED]),
      ),
    );

/**
 * Requests no route serves: another method on a callback path, or a near path (trailing slash, another case,
 * a segment more). API Gateway answers those itself, 404 `Not Found` (an HTTP API has no 405).
 */
const routeRequests = (targets: CallbackTargets): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(
      fc.constantFrom(targets.running, targets.finished),
      fc.oneof(
        fc.tuple(fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'), fc.constantFrom('heartbeat', 'complete')),
        fc.tuple(
          fc.constant('POST'),
          fc.constantFrom(
            'heartbeat/',
            'complete/',
            'HEARTBEAT',
            'Complete',
            'completed',
            'heartbeats',
            'heartbeat/x',
            'complete/complete',
            'cancel',
            'progress',
          ),
        ),
      ),
      bearer,
      fc.boolean(),
    )
    .map(([id, [method, rest], auth, withBody]) => ({
      kind: 'callback-route',
      method,
      path: `/tasks/${id}/${rest}`,
      headers: withBody ? [JSON_CT, ...auth] : auth,
      ...(withBody && { body: Buffer.from('{"result":{"echo":{}}}') }),
      answers: [NO_ROUTE],
    }));

/** Every kind of bad callback request, as generated, before noise headers are added. */
export function callbackRequestKinds(targets: CallbackTargets): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    authRequests(targets),
    tokenRequests(targets),
    bodyRequests(targets),
    notUtf8Requests(targets),
    oversizedRequests(targets),
    contentTypeRequests(targets),
    pathIdRequests(targets),
    routeRequests(targets),
  );
}

/** Every kind of bad callback request, each with some harmless noise headers. */
export function callbackRequests(targets: CallbackTargets): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(callbackRequestKinds(targets), noise)
    .map(([req, extra]) => ({ ...req, headers: [...req.headers, ...extra] }));
}
