/**
 * Where an agent's result is stored, chosen by what the write costs. DynamoDB bills a write by the started KB of
 * the larger of the item before and after it, so a 1 KB result makes the final write of a task 2 write units where
 * its claim paid 1. Three forms, cheapest first for each size:
 *
 * - `text`: the JSON text in the record (`result`), when compressing would not save a write unit;
 * - `compressed`: the same text compressed, in a binary attribute (`result_z`), when that costs fewer write units;
 * - `object`: the text in an object of the results bucket, the record keeping its key (`result_object`), when even
 *   the compressed record would cost more than an S3 PUT and a 1-unit write. It also lifts DynamoDB's 400 KB item
 *   limit: a result up to `LARGEST_MAX_RESULT_BYTES` can be stored.
 *
 * The break-even is priced (us-east-1, on demand): a PUT costs $5 per million, a write unit $0.625 per million, so
 * the object pays once the inline record takes more than 1 + 5 / 0.625 = 9 units. Reads lean the same way: a
 * strongly consistent read of an item of k × 4 KB costs k × $0.125 per million, an object GET $0.40 (with a 1-unit
 * read of the pointer record).
 * @see https://aws.amazon.com/dynamodb/pricing/on-demand/
 * @see https://aws.amazon.com/s3/pricing/
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */

/** DynamoDB's write unit: 1 KB of item, per started KB. */
export const WRITE_UNIT_BYTES = 1024;

/** US$ per million, us-east-1: an S3 PUT, and a DynamoDB on-demand write unit. */
export const S3_PUT_USD_PER_MILLION = 5;
export const WRITE_UNIT_USD_PER_MILLION = 0.625;

/**
 * The most write units an inline result's record may take: beyond it, an S3 PUT plus a 1-unit write of the
 * pointer costs less (1 + 5 / 0.625 = 9 units, a record of 9 KB).
 */
export const MAX_INLINE_RESULT_WRITE_UNITS =
  1 + Math.ceil(S3_PUT_USD_PER_MILLION / WRITE_UNIT_USD_PER_MILLION);

/** The attribute of each inline form: its name counts in the item's size. */
export const RESULT_TEXT_ATTRIBUTE = 'result';
export const RESULT_COMPRESSED_ATTRIBUTE = 'result_z';

/**
 * What a successful write adds to the record as the claim left it, besides the result: `finished_at` (an ISO
 * time) and `expires_at` (epoch seconds, 10 digits). An upper bound, as the rule needs: it leaves out the
 * `lease_until` the write removes.
 */
export const SETTLED_ADDED_BYTES = 'finished_at'.length + 24 + 'expires_at'.length + 6;

export type ResultForm = 'text' | 'compressed' | 'object';

/** Write units of an item of `bytes` (at least 1). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/** Everything the rule weighs, in bytes. */
export interface ResultSizes {
  /** The record as it will be written, without its result (the claimed record plus `SETTLED_ADDED_BYTES`). */
  readonly otherBytes: number;
  /** The result's JSON text, UTF-8. */
  readonly textBytes: number;
  /** The compressed text, once compressed: undefined before (see {@link mayCompress}). */
  readonly compressedBytes?: number;
  /** Whether a results bucket can take the result; without one every result is stored inline. */
  readonly objectStore: boolean;
}

/**
 * With a results bucket, a text more than this many times the inline limit goes to the bucket uncompressed: real
 * results rarely compress 32-fold, and compressing hundreds of KB only to store them in the bucket anyway would
 * spend milliseconds of the function for nothing.
 */
export const COMPRESSION_RATIO_CAP = 32;

const textUnits = (s: ResultSizes) => writeUnits(s.otherBytes + RESULT_TEXT_ATTRIBUTE.length + s.textBytes);

/**
 * Whether compressing could change the form: the text form takes more than one write unit (below that, nothing is
 * compressed, so a small result costs no CPU and stays readable in the table), and, with a bucket, the text is not
 * so large that only the bucket can take it (`COMPRESSION_RATIO_CAP`).
 */
export function mayCompress(sizes: Omit<ResultSizes, 'compressedBytes'>): boolean {
  if (
    sizes.objectStore &&
    sizes.textBytes > MAX_INLINE_RESULT_WRITE_UNITS * WRITE_UNIT_BYTES * COMPRESSION_RATIO_CAP
  )
    return false;
  return textUnits(sizes) > 1;
}

const compressedUnits = (s: Omit<ResultSizes, 'compressedBytes'>, compressedBytes: number) =>
  writeUnits(s.otherBytes + RESULT_COMPRESSED_ATTRIBUTE.length + compressedBytes);

/**
 * Whether a compressed result of `compressedBytes` already takes the fewest write units any compressed result
 * could: those of the record with a result of one byte. A denser codec could then save nothing (result-codec.ts).
 */
export function compressedAtFloor(
  sizes: Omit<ResultSizes, 'compressedBytes'>,
  compressedBytes: number,
): boolean {
  return compressedUnits(sizes, compressedBytes) <= compressedUnits(sizes, 1);
}

/**
 * The form a result is stored in: the compressed form only when it takes fewer write units than the text (never
 * for the sake of bytes alone); the bucket when the cheaper inline form takes more than
 * `MAX_INLINE_RESULT_WRITE_UNITS`.
 */
export function resultForm(sizes: ResultSizes): ResultForm {
  const text = textUnits(sizes);
  const compressed =
    sizes.compressedBytes === undefined
      ? Number.POSITIVE_INFINITY
      : compressedUnits(sizes, sizes.compressedBytes);
  const inline = Math.min(text, compressed);
  if (sizes.objectStore && inline > MAX_INLINE_RESULT_WRITE_UNITS) return 'object';
  return compressed < text ? 'compressed' : 'text';
}

/** The key of a result's object: under its task, with a fresh id per write (two writers never share a key). */
export function resultObjectKey(taskId: string, attempt: number, writeId: string): string {
  return `results/${taskId}/${attempt}-${writeId}.json`;
}

/** The longest key {@link resultObjectKey} makes: a task id and a write id (UUIDs) and an attempt (up to 21 digits). */
export const RESULT_OBJECT_KEY_BYTES = 'results/'.length + 36 + 1 + 21 + 1 + 36 + '.json'.length;
