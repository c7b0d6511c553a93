import type { HttpError } from '../../../lambda/core/errors';
import { SQS_MAX_MESSAGE_BYTES } from '../../../lambda/core/queue-message';
import {
  checkContentType,
  DEFAULT_LIMITS,
  jsonDepth,
  parseSubmission,
  type RawRequest,
} from '../../../lambda/core/submission';

const JSON_HEADERS = { 'content-type': 'application/json' };

function request(body: unknown, headers: Record<string, string> = JSON_HEADERS): RawRequest {
  return { headers, body: typeof body === 'string' ? body : JSON.stringify(body), isBase64Encoded: false };
}

/** Runs `fn` and returns the HttpError it throws; fails the test when it does not throw. */
function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    return error as HttpError;
  }
  throw new Error('expected an HttpError, but nothing was thrown');
}

const valid = { type: 'echo', payload: { text: 'hi' } };

describe('Function: parseSubmission', () => {
  it('has no default limits: the caller passes the ones the construct set', () => {
    // Act & Assess: a call without limits neither compiles nor runs
    // @ts-expect-error limits are required
    expect(() => parseSubmission(request(valid))).toThrow(TypeError);
  });

  describe('content type', () => {
    it.each([
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON; charset="UTF-8"',
      'application/vnd.api+json',
    ])('accepts %s', (contentType) => {
      // Prepare
      const req = request(valid, { 'Content-Type': contentType });

      // Act
      const submission = parseSubmission(req, DEFAULT_LIMITS);

      // Assess
      expect(submission.type).toBe('echo');
    });

    it.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['a non-UTF-8 charset', { 'content-type': 'application/json; charset=latin1' }],
      ['no content type', {}],
    ])('throws 415 UnsupportedMediaType when the content type is %s', (_name, headers) => {
      // Prepare
      const req = request(valid, headers as Record<string, string>);

      // Act
      const error = thrown(() => parseSubmission(req, DEFAULT_LIMITS));

      // Assess
      expect(error.statusCode).toBe(415);
      expect(error.code).toBe('UnsupportedMediaType');
    });

    it('checks the content type before the size', () => {
      // Prepare
      const req = request('x'.repeat(100), { 'content-type': 'text/plain' });

      // Act
      const error = thrown(() => parseSubmission(req, { ...DEFAULT_LIMITS, maxBodyBytes: 10 }));

      // Assess
      expect(error.statusCode).toBe(415);
    });
  });

  describe('body size', () => {
    it('throws 413 PayloadTooLarge when the body is one byte over the limit', () => {
      // Prepare
      const body = JSON.stringify({ type: 'echo', payload: { text: '' } });
      const padded = body.replace('""', `"${'a'.repeat(11)}"`);
      const limit = padded.length - 1;

      // Act
      const error = thrown(() =>
        parseSubmission(request(padded), { ...DEFAULT_LIMITS, maxBodyBytes: limit }),
      );

      // Assess
      expect(error.statusCode).toBe(413);
      expect(error.code).toBe('PayloadTooLarge');
    });

    it('accepts a body of exactly the limit', () => {
      // Prepare
      const body = JSON.stringify(valid);

      // Act
      const submission = parseSubmission(request(body), { ...DEFAULT_LIMITS, maxBodyBytes: body.length });

      // Assess
      expect(submission.payload).toEqual({ text: 'hi' });
    });

    it('counts bytes, not characters, so multi-byte text counts in full', () => {
      // Prepare: 10 characters of 3 bytes each
      const body = JSON.stringify({ type: 'echo', payload: { text: '€'.repeat(10) } });
      const limit = body.length + 10; // enough for the characters, not for the bytes

      // Act
      const error = thrown(() => parseSubmission(request(body), { ...DEFAULT_LIMITS, maxBodyBytes: limit }));

      // Assess
      expect(error.statusCode).toBe(413);
    });

    it('measures a base64 body after decoding it', () => {
      // Prepare: the encoded form is a third longer than the limit, the decoded form fits
      const body = JSON.stringify(valid);
      const req: RawRequest = {
        headers: JSON_HEADERS,
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
      };

      // Act
      const submission = parseSubmission(req, { ...DEFAULT_LIMITS, maxBodyBytes: body.length });

      // Assess
      expect(submission).toEqual({ type: 'echo', payload: { text: 'hi' }, priority: 'low', delaySeconds: 0 });
    });

    it('throws 413 when the decoded base64 body is over the limit', () => {
      // Prepare
      const body = JSON.stringify(valid);
      const req: RawRequest = {
        headers: JSON_HEADERS,
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
      };

      // Act
      const error = thrown(() => parseSubmission(req, { ...DEFAULT_LIMITS, maxBodyBytes: body.length - 1 }));

      // Assess
      expect(error.statusCode).toBe(413);
    });
  });

  describe('parsing', () => {
    it('throws 400 InvalidJson when the body is not valid UTF-8', () => {
      // Prepare: 0xff never occurs in UTF-8
      const bytes = Buffer.concat([
        Buffer.from('{"type":"echo","payload":{"t":"'),
        Buffer.from([0xff]),
        Buffer.from('"}}'),
      ]);
      const req: RawRequest = {
        headers: JSON_HEADERS,
        body: bytes.toString('base64'),
        isBase64Encoded: true,
      };

      // Act
      const error = thrown(() => parseSubmission(req, DEFAULT_LIMITS));

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('InvalidJson');
    });

    it.each([
      ['truncated', '{"type":"echo",'],
      ['empty', ''],
      ['trailing garbage', '{"type":"echo","payload":{}} x'],
    ])('throws 400 InvalidJson when the body is %s', (_name, body) => {
      // Act
      const error = thrown(() => parseSubmission(request(body), DEFAULT_LIMITS));

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('InvalidJson');
      expect(error.toBody()).toEqual({ error: { code: 'InvalidJson', message: expect.any(String) } });
    });

    it('throws 400 InvalidJson when the body is missing', () => {
      // Act
      const error = thrown(() =>
        parseSubmission({ headers: JSON_HEADERS, body: undefined, isBase64Encoded: false }, DEFAULT_LIMITS),
      );

      // Assess
      expect(error.code).toBe('InvalidJson');
    });

    it('throws a ValidationError when the body nests deeper than the limit', () => {
      // Prepare: the body object is level 1, payload level 2, then 3 more levels
      const body = { type: 'echo', payload: { a: { b: { c: {} } } } };

      // Act
      const error = thrown(() => parseSubmission(request(body), { ...DEFAULT_LIMITS, maxJsonDepth: 4 }));

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('ValidationError');
      expect(error.details).toEqual([{ path: '/', message: 'nesting deeper than 4 levels' }]);
    });

    it('accepts a body nested exactly to the limit', () => {
      // Prepare
      const body = { type: 'echo', payload: { a: { b: [1] } } };

      // Act
      const submission = parseSubmission(request(body), { ...DEFAULT_LIMITS, maxJsonDepth: 4 });

      // Assess
      expect(submission.payload).toEqual({ a: { b: [1] } });
    });

    it('rejects hostile nesting without overflowing the stack', () => {
      // Prepare
      const body = `{"type":"echo","payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;

      // Act
      const error = thrown(() =>
        parseSubmission(request(body), { ...DEFAULT_LIMITS, maxBodyBytes: SQS_MAX_MESSAGE_BYTES }),
      );

      // Assess
      expect(error.code).toBe('ValidationError');
      expect(error.message).toMatch(/100001 levels/);
    });
  });

  describe('schema', () => {
    it('applies the defaults: low priority, no delay, no key', () => {
      // Act
      const submission = parseSubmission(request(valid), DEFAULT_LIMITS);

      // Assess
      expect(submission).toEqual({ type: 'echo', payload: { text: 'hi' }, priority: 'low', delaySeconds: 0 });
      expect(submission).not.toHaveProperty('idempotencyKey');
      expect(submission).not.toHaveProperty('tenantId');
    });

    it('keeps every field that was given', () => {
      // Prepare
      const body = {
        ...valid,
        priority: 'high',
        idempotency_key: 'k-1',
        delay_seconds: 900,
        tenant_id: 'acme',
      };

      // Act
      const submission = parseSubmission(request(body), DEFAULT_LIMITS);

      // Assess
      expect(submission).toEqual({
        type: 'echo',
        payload: { text: 'hi' },
        priority: 'high',
        delaySeconds: 900,
        idempotencyKey: 'k-1',
        tenantId: 'acme',
      });
    });

    it.each<[string, unknown, { path: string; message: string }]>([
      ['type is missing', { payload: {} }, { path: '/type', message: 'is required' }],
      ['payload is missing', { type: 'echo' }, { path: '/payload', message: 'is required' }],
      [
        'an unknown top-level field is present',
        { ...valid, callback: 'x' },
        { path: '/callback', message: 'is not a known field' },
      ],
      ['type is not a string', { ...valid, type: 7 }, { path: '/type', message: expect.any(String) }],
      ['type is empty', { ...valid, type: '' }, { path: '/type', message: expect.any(String) }],
      [
        'type is over 64 characters',
        { ...valid, type: 'a'.repeat(65) },
        { path: '/type', message: expect.any(String) },
      ],
      [
        'type has characters outside the pattern',
        { ...valid, type: 'echo agent' },
        { path: '/type', message: expect.any(String) },
      ],
      [
        'type starts with a separator',
        { ...valid, type: '-echo' },
        { path: '/type', message: expect.any(String) },
      ],
      ['payload is an array', { ...valid, payload: [] }, { path: '/payload', message: expect.any(String) }],
      ['payload is a string', { ...valid, payload: 'hi' }, { path: '/payload', message: expect.any(String) }],
      ['payload is null', { ...valid, payload: null }, { path: '/payload', message: expect.any(String) }],
      [
        'priority is not a tier',
        { ...valid, priority: 'urgent' },
        { path: '/priority', message: expect.any(String) },
      ],
      [
        'idempotency_key is empty',
        { ...valid, idempotency_key: '' },
        { path: '/idempotency_key', message: expect.any(String) },
      ],
      [
        'idempotency_key is over 128 characters',
        { ...valid, idempotency_key: 'k'.repeat(129) },
        { path: '/idempotency_key', message: expect.any(String) },
      ],
      [
        'idempotency_key is not a string',
        { ...valid, idempotency_key: 12 },
        { path: '/idempotency_key', message: expect.any(String) },
      ],
      [
        'delay_seconds is negative',
        { ...valid, delay_seconds: -1 },
        { path: '/delay_seconds', message: expect.any(String) },
      ],
      [
        'delay_seconds is over 900',
        { ...valid, delay_seconds: 901 },
        { path: '/delay_seconds', message: expect.any(String) },
      ],
      [
        'delay_seconds is fractional',
        { ...valid, delay_seconds: 1.5 },
        { path: '/delay_seconds', message: expect.any(String) },
      ],
      [
        'delay_seconds is a string',
        { ...valid, delay_seconds: '5' },
        { path: '/delay_seconds', message: expect.any(String) },
      ],
      [
        'tenant_id is empty',
        { ...valid, tenant_id: '' },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      [
        'tenant_id is over 128 characters',
        { ...valid, tenant_id: 't'.repeat(129) },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      [
        'tenant_id has a space',
        { ...valid, tenant_id: 'acme corp' },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      [
        'tenant_id has a slash',
        { ...valid, tenant_id: 'acme/eu' },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      [
        'tenant_id has a non-ASCII letter',
        { ...valid, tenant_id: 'acmé' },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      [
        'tenant_id ends with a newline',
        { ...valid, tenant_id: 'acme\n' },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      [
        'tenant_id is not a string',
        { ...valid, tenant_id: 42 },
        { path: '/tenant_id', message: expect.any(String) },
      ],
      ['the body is an array', [valid], { path: '/', message: expect.any(String) }],
      ['the body is null', null, { path: '/', message: expect.any(String) }],
    ])('throws a ValidationError when %s', (_name, body, detail) => {
      // Act
      const error = thrown(() => parseSubmission(request(body), DEFAULT_LIMITS));

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('ValidationError');
      expect(error.details).toContainEqual(detail);
      expect(error.toBody().error.details).toEqual(error.details);
    });

    it('reports every violation at once', () => {
      // Prepare
      const body = { type: '', payload: [], priority: 'urgent', extra: 1 };

      // Act
      const error = thrown(() => parseSubmission(request(body), DEFAULT_LIMITS));

      // Assess
      expect([...new Set(error.details?.map((d) => d.path))].sort()).toEqual([
        '/extra',
        '/payload',
        '/priority',
        '/type',
      ]);
    });

    it.each([
      ['128 characters', 'k'.repeat(128)],
      ['1 character', 'k'],
    ])('accepts an idempotency_key of %s', (_name, key) => {
      // Act
      const submission = parseSubmission(request({ ...valid, idempotency_key: key }), DEFAULT_LIMITS);

      // Assess
      expect(submission.idempotencyKey).toBe(key);
    });

    it.each([
      ['1 character', 't'],
      ['128 characters', 't'.repeat(128)],
      ['every allowed character', 'Az09._:-'],
      ['a leading separator', '-acme'],
    ])('accepts a tenant_id of %s', (_name, tenantId) => {
      // Act
      const submission = parseSubmission(request({ ...valid, tenant_id: tenantId }), DEFAULT_LIMITS);

      // Assess
      expect(submission.tenantId).toBe(tenantId);
    });

    it.each(['echo', 'summarize.v2', 'team:agent_1', 'A-b'])('accepts the task type %s', (type) => {
      // Act
      const submission = parseSubmission(request({ ...valid, type }), DEFAULT_LIMITS);

      // Assess
      expect(submission.type).toBe(type);
    });
  });

  describe('Idempotency-Key header', () => {
    it('uses the header when the body has no key, whatever its case', () => {
      // Act
      const submission = parseSubmission(
        request(valid, { ...JSON_HEADERS, 'Idempotency-Key': 'from-header' }),
        DEFAULT_LIMITS,
      );

      // Assess
      expect(submission.idempotencyKey).toBe('from-header');
    });

    it('accepts the header and the body field when they are equal', () => {
      // Act
      const submission = parseSubmission(
        request({ ...valid, idempotency_key: 'same' }, { ...JSON_HEADERS, 'idempotency-key': 'same' }),
        DEFAULT_LIMITS,
      );

      // Assess
      expect(submission.idempotencyKey).toBe('same');
    });

    it('throws a ValidationError when the header and the body field differ', () => {
      // Act
      const error = thrown(() =>
        parseSubmission(
          request({ ...valid, idempotency_key: 'body' }, { ...JSON_HEADERS, 'idempotency-key': 'header' }),
          DEFAULT_LIMITS,
        ),
      );

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('ValidationError');
      expect(error.details).toEqual([
        { path: '/idempotency_key', message: 'differs from the Idempotency-Key header' },
      ]);
    });

    it.each([
      ['empty', ''],
      ['over 128 characters', 'k'.repeat(129)],
    ])('throws a ValidationError when the header is %s', (_name, key) => {
      // Act
      const error = thrown(() =>
        parseSubmission(request(valid, { ...JSON_HEADERS, 'idempotency-key': key }), DEFAULT_LIMITS),
      );

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('ValidationError');
      expect(error.details).toEqual([
        { path: 'header:Idempotency-Key', message: 'must be 1 to 128 characters' },
      ]);
    });
  });
});

describe('Function: checkContentType', () => {
  it('names the rejected content type in the message', () => {
    // Act
    const error = thrown(() => checkContentType('text/html'));

    // Assess
    expect(error.message).toBe("Content-Type must be application/json, but 'text/html' was sent");
  });
});

describe('Function: jsonDepth', () => {
  it.each<[unknown, number]>([
    ['a string', 0],
    [null, 0],
    [{}, 1],
    [[], 1],
    [{ a: [{ b: 1 }] }, 3],
    [{ shallow: 1, deep: { a: { b: {} } } }, 4],
  ])('measures %j as %i levels deep', (value, depth) => {
    // Act
    const measured = jsonDepth(value);

    // Assess
    expect(measured).toBe(depth);
  });
});

describe('Function: parseSubmission, exact payloads', () => {
  it('keeps every number literal of the payload digit for digit', () => {
    // Prepare
    const payload = `{"n":9007199254740993,"big":1e400,"long":${'7'.repeat(300)},"f":1.50,"z":-0}`;

    // Act
    const submission = parseSubmission(request(`{"type":"echo","payload":${payload}}`), DEFAULT_LIMITS);

    // Assess
    expect(JSON.stringify(submission.payload)).toBe(payload);
  });

  it('validates top-level numbers by their value: delay_seconds 10.0 is the integer 10', () => {
    // Act
    const submission = parseSubmission(
      request('{"type":"echo","payload":{},"delay_seconds":10.0}'),
      DEFAULT_LIMITS,
    );

    // Assess
    expect(submission.delaySeconds).toBe(10);
  });

  it.each([
    ['delay_seconds', '{"type":"echo","payload":{},"delay_seconds":1e400}', '/delay_seconds'],
    ['delay_seconds', '{"type":"echo","payload":{},"delay_seconds":9007199254740993}', '/delay_seconds'],
    ['payload', '{"type":"echo","payload":1e400}', '/payload'],
  ])('still rejects a %s that breaks the schema when written as an exact number', (_field, body, path) => {
    // Act
    const error = thrown(() => parseSubmission(request(body), DEFAULT_LIMITS));

    // Assess
    expect(error.code).toBe('ValidationError');
    expect(error.details?.map((d) => d.path)).toContain(path);
  });

  it('counts an exact number as a leaf when it measures nesting', () => {
    // Prepare: the top-level object and the payload are two levels; 30 more arrays reach the limit of 32.
    const body = `{"type":"echo","payload":{"x":${'['.repeat(DEFAULT_LIMITS.maxJsonDepth - 2)}9007199254740993${']'.repeat(DEFAULT_LIMITS.maxJsonDepth - 2)}}}`;

    // Act
    const submission = parseSubmission(request(body), DEFAULT_LIMITS);

    // Assess
    expect(JSON.stringify(submission.payload)).toContain('9007199254740993');
  });
});

describe('Function: parseSubmission, non-ASCII Idempotency-Key header', () => {
  it.each([
    ['a UTF-8 key read as Latin-1', 'cl\u00c3\u00a9'],
    ['a Latin-1 character', 'caf\u00e9'],
    ['a control character', 'k\u0001'],
  ])('throws a ValidationError naming the header for %s', (_name, key) => {
    // Act
    const error = thrown(() =>
      parseSubmission(request(valid, { ...JSON_HEADERS, 'idempotency-key': key }), DEFAULT_LIMITS),
    );

    // Assess
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('ValidationError');
    expect(error.message).toMatch(/Idempotency-Key/);
    expect(error.details).toEqual([
      {
        path: 'header:Idempotency-Key',
        message: 'must be printable ASCII; send a non-ASCII key in idempotency_key',
      },
    ]);
  });

  it('accepts a non-ASCII key in the body field', () => {
    // Act
    const submission = parseSubmission(request({ ...valid, idempotency_key: 'clé 😀' }), DEFAULT_LIMITS);

    // Assess
    expect(submission.idempotencyKey).toBe('clé 😀');
  });
});
