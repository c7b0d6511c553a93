import { marshall } from '@aws-sdk/util-dynamodb';
import { toAttributeValues } from '../../../lambda/adapters/attribute-values';

const OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: true };

/** The message `f` throws, or `accepted`. */
function refusal(f: () => unknown): string {
  try {
    f();
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('Module: attribute-values', () => {
  describe('toAttributeValues', () => {
    it('writes what marshall writes, for every kind of value a write sends', () => {
      // Arrange: the fast path's kinds, their edges, and what goes to the SDK's converter
      const values = {
        ':s': 'RUNNING',
        ':empty': '',
        ':astral': 'a\u{1F600}b',
        ':zero': 0,
        ':negZero': -0,
        ':int': 1_733_356_800_000,
        ':neg': -42,
        ':maxSafe': Number.MAX_SAFE_INTEGER,
        ':fraction': 0.5,
        ':true': true,
        ':null': null,
        ':missing': undefined,
        ':binary': new Uint8Array([0x11, 0, 255]),
        ':set': new Set(['a', 'b']),
        ':map': { keys: ['agent#echo'], holder: 'h-1', n: 3 },
        ':list': [1, 'two', null],
      };

      // Act / Assess
      expect(toAttributeValues(values)).toEqual(marshall(values, OPTIONS));
    });

    it.each([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['an integer past 2^53', 2 ** 53 + 2],
    ])('refuses %s as marshall does', (_name, value) => {
      // Act
      const mine = refusal(() => toAttributeValues({ ':n': value }));
      const sdk = refusal(() => marshall({ ':n': value }, OPTIONS));

      // Assess
      expect({ mine, refused: sdk !== 'accepted' }).toEqual({ mine: sdk, refused: true });
    });
  });
});
