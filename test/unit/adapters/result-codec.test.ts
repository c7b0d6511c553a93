import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';
import { proseText } from '../../../bench/payloads';
import {
  compressResult,
  DEFLATE_FIRST_MAX_BYTES,
  DEFLATE_MARKER,
  decompressResult,
  deflateWindowBits,
  windowBits,
} from '../../../lambda/adapters/result-codec';

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

  describe('deflateWindowBits', () => {
    it('gives the smallest window deflate reaches the text’s start with, within raw deflate’s 9 to 15 bits', () => {
      // Act / Assess: a window of w bits reaches 2^w − 262 bytes back
      expect([0, 250, 251, 1039, 1786, 1787, 32_506, 32_507, 300_000].map(deflateWindowBits)).toEqual([
        9, 9, 10, 11, 11, 12, 15, 15, 15,
      ]);
    });
  });

  describe('compressResult', () => {
    it('deflates, marked by its first byte, when the caller takes the deflated size, and reads it back', () => {
      // Arrange
      const text = resultText(1_000);
      const sizes: number[] = [];

      // Act
      const stream = compressResult(text, (bytes) => {
        sizes.push(bytes);
        return true;
      });

      // Assess: the caller was asked once, about this very size
      expect({ first: stream[0], asked: sizes, back: decompressResult(stream) === text }).toEqual({
        first: DEFLATE_MARKER,
        asked: [stream.byteLength],
        back: true,
      });
    });

    it.each([
      ['a 1 KB result', 1_000, 11],
      ['a 10 KB result', 10_000, 14],
    ])(
      'writes %s with brotli, its window fitted, when deflate is not enough and brotli is smaller',
      (_name, chars, bits) => {
        // Arrange
        const text = resultText(chars);
        const deflated = compressResult(text, () => true);

        // Act
        const stream = compressResult(text, () => false);

        // Assess
        expect({
          window: declaredWindowBits(stream),
          smaller: stream.byteLength < deflated.byteLength,
          back: decompressResult(stream) === text,
        }).toEqual({ window: bits, smaller: true, back: true });
      },
    );

    it('keeps the deflated text when brotli writes no fewer bytes', () => {
      // Arrange: a short JSON text with no repeats, which brotli's static dictionary cannot help
      const text = JSON.stringify({ id: 'x7Qz', n: 3 });
      const deflated = compressResult(text, () => true).byteLength;

      // Act
      const stream = compressResult(text, () => false);

      // Assess
      expect({ first: stream[0], bytes: stream.byteLength, back: decompressResult(stream) === text }).toEqual(
        {
          first: DEFLATE_MARKER,
          bytes: deflated,
          back: true,
        },
      );
    });

    it.each([
      ['a 50 KB result', 50_000, 16],
      ['a 300 KB result', 300_000, 19],
    ])(
      'sends %s, above DEFLATE_FIRST_MAX_BYTES, to brotli alone, its window fitted, without asking',
      (_name, chars, bits) => {
        // Arrange
        const text = resultText(chars);
        let asked = 0;

        // Act
        const stream = compressResult(text, () => {
          asked += 1;
          return true;
        });

        // Assess
        expect({
          asked,
          window: declaredWindowBits(stream),
          back: decompressResult(stream) === text,
        }).toEqual({
          asked: 0,
          window: bits,
          back: true,
        });
        expect(Buffer.byteLength(text)).toBeGreaterThan(DEFLATE_FIRST_MAX_BYTES);
      },
    );

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

    it('takes no more bytes deflated than zlib’s default window and hash table at the same level', () => {
      // Arrange
      const text = resultText(1_000);

      // Act
      const fitted = compressResult(text, () => true).byteLength - 1;
      const wide = deflateRawSync(Buffer.from(text), { level: 9 }).byteLength;

      // Assess
      expect(fitted).toBeLessThanOrEqual(wide);
    });

    it('keeps every character: astral ones, escapes and digits, with either codec', () => {
      // Arrange
      const text = '{"echo":{"emoji":"\u{1F600}\u{1F680}","n":9007199254740993,"s":"a\\"b\\u0000"}}';

      // Act / Assess
      expect([true, false].map((enough) => decompressResult(compressResult(text, () => enough)))).toEqual([
        text,
        text,
      ]);
    });
  });

  describe('decompressResult', () => {
    it('reads a result stored with brotli alone, before deflate came in', () => {
      // Arrange: what the codec wrote before: brotli at quality 5, the window fitted
      const text = resultText(1_000);
      const bytes = Buffer.from(text);
      const stored = brotliCompressSync(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_LGWIN]: windowBits(bytes.length),
        },
      });

      // Act / Assess
      expect(decompressResult(stored)).toBe(text);
    });

    it('never takes a brotli stream for a deflated one: none starts with the marker, whatever its window', () => {
      // Arrange: every window brotli allows, texts from empty to past the largest window's first block
      const firstBytes = new Set<number>();
      for (let bits = constants.BROTLI_MIN_WINDOW_BITS; bits <= constants.BROTLI_MAX_WINDOW_BITS; bits++) {
        for (const chars of [0, 10, 1_000, 70_000]) {
          const stream = brotliCompressSync(Buffer.from(proseText(bits, chars)), {
            params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: bits },
          });
          firstBytes.add(stream[0]!);
        }
      }

      // Assess: the window code is in the first 7 bits; ISLAST, the 8th, may be either
      expect([...firstBytes].filter((byte) => (byte & 0x7f) === DEFLATE_MARKER)).toEqual([]);
      expect(firstBytes.size).toBeGreaterThan(15);
    });
  });
});
