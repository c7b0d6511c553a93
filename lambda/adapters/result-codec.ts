/**
 * The compressed form of a result (result-storage.ts `compressed`): its JSON text, brotli at quality 5. Measured on
 * the 1 KB echo result of the bench's prose payload (bench/payloads.ts), Node 22 on this project's 2-core machines:
 * 49 % of the text, about 40–55 µs of CPU per KB to compress and 10 µs to decompress. Quality 6 gave the same
 * bytes for more CPU; quality 11 (brotli's default) 42 % at 50 times the CPU.
 *
 * The window is fitted to the text (`windowBits`): brotli's default of 4 MB makes quality 5 set up a hash table of
 * about 1 MB for each result, while a window of 64 KB or less takes a smaller one. Nothing is lost: no match can reach
 * further back than the text's own start. Measured on Node 24 with the caches evicted before each call (medians of
 * 2,000): the 1 KB result in 75 µs against 120 µs, 3 KB in 155 µs against 208 µs, in the same bytes (one or two
 * fewer). Above 64 KB the fitted window takes the default's hash table, and the same time. In the consumer, among
 * its other work, the saving did not show in profiles (BENCHMARKS.md, figure 9).
 *
 * Why brotli, though it is the largest single item of the consumer's CPU above the raw path (0.1–0.2 ms a task
 * in place, about a quarter of it): deflate at level 9 takes about half as long there, but writes 539 bytes against
 * 492 for the 1 KB result. On results of other sizes those extra bytes would cross a write unit about once in 22,
 * which costs some 60 times the CPU saved (US$ 0.03 against 0.0005 per million tasks at the consumer's 256 MB).
 * Quality 4 saved nothing in place. Measured in BENCHMARKS.md, figure 9, "The codec's share of the ratio".
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

const QUALITY = 5;

/**
 * The smallest window brotli allows that holds `bytes` bytes: a window of `w` bits holds 2^w − 16 bytes, and `w`
 * runs from 10 to 24.
 */
export function windowBits(bytes: number): number {
  const fits = Math.ceil(Math.log2(bytes + 16));
  return Math.min(constants.BROTLI_MAX_WINDOW_BITS, Math.max(constants.BROTLI_MIN_WINDOW_BITS, fits));
}

export function compressResult(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [constants.BROTLI_PARAM_LGWIN]: windowBits(bytes.length),
    },
  });
}

export function decompressResult(bytes: Uint8Array): string {
  return brotliDecompressSync(bytes).toString('utf8');
}
