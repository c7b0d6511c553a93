/**
 * The compressed form of a result (result-storage.ts `compressed`): its JSON text, brotli at quality 5. Measured on
 * the 1 KB echo result of the bench's prose payload (bench/payloads.ts), Node 22 on this project's 2-core machines:
 * 49 % of the text, about 40–55 µs of CPU per KB to compress and 10 µs to decompress. Quality 6 gave the same
 * bytes for more CPU; quality 11 (brotli's default) 42 % at 50 times the CPU.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

const QUALITY = 5;

export function compressResult(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

export function decompressResult(bytes: Uint8Array): string {
  return brotliDecompressSync(bytes).toString('utf8');
}
