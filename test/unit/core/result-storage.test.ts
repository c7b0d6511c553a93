import {
  COMPRESSION_RATIO_CAP,
  compressedAtFloor,
  MAX_INLINE_RESULT_WRITE_UNITS,
  mayCompress,
  RESULT_OBJECT_KEY_BYTES,
  resultForm,
  resultObjectKey,
  S3_PUT_USD_PER_MILLION,
  WRITE_UNIT_USD_PER_MILLION,
  writeUnits,
} from '../../../lambda/core/result-storage';

/** A claimed record of a 1 KB echo task, as the bench's records measure it, with what success adds. */
const OTHER = 400;

describe('Module: result-storage', () => {
  describe('writeUnits', () => {
    it('bills each started KB, and at least one unit', () => {
      // Act / Assess
      expect([0, 1, 1024, 1025, 2048, 9217].map(writeUnits)).toEqual([1, 1, 1, 2, 2, 10]);
    });
  });

  describe('MAX_INLINE_RESULT_WRITE_UNITS', () => {
    it('is where an S3 PUT and a 1-unit pointer write cost no more than the inline write', () => {
      // Act
      const inline = (units: number) => units * WRITE_UNIT_USD_PER_MILLION;
      const object = S3_PUT_USD_PER_MILLION + WRITE_UNIT_USD_PER_MILLION;

      // Assess
      expect(MAX_INLINE_RESULT_WRITE_UNITS).toBe(9);
      expect(inline(MAX_INLINE_RESULT_WRITE_UNITS)).toBeLessThanOrEqual(object);
      expect(inline(MAX_INLINE_RESULT_WRITE_UNITS + 1)).toBeGreaterThan(object);
    });
  });

  describe('mayCompress', () => {
    it('leaves a result whose record takes one write unit alone', () => {
      // Act / Assess
      expect(
        mayCompress({ otherBytes: OTHER, textBytes: 1024 - OTHER - 'result'.length, objectStore: true }),
      ).toBe(false);
    });

    it('compresses once the text form takes a second unit', () => {
      // Act / Assess
      expect(
        mayCompress({ otherBytes: OTHER, textBytes: 1024 - OTHER - 'result'.length + 1, objectStore: true }),
      ).toBe(true);
    });

    it('sends a text too large to ever fit inline to the bucket uncompressed, but compresses it without a bucket', () => {
      // Prepare
      const textBytes = MAX_INLINE_RESULT_WRITE_UNITS * 1024 * COMPRESSION_RATIO_CAP + 1;

      // Act / Assess
      expect(mayCompress({ otherBytes: OTHER, textBytes, objectStore: true })).toBe(false);
      expect(mayCompress({ otherBytes: OTHER, textBytes, objectStore: false })).toBe(true);
      expect(resultForm({ otherBytes: OTHER, textBytes, objectStore: true })).toBe('object');
    });
  });

  describe('compressedAtFloor', () => {
    it('holds while the compressed record takes the units of one with a 1-byte result, and not a byte past them', () => {
      // Arrange: a 400-byte record leaves 1024 − 400 − 8 bytes for `result_z` in its one unit; a 1,500-byte one
      // leaves 2048 − 1500 − 8 in its two
      const small = { otherBytes: OTHER, textBytes: 5_000, objectStore: true };
      const large = { otherBytes: 1_500, textBytes: 5_000, objectStore: false };

      // Act / Assess
      expect([1, 616, 617].map((bytes) => compressedAtFloor(small, bytes))).toEqual([true, true, false]);
      expect([540, 541].map((bytes) => compressedAtFloor(large, bytes))).toEqual([true, false]);
    });
  });

  describe('resultForm', () => {
    it('stores the text when it fits the same units as the compressed form', () => {
      // Prepare: 1.5 KB of text that compresses to 700 B: 2 units either way
      const sizes = { otherBytes: OTHER, textBytes: 1536, compressedBytes: 700, objectStore: true };

      // Act / Assess
      expect(resultForm(sizes)).toBe('text');
    });

    it('stores the compressed form when it saves a write unit', () => {
      // Prepare: the 1 KB echo result of the bench, compressed to about half
      const sizes = { otherBytes: OTHER, textBytes: 1026, compressedBytes: 480, objectStore: true };

      // Act / Assess
      expect(resultForm(sizes)).toBe('compressed');
    });

    it('counts the longer attribute name of the compressed form', () => {
      // Prepare: text 1 byte over the unit; compressed fits only if `result_z`'s two extra bytes are left out
      const textBytes = 1024 - OTHER - 'result'.length + 1;
      const compressedBytes = 1024 - OTHER - 'result'.length + 1;

      // Act / Assess
      expect(resultForm({ otherBytes: OTHER, textBytes, compressedBytes, objectStore: true })).toBe('text');
      expect(
        resultForm({ otherBytes: OTHER, textBytes, compressedBytes: compressedBytes - 3, objectStore: true }),
      ).toBe('compressed');
    });

    it('keeps a compressed record of up to 9 units inline, and sends a 10-unit one to the bucket', () => {
      // Prepare
      const fits = 9 * 1024 - OTHER - 'result_z'.length;

      // Act / Assess
      expect(
        resultForm({ otherBytes: OTHER, textBytes: 100_000, compressedBytes: fits, objectStore: true }),
      ).toBe('compressed');
      expect(
        resultForm({ otherBytes: OTHER, textBytes: 100_000, compressedBytes: fits + 1, objectStore: true }),
      ).toBe('object');
    });

    it('sends an incompressible text over 9 units to the bucket', () => {
      // Act / Assess
      expect(
        resultForm({ otherBytes: OTHER, textBytes: 20_000, compressedBytes: 20_100, objectStore: true }),
      ).toBe('object');
    });

    it('never chooses the bucket without one', () => {
      // Act / Assess
      expect(
        resultForm({ otherBytes: OTHER, textBytes: 300_000, compressedBytes: 200_000, objectStore: false }),
      ).toBe('compressed');
      expect(resultForm({ otherBytes: OTHER, textBytes: 300_000, objectStore: false })).toBe('text');
    });
  });

  describe('resultObjectKey', () => {
    it('names the task, the attempt and the write, within RESULT_OBJECT_KEY_BYTES', () => {
      // Prepare
      const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

      // Act
      const key = resultObjectKey(id, 3, id);
      const longest = resultObjectKey(id, 10 ** 20, id);

      // Assess
      expect(key).toBe(`results/${id}/3-${id}.json`);
      expect(Buffer.byteLength(longest)).toBeLessThanOrEqual(RESULT_OBJECT_KEY_BYTES);
    });
  });
});
