import fc from 'fast-check';
import {
  canonicalJson,
  canonicalNumber,
  isRawNumber,
  isSqsText,
  parseExactJson,
  sqsAttributeText,
  toDouble,
  toSqsJson,
} from '../../../lambda/core/json-text';

/** Sorted-keys JSON.stringify: the canonical form request hashes used before exact numbers. */
function sortedStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(sortedStringify).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${sortedStringify((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

describe('Function: parseExactJson', () => {
  it.each([
    '9007199254740993',
    '1e400',
    '-1e400',
    '1.50',
    '-0',
    '1E5',
    '0.1000000000000000000001',
    '1'.repeat(300),
  ])('writes the literal %s back digit for digit', (literal) => {
    // Act
    const text = JSON.stringify(parseExactJson(`{"n":${literal}}`));

    // Assess
    expect(text).toBe(`{"n":${literal}}`);
  });

  it('keeps numbers that a double reproduces as plain numbers', () => {
    // Act
    const value = parseExactJson('{"a":1,"b":1.5,"c":[-2]}') as { a: unknown; b: unknown; c: unknown[] };

    // Assess
    expect(value).toEqual({ a: 1, b: 1.5, c: [-2] });
    expect(isRawNumber(value.a)).toBe(false);
  });

  it('reads a raw number as a double where one is needed', () => {
    // Act
    const double = toDouble((parseExactJson('[10.0]') as unknown[])[0]);

    // Assess
    expect(double).toBe(10);
  });

  it('throws SyntaxError for text that is not JSON', () => {
    // Act + Assess
    expect(() => parseExactJson('{"a":')).toThrow(SyntaxError);
    expect(() => parseExactJson('{"a":"1.5')).toThrow(SyntaxError);
    expect(() => parseExactJson('[01]')).toThrow(SyntaxError);
  });

  it.each([
    // A string ending in an escaped backslash: the number after it is outside the string.
    ['{"s":"a\\\\","n":1.0}', '{"s":"a\\\\","n":1.0}'],
    // An escaped quote does not end the string: its "1.0" is text, and the number after is a short integer.
    ['{"s":"say \\"1.0\\"","n":2}', '{"s":"say \\"1.0\\"","n":2}'],
    ['{"s":"e","n":-0}', '{"s":"e","n":-0}'],
    ['[1234567890123456789]', '[1234567890123456789]'],
    [
      '{"text":"1.50 and 1e400 in a string","n":[1,-2,300]}',
      '{"text":"1.50 and 1e400 in a string","n":[1,-2,300]}',
    ],
  ])('reads numbers beside strings exactly: %s', (text, expected) => {
    // Act + Assess
    expect(JSON.stringify(parseExactJson(text))).toBe(expected);
  });

  it('gives what the literal-checking parse gives for any JSON text, however its strings and numbers mix', () => {
    /** The reference: every number literal checked, with no shortcut. */
    const checked = (text: string) =>
      (JSON.parse as (t: string, r: (k: string, v: unknown, c?: { source?: string }) => unknown) => unknown)(
        text,
        (_k, v, c) =>
          typeof v === 'number' && c?.source !== undefined && JSON.stringify(v) !== c.source
            ? (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(c.source)
            : v,
      );
    const literal = fc.oneof(
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.constantFrom('1.50', '-0', '1E5', '1e400', '9007199254740993', '0.10'),
    );
    const text = fc.array(
      fc.oneof(
        literal,
        fc.string().map((x) => JSON.stringify(x)),
      ),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(text, (items) => {
        // Prepare
        const json = `[${items.join(',')}]`;

        // Act + Assess
        expect(JSON.stringify(parseExactJson(json))).toBe(JSON.stringify(checked(json)));
      }),
    );
  });
});

describe('Function: canonicalJson', () => {
  it('gives the same text for two serialisations of one value', () => {
    // Act
    const left = canonicalJson(parseExactJson('{ "b": 1.0, "a": [10e-1, 9007199254740993, 1e400] }'));
    const right = canonicalJson(parseExactJson('{"a":[1,9007199254740993.0,1E400],"b":1}'));

    // Assess
    expect(left).toBe(right);
  });

  it('tells apart values that differ past double precision', () => {
    // Act
    const odd = canonicalJson(parseExactJson('{"n":9007199254740993}'));
    const even = canonicalJson(parseExactJson('{"n":9007199254740992}'));

    // Assess
    expect(odd).not.toBe(even);
  });

  it.each<[string, string]>([
    ['10', '10'],
    ['1.5', '1.5'],
    ['0.1', '0.1'],
    ['1e21', '1e+21'],
    ['1.0', '1'],
    ['-0', '0'],
    ['100e-2', '1'],
  ])('writes %s, which a double holds, as JSON.stringify does (%s)', (literal, expected) => {
    // Act
    const text = canonicalJson(parseExactJson(literal));

    // Assess
    expect(text).toBe(expected);
  });

  it('is sorted-keys JSON.stringify for any value JSON.parse reads back unchanged, so stored hashes still match', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Prepare
        const text = JSON.stringify(value);

        // Act
        const exact = canonicalJson(parseExactJson(text));

        // Assess
        expect(exact).toBe(sortedStringify(JSON.parse(text)));
      }),
    );
  });

  it('never gives two different number values the same text', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.integer({ min: -30, max: 30 }),
        (a, b, exponent) => {
          fc.pre(a !== b);
          // Act
          const left = canonicalJson(parseExactJson(`${a}e${exponent}`));
          const right = canonicalJson(parseExactJson(`${b}e${exponent}`));

          // Assess
          expect(left).not.toBe(right);
        },
      ),
    );
  });
});

describe('Function: canonicalNumber', () => {
  it.each<[string, string]>([
    ['1', '1'],
    ['1.0', '1'],
    ['10e-1', '1'],
    ['100', '1e2'],
    ['0.00', '0'],
    ['-1.25e3', '-125e1'],
  ])('writes %s as %s', (literal, expected) => {
    // Act + Assess
    expect(canonicalNumber(literal)).toBe(expected);
  });
});

describe('Function: toSqsJson', () => {
  it('escapes U+FFFE and U+FFFF, which JSON.stringify leaves as they are, and keeps the JSON value', () => {
    // Prepare
    const value = { x: '\uffff\ufffe', emoji: 'great 😀', lone: '\ud800' };

    // Act
    const text = toSqsJson(value);

    // Assess
    expect(isSqsText(text)).toBe(true);
    expect(text).toContain('\\uffff\\ufffe');
    expect(text).toContain('😀');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('writes exact numbers back as sent', () => {
    // Act
    const text = toSqsJson(parseExactJson('{"n":9007199254740993,"big":1e400}'));

    // Assess
    expect(text).toBe('{"n":9007199254740993,"big":1e400}');
  });
});

describe('Function: sqsAttributeText', () => {
  it.each<[string, string]>([
    ['NUL', 'a\u0000b'],
    ['an ESC colour code', '\u001b[31mred\u001b[0m'],
    ['U+FFFF', 'x\uffff'],
    ['a lone high surrogate', 'x\ud83d'],
    ['a lone low surrogate', '\ude00x'],
  ])('makes text with %s valid SQS text', (_name, text) => {
    // Act
    const value = sqsAttributeText(text, 1024);

    // Assess
    expect(isSqsText(value)).toBe(true);
  });

  it('cuts on code-point boundaries, never between the halves of a surrogate pair', () => {
    // Act
    const value = sqsAttributeText('😀'.repeat(10), 3);

    // Assess
    expect(value).toBe('😀😀😀');
    expect(isSqsText(value)).toBe(true);
  });

  it('cuts to a byte budget on code-point boundaries', () => {
    // Act
    const value = sqsAttributeText('é😀😀', 100, 7);

    // Assess
    expect(value).toBe('é😀');
    expect(Buffer.byteLength(value)).toBe(6);
  });

  it('writes an empty value as "-", which SQS accepts', () => {
    // Act + Assess
    expect(sqsAttributeText('', 10)).toBe('-');
  });

  it('gives valid SQS text for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), fc.integer({ min: 1, max: 60 }), (s, n) => {
        // Act + Assess
        expect(isSqsText(sqsAttributeText(s, n))).toBe(true);
      }),
    );
  });
});
