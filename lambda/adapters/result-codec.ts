/**
 * The compressed form of a result (result-storage.ts `compressed`): its JSON text deflated, unless brotli at quality
 * 5 could save a write unit. The caller says which sizes need nothing denser (`enough`): the store, those that
 * already take the fewest write units a compressed result could. Otherwise brotli runs too, and the smaller is kept.
 *
 * Why two codecs. Brotli writes the fewest bytes: 485–499 for the 1 KB echo results of the bench's prose payload
 * (bench/payloads.ts), against 531–546 deflated (marker included). Deflate costs less: measured in the consumer,
 * alternating builds on Node 24 (figure 9's driver, batches of 1), compressing with brotli took about 0.09 of the
 * handler's CPU ratio to the raw path and deflate about half of that (BENCHMARKS.md, figure 9, "The codec's share of
 * the ratio"). A write unit is worth far more than the CPU (US$ 0.625 per million tasks against 0.0005 at the
 * consumer's 256 MB), so brotli still runs whenever its bytes could matter: a record never takes a unit more than
 * with brotli alone.
 *
 * The two are told apart by the first byte. A deflated result starts with {@link DEFLATE_MARKER}, 0x11, which no
 * standard brotli stream starts with (RFC 7932, section 9.1: the 7-bit window code 0010001 is invalid; only the
 * large-window extension, which this codec never asks for, uses it). So results stored with brotli alone, before
 * deflate came in, read back as they were.
 *
 * Each codec's window is fitted to the text: no match can reach further back than the text's own start, so a larger
 * window loses nothing and only costs the set-up of its tables (brotli's default of 4 MB makes quality 5 set up a
 * hash table of about 1 MB for each result; a window of 64 KB or less takes a smaller one). Deflate's hash table is
 * sized to its window as well (`memLevel`): zlib's default of 64 KB of hash heads is cleared for every result.
 */
import {
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  deflateRawSync,
  inflateRawSync,
} from 'node:zlib';

const BROTLI_QUALITY = 5;

/** The first byte of a deflated result, never the first of a brotli stream (see the module's comment). */
export const DEFLATE_MARKER = 0x11;

/**
 * The smallest window brotli allows that holds `bytes` bytes: a window of `w` bits holds 2^w − 16 bytes, and `w`
 * runs from 10 to 24.
 */
export function windowBits(bytes: number): number {
  const fits = Math.ceil(Math.log2(bytes + 16));
  return Math.min(constants.BROTLI_MAX_WINDOW_BITS, Math.max(constants.BROTLI_MIN_WINDOW_BITS, fits));
}

/**
 * The smallest window deflate allows that holds `bytes` bytes: a window of `w` bits reaches 2^w − 262 bytes back
 * (zlib keeps 262 bytes of look-ahead), and raw deflate takes `w` from 9 to 15.
 */
export function deflateWindowBits(bytes: number): number {
  const fits = Math.ceil(Math.log2(bytes + 262));
  return Math.min(constants.Z_MAX_WINDOWBITS, Math.max(constants.Z_MIN_WINDOWBITS + 1, fits));
}

function deflated(bytes: Buffer): Uint8Array {
  const windowBits = deflateWindowBits(bytes.length);
  const body = deflateRawSync(bytes, {
    level: constants.Z_BEST_COMPRESSION,
    windowBits,
    // Hash heads of 2^(memLevel + 7): as many as the window has positions.
    memLevel: Math.max(constants.Z_MIN_MEMLEVEL, windowBits - 7),
  });
  const out = new Uint8Array(body.length + 1);
  out[0] = DEFLATE_MARKER;
  out.set(body, 1);
  return out;
}

function brotli(bytes: Buffer): Uint8Array {
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [constants.BROTLI_PARAM_LGWIN]: windowBits(bytes.length),
    },
  });
}

/**
 * The largest text deflated first. A write unit's room is 1 KB, which a larger text would have to deflate more
 * than 16-fold to fit: it hardly ever does, and then both codecs would run (a 50 KB result of the bench's prose
 * took 4.0 ms for both against 1.8 ms for brotli alone, on Node 24).
 */
export const DEFLATE_FIRST_MAX_BYTES = 16 * 1024;

/**
 * `text` compressed: deflated if `enough` takes the deflated size, else the smaller of that and brotli's. A text
 * above {@link DEFLATE_FIRST_MAX_BYTES} goes to brotli alone.
 * @param enough whether a compressed result of so many bytes needs no denser codec; by default none is
 *   enough, and the smaller of the two is kept
 */
export function compressResult(text: string, enough: (bytes: number) => boolean = () => false): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > DEFLATE_FIRST_MAX_BYTES) return brotli(bytes);
  const fast = deflated(bytes);
  if (enough(fast.byteLength)) return fast;
  const dense = brotli(bytes);
  return dense.byteLength < fast.byteLength ? dense : fast;
}

export function decompressResult(bytes: Uint8Array): string {
  const text = bytes[0] === DEFLATE_MARKER ? inflateRawSync(bytes.subarray(1)) : brotliDecompressSync(bytes);
  return text.toString('utf8');
}
