import { brotliCompressSync, constants } from 'node:zlib';
import { proseText } from '../../../bench/payloads';
import { compressResult, decompressResult, windowBits } from '../../../lambda/adapters/result-codec';

/** The window a brotli stream declares in its first bits (RFC 7932, section 9.1: WBITS, read from the low bit up). */
function declaredWindowBits(stream: Uint8Array): number {
  let bit = 0;
  const read = (count: number) => {
    let value = 0;
    for (let i = 0; i < count; i++, bit++) value |= ((stream[bit >> 3]! >> (bit & 7)) & 1) << i;
    return value;
  };
  if (read(1) === 0) return 16;
  const wide = read(3);
  if (wide !== 0) return 17 + wide;
  const narrow = read(3);
  return narrow === 0 ? 17 : 8 + narrow;
}

const resultText = (chars: number) => JSON.stringify({ echo: { summary: proseText(7, chars), score: 0.5 } });

describe('Module: result-codec', () => {
  describe('windowBits', () => {
    it('gives the smallest window that holds the text, within brotli’s 10 to 24 bits', () => {
      // Act / Assess: a window of w bits holds 2^w − 16 bytes
      expect([0, 1008, 1009, 1026, 65_520, 65_521, 300_000, 2 ** 24 - 16, 2 ** 30].map(windowBits)).toEqual([
        10, 10, 11, 11, 16, 17, 19, 24, 24,
      ]);
    });
  });

  describe('compressResult', () => {
    it.each([
      ['a 1 KB result', 1_000, 11],
      ['a 50 KB result', 50_000, 16],
      ['a 300 KB result', 300_000, 19],
    ])('writes %s with the window fitted to it, and reads it back as it was', (_name, chars, bits) => {
      // Arrange
      const text = resultText(chars);

      // Act
      const stream = compressResult(text);

      // Assess
      expect({ window: declaredWindowBits(stream), back: decompressResult(stream) === text }).toEqual({
        window: bits,
        back: true,
      });
    });

    it('takes no more bytes than brotli’s default window at the same quality', () => {
      // Arrange
      const text = resultText(1_000);
      const bytes = Buffer.from(text);

      // Act
      const fitted = compressResult(text).byteLength;
      const wide = brotliCompressSync(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      });

      // Assess: the header check proves which window each used
      expect({ default: declaredWindowBits(wide), fittedNoLarger: fitted <= wide.byteLength }).toEqual({
        default: 22,
        fittedNoLarger: true,
      });
    });

    it('keeps every character: astral ones, escapes and digits', () => {
      // Arrange
      const text = '{"echo":{"emoji":"\u{1F600}\u{1F680}","n":9007199254740993,"s":"a\\"b\\u0000"}}';

      // Act / Assess
      expect(decompressResult(compressResult(text))).toBe(text);
    });
  });
});
