/**
 * Valid tasks: each must be accepted (202) and end as its expectation says (judge.ts `checkAccepted`).
 */
import fc from 'fast-check';
import { DEFAULTS } from '../../lambda/contract';
import { DEFAULT_LIMITS } from '../../lambda/core/submission';
import { PRIORITIES } from '../../lambda/core/task';
import { ECHO_TYPE, type Expectation, type FuzzRequest, post } from './request';

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

/** The request body of an echo task around `payload` (JSON text, sent as written). */
const taskBody = (payload: string, priority = 'low'): string =>
  `{"type":${JSON.stringify(ECHO_TYPE)},"priority":"${priority}","payload":${payload}}`;

const validTask = (kind: string, payload: string, expect: Expectation, priority = 'low'): FuzzRequest => ({
  ...post(kind, taskBody(payload, priority)),
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
      fc.constantFrom(...PRIORITIES),
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
    // The task body around the payload: `{"type":"echo","priority":"low","payload":` and the closing `}`.
    const room = DEFAULT_LIMITS.maxBodyBytes - Buffer.byteLength(taskBody('')) - slack;
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
      .constantFrom(DEFAULTS.maxResultBytes + 1, 1_000_000, 5_000_000, 300_000_000)
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
