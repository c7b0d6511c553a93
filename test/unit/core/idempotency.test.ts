import { newTaskId, requestHash, taskIdForKey } from '../../../lambda/core/idempotency';
import { canonicalJson } from '../../../lambda/core/json-text';
import type { Submission } from '../../../lambda/core/submission';
import { TASK_ID_PATTERN } from '../../../lambda/core/task';

/** RFC 9562: version nibble 8 (custom), variant bits 10. */
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Function: taskIdForKey', () => {
  it('returns the same task id for the same key', () => {
    // Act
    const first = taskIdForKey('order-42');
    const second = taskIdForKey('order-42');

    // Assess
    expect(second).toBe(first);
  });

  it('returns different task ids for different keys', () => {
    // Act
    const ids = new Set(['a', 'b', 'A', 'a ', 'order-42', 'order-43'].map(taskIdForKey));

    // Assess
    expect(ids.size).toBe(6);
  });

  it.each(['k', 'order-42', 'ünïcødé-🔑', 'k'.repeat(128)])(
    'returns a lowercase version-8 UUID that names a task for the key %s',
    (key) => {
      // Act
      const id = taskIdForKey(key);

      // Assess
      expect(id).toMatch(UUID_V8);
      expect(id).toMatch(TASK_ID_PATTERN);
    },
  );

  it('does not contain the raw key', () => {
    // Act
    const id = taskIdForKey('deadbeef');

    // Assess
    expect(id).not.toContain('deadbeef');
  });
});

describe('Function: newTaskId', () => {
  it('returns a fresh task id each time', () => {
    // Act
    const a = newTaskId();
    const b = newTaskId();

    // Assess
    expect(a).toMatch(TASK_ID_PATTERN);
    expect(b).not.toBe(a);
  });
});

describe('Function: canonicalJson', () => {
  it('serialises objects the same whatever their key order, at every depth', () => {
    // Prepare
    const a = { b: 1, a: { y: [1, { q: 1, p: 2 }], x: null } };
    const c = { a: { x: null, y: [1, { p: 2, q: 1 }] }, b: 1 };

    // Act
    const left = canonicalJson(a);
    const right = canonicalJson(c);

    // Assess
    expect(left).toBe(right);
    expect(left).toBe('{"a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1}');
  });

  it('keeps array order, which carries meaning', () => {
    // Act
    const forwards = canonicalJson([1, 2]);
    const backwards = canonicalJson([2, 1]);

    // Assess
    expect(forwards).not.toBe(backwards);
  });

  it.each<[unknown, string]>([
    ['text', '"text"'],
    [1.5, '1.5'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'null'],
    ['quote " and \\', '"quote \\" and \\\\"'],
  ])('serialises the scalar %j as JSON', (value, expected) => {
    // Act
    const json = canonicalJson(value);

    // Assess
    expect(json).toBe(expected);
  });

  it('produces JSON that parses back to the same value', () => {
    // Prepare
    const value = { 'key "quoted"': ['é', 0, -1e-7, { '': false }] };

    // Act
    const parsed = JSON.parse(canonicalJson(value));

    // Assess
    expect(parsed).toEqual(value);
  });
});

describe('Function: requestHash', () => {
  const base: Submission = {
    type: 'echo',
    payload: { a: 1, b: [1, 2] },
    priority: 'low',
    delaySeconds: 0,
  };

  it('hashes equal submissions equally, whatever the payload key order', () => {
    // Prepare
    const reordered: Submission = { ...base, payload: { b: [1, 2], a: 1 } };

    // Act
    const left = requestHash(base);
    const right = requestHash(reordered);

    // Assess
    expect(left).toBe(right);
  });

  it('ignores the idempotency key itself', () => {
    // Act
    const without = requestHash(base);
    const withKey = requestHash({ ...base, idempotencyKey: 'k' });

    // Assess
    expect(withKey).toBe(without);
  });

  it.each<[string, Partial<Submission>]>([
    ['type', { type: 'other' }],
    ['payload', { payload: { a: 2, b: [1, 2] } }],
    ['priority', { priority: 'high' }],
    ['delay', { delaySeconds: 5 }],
    ['tenant', { tenantId: 'acme' }],
  ])('changes when the %s changes', (_field, change) => {
    // Act
    const original = requestHash(base);
    const changed = requestHash({ ...base, ...change });

    // Assess
    expect(changed).not.toBe(original);
  });

  it('tells one tenant from another', () => {
    // Act
    const acme = requestHash({ ...base, tenantId: 'acme' });
    const globex = requestHash({ ...base, tenantId: 'globex' });

    // Assess
    expect(acme).not.toBe(globex);
  });

  it('is a base64url SHA-256 digest', () => {
    // Act
    const hash = requestHash(base);

    // Assess
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
