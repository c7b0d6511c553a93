/**
 * JSON exactly as sent. A task's payload and an agent's result are JSON *text*: parsing it into
 * JavaScript doubles and serialising it again changes numbers (`9007199254740993` becomes
 * `9007199254740992`, `1e400` becomes `null`, `1e20` grows from 4 to 21 bytes). So every number
 * literal that a double would not reproduce is kept as its own text (`JSON.rawJSON`, Node 21+), and
 * `JSON.stringify` writes it back digit for digit.
 *
 * Also the one home of SQS's character rule: a message body and a String attribute value may hold only
 * `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF`.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */

interface RawJson {
  readonly rawJSON: string;
}

/** `JSON.rawJSON` and `JSON.isRawJSON` (ES2025 JSON.parse source text access), typed here: TS's lib lacks them. */
const NativeJson = JSON as unknown as {
  rawJSON(text: string): RawJson;
  isRawJSON(value: unknown): value is RawJson;
  parse(
    text: string,
    reviver: (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown,
  ): unknown;
};

/** Whether `value` is a number kept as its literal text by {@link parseExactJson}. */
export function isRawNumber(value: unknown): value is RawJson {
  return NativeJson.isRawJSON(value);
}

/**
 * Whether a parsed JSON value is an object (not null, an array, or a number `parseExactJson` kept as raw text,
 * which is an object to JavaScript).
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawNumber(value);
}

/**
 * A JSON string token (escapes included), or a number literal outside strings (group 1): one pass over the text,
 * each string skipped whole, with no copy of the text without its strings. The string alternative is written as
 * runs of plain characters between escapes rather than one alternation per character. On a 1.2 KB task envelope,
 * 8.2 µs of CPU against 11.7 µs for the earlier cut-then-match (Node 22, medians of 15 rounds).
 */
const TOKENS = /"[^"\\]*(?:\\.[^"\\]*)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** Whether every number literal of `text` is what a double writes back (`JSON.stringify`), digit for digit. */
function numbersRoundTrip(text: string): boolean {
  TOKENS.lastIndex = 0;
  for (let token = TOKENS.exec(text); token !== null; token = TOKENS.exec(text)) {
    const literal = token[1];
    if (literal !== undefined && JSON.stringify(Number(literal)) !== literal) return false;
  }
  return true;
}

/**
 * Parses JSON text keeping every number literal's digits: a literal that a double reproduces stays a
 * number; any other (`9007199254740993`, `1e400`, `1.50`, `-0`) becomes a raw value that
 * `JSON.stringify` writes back unchanged. Throws SyntaxError as JSON.parse does.
 *
 * Text whose every literal a double reproduces (most payloads and results) is parsed by plain `JSON.parse`,
 * which then gives the same value: finding the literals outside strings costs a fraction of the reviver that
 * checks each value, which took about four times the parse (BENCHMARKS.md, figure 9).
 */
export function parseExactJson(text: string): unknown {
  if (numbersRoundTrip(text)) return JSON.parse(text);
  return NativeJson.parse(text, (_key, value, context) => {
    if (typeof value !== 'number' || context?.source === undefined) return value;
    return JSON.stringify(value) === context.source ? value : NativeJson.rawJSON(context.source);
  });
}

/** A raw number's value as a double, for the few places that need a number (schema checks of top-level fields). */
export function toDouble(value: unknown): unknown {
  return isRawNumber(value) ? Number(value.rawJSON) : value;
}

const NUMBER_LITERAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The canonical text of a JSON number: the same exact decimal value always gives the same text
 * (`1`, `1.0`, `10e-1` and `1E0` all give `1`), and different decimal values never do, however many
 * digits they have.
 */
export function canonicalNumber(literal: string): string {
  const m = NUMBER_LITERAL.exec(literal);
  if (!m) return literal;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = `${int}${frac}`.replace(/^0+/, '');
  let exponent = BigInt(exp) - BigInt(frac.length);
  if (digits === '') return '0';
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  return `${sign}${digits}${exponent === 0n ? '' : `e${exponent}`}`;
}

/**
 * The text a number takes in {@link canonicalJson}: the double's own JSON text (`JSON.stringify`) when that
 * text means exactly the literal's decimal value, else the literal's exact canonical form. So ordinary numbers
 * (`10`, `1.5`, `0.1`, `1e+21`) keep the text request hashes have always used, and a literal that a double
 * would change (`9007199254740993`, `1e400`, `0.10000000000000000001`) keeps its value. Injective: every output
 * is a literal denoting its value exactly, so different values never share a text.
 */
function canonicalNumberText(literal: string): string {
  const exact = canonicalNumber(literal);
  const double = Number(literal);
  if (!Number.isFinite(double)) return exact;
  const shortest = JSON.stringify(double);
  return canonicalNumber(shortest) === exact ? shortest : exact;
}

/**
 * JSON with object keys sorted and no insignificant whitespace, in which two texts of one JSON value give the
 * same text, whoever serialised them, and values that differ past double precision never do. For values a
 * double holds exactly (what `JSON.parse` reads back unchanged) it is the same text as sorted-keys
 * `JSON.stringify`, so request hashes of such bodies are the same as before exact numbers.
 */
export function canonicalJson(value: unknown): string {
  if (isRawNumber(value)) return canonicalNumberText(value.rawJSON);
  if (typeof value === 'number') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** Every character SQS refuses, including a lone surrogate half (the `u` flag matches those one by one). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: SQS's character rule is written in control characters.
const SQS_INVALID = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

const unicodeEscape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Serialises a value as JSON that SQS accepts as a message body: `JSON.stringify` already escapes
 * control characters and lone surrogates, but leaves U+FFFE and U+FFFF as they are. Outside strings
 * JSON text is ASCII, so every character escaped here is inside a string, and `\uXXXX` is the same
 * JSON value.
 */
export function toSqsJson(value: unknown): string {
  return JSON.stringify(value).replace(SQS_INVALID, unicodeEscape);
}

/** Whether SQS accepts `text` as a body or a String attribute value. */
export function isSqsText(text: string): boolean {
  SQS_INVALID.lastIndex = 0;
  const bad = SQS_INVALID.test(text);
  SQS_INVALID.lastIndex = 0;
  return !bad;
}

/**
 * Cuts `text` to at most `maxChars` code points and `maxBytes` UTF-8 bytes (never between the halves of a
 * surrogate pair) and makes it a valid SQS String attribute value: each refused character is written as a
 * visible `\uXXXX`, and an empty value becomes `-` (SQS refuses empty attribute values).
 */
export function sqsAttributeText(
  text: string,
  maxChars: number,
  maxBytes = Number.POSITIVE_INFINITY,
): string {
  let cut = '';
  let bytes = 0;
  let chars = 0;
  for (const ch of text.replace(SQS_INVALID, unicodeEscape)) {
    const size = Buffer.byteLength(ch);
    if (chars + 1 > maxChars || bytes + size > maxBytes) break;
    cut += ch;
    bytes += size;
    chars += 1;
  }
  return cut === '' ? '-' : cut;
}
