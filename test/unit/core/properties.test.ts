/** Property tests (fast-check) for the rules that must hold for every input, not just the examples. */
import fc from 'fast-check';
import { HttpError } from '../../../lambda/core/errors';
import { requestHash, taskIdForKey } from '../../../lambda/core/idempotency';
import { canonicalJson } from '../../../lambda/core/json-text';
import { backoffSeconds } from '../../../lambda/core/retry-policy';
import { DEFAULT_LIMITS, parseSubmission } from '../../../lambda/core/submission';
import { TASK_ID_PATTERN } from '../../../lambda/core/task';

/** The same object with its keys inserted in reverse order, at every depth. */
function reversedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(reversedKeys);
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversedKeys(v)]),
  );
}

describe('Properties: parseSubmission', () => {
  it('answers any body with a submission or a 4xx HttpError, never another error', () => {
    // Prepare
    const bodies = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            type: fc.oneof(fc.string(), fc.constant('echo'), fc.integer()),
            payload: fc.oneof(fc.object(), fc.jsonValue()),
            priority: fc.oneof(fc.constantFrom('high', 'low'), fc.string()),
            idempotency_key: fc.string({ maxLength: 200 }),
            delay_seconds: fc.oneof(fc.integer({ min: -10, max: 1000 }), fc.double()),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );

    // Act & Assess
    fc.assert(
      fc.property(bodies, fc.boolean(), (body, base64) => {
        const request = {
          headers: { 'content-type': 'application/json' },
          body: base64 ? Buffer.from(body).toString('base64') : body,
          isBase64Encoded: base64,
        };
        try {
          parseSubmission(request, DEFAULT_LIMITS);
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).statusCode).toBeGreaterThanOrEqual(400);
          expect((error as HttpError).statusCode).toBeLessThan(500);
        }
      }),
    );
  });
});

describe('Properties: idempotency', () => {
  it('hashes a payload the same whatever its key order', () => {
    fc.assert(
      fc.property(fc.object(), (payload) => {
        // Act
        const a = requestHash({ type: 't', payload, priority: 'low', delaySeconds: 0 });
        const b = requestHash({
          type: 't',
          payload: reversedKeys(payload) as Record<string, unknown>,
          priority: 'low',
          delaySeconds: 0,
        });

        // Assess
        expect(a).toBe(b);
      }),
    );
  });

  it('serialises any JSON value to JSON that parses back to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Act
        const parsed = JSON.parse(canonicalJson(value));

        // Assess
        expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('derives a valid task id from any key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128, unit: 'grapheme' }), (key) => {
        // Act
        const id = taskIdForKey(key);

        // Assess
        expect(id).toMatch(TASK_ID_PATTERN);
      }),
    );
  });
});

describe('Properties: backoffSeconds', () => {
  it('is a whole number of seconds within [0, min(cap, base * 2^(attempt-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 43_200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseSeconds, capSeconds, draw) => {
          // Act
          const delay = backoffSeconds(attempt, { baseSeconds, capSeconds }, () => draw);

          // Assess
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(
            Math.min(capSeconds, baseSeconds * 2 ** Math.min(attempt - 1, 30)),
          );
        },
      ),
    );
  });
});
