/**
 * Lambda's event filtering, as an event source mapping applies its `FilterCriteria` before batching: a record is
 * handed to the function when any of the filters' patterns matches it; the others are dropped (and count as
 * processed, as on AWS). The subset of the pattern syntax implemented here is the one an event source mapping on a
 * table stream needs, and each rule follows Lambda's page:
 *
 * - a key of the pattern names a key of the record; an object value goes one level down (nested keys), an array
 *   value lists the matchers of a leaf, any one of which must match (OR); every key must match (AND);
 * - matchers: a string, number, boolean or null literal (exact, and a number only matches a number), and the
 *   objects `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a literal, a list of them, or `{prefix}`),
 *   `numeric` (`=`, `<`, `<=`, `>`, `>=`, up to two comparisons) and `exists`; `$or` at any level;
 * - a record value that is an array matches when one of its elements does.
 *
 * Anything else in a pattern throws a {@link FilterPatternError} when the mapping is read, instead of matching
 * nothing or everything in silence.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 */

export class FilterPatternError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'FilterPatternError';
  }
}

type Literal = string | number | boolean | null;

type Matcher =
  | { readonly kind: 'literal'; readonly value: Literal }
  | { readonly kind: 'prefix' | 'suffix' | 'equals-ignore-case'; readonly value: string }
  | { readonly kind: 'anything-but'; readonly values: readonly Literal[] }
  | { readonly kind: 'anything-but-prefix'; readonly value: string }
  | { readonly kind: 'numeric'; readonly comparisons: ReadonlyArray<readonly [string, number]> }
  | { readonly kind: 'exists'; readonly value: boolean };

/** A compiled pattern: per key, either matchers (a leaf) or a nested pattern; plus `$or` alternatives. */
interface Pattern {
  readonly leaves: ReadonlyMap<string, readonly Matcher[]>;
  readonly nested: ReadonlyMap<string, Pattern>;
  readonly or: readonly Pattern[];
}

const isLiteral = (v: unknown): v is Literal =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

function compileMatcher(raw: unknown, where: string): Matcher {
  if (isLiteral(raw)) return { kind: 'literal', value: raw };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new FilterPatternError(
      `${where}: a matcher must be a literal or an object, not ${JSON.stringify(raw)}`,
    );
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length !== 1)
    throw new FilterPatternError(
      `${where}: a matcher object has exactly one operator, not ${JSON.stringify(raw)}`,
    );
  const [operator, operand] = entries[0]!;
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw new FilterPatternError(`${where}: '${operator}' takes a string`);
      return { kind: operator, value: operand };
    case 'anything-but': {
      if (isLiteral(operand)) return { kind: 'anything-but', values: [operand] };
      if (Array.isArray(operand) && operand.every(isLiteral))
        return { kind: 'anything-but', values: operand };
      const prefix = (operand as { prefix?: unknown } | null)?.prefix;
      if (typeof prefix === 'string' && Object.keys(operand as object).length === 1)
        return { kind: 'anything-but-prefix', value: prefix };
      throw new FilterPatternError(
        `${where}: 'anything-but' takes a literal, a list of literals or {prefix}`,
      );
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4)
        throw new FilterPatternError(`${where}: 'numeric' takes one or two [operator, number] pairs`);
      const comparisons: Array<readonly [string, number]> = [];
      for (let i = 0; i < operand.length; i += 2) {
        const [op, n] = [operand[i], operand[i + 1]];
        if (typeof op !== 'string' || !NUMERIC_OPERATORS.has(op) || typeof n !== 'number')
          throw new FilterPatternError(
            `${where}: 'numeric' has an invalid comparison ${JSON.stringify([op, n])}`,
          );
        comparisons.push([op, n]);
      }
      return { kind: 'numeric', comparisons };
    }
    case 'exists':
      if (typeof operand !== 'boolean')
        throw new FilterPatternError(`${where}: 'exists' takes true or false`);
      return { kind: 'exists', value: operand };
    default:
      throw new FilterPatternError(`${where}: the operator '${operator}' is not emulated locally`);
  }
}

function compile(raw: unknown, where: string): Pattern {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new FilterPatternError(`${where}: a pattern is a JSON object`);
  const leaves = new Map<string, Matcher[]>();
  const nested = new Map<string, Pattern>();
  let or: Pattern[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const at = `${where}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2)
        throw new FilterPatternError(`${at}: '$or' takes a list of two or more patterns`);
      or = value.map((p, i) => compile(p, `${at}[${i}]`));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new FilterPatternError(`${at}: a list of matchers cannot be empty`);
      leaves.set(
        key,
        value.map((m, i) => compileMatcher(m, `${at}[${i}]`)),
      );
    } else if (typeof value === 'object' && value !== null) {
      nested.set(key, compile(value, at));
    } else {
      throw new FilterPatternError(`${at}: a value of a pattern is an object or a list of matchers`);
    }
  }
  return { leaves, nested, or };
}

function compare(value: number, [op, n]: readonly [string, number]): boolean {
  switch (op) {
    case '=':
      return value === n;
    case '<':
      return value < n;
    case '<=':
      return value <= n;
    case '>':
      return value > n;
    default:
      return value >= n;
  }
}

/** Whether one present, non-array value matches one matcher (`exists` is decided by the caller). */
function matchesValue(matcher: Matcher, value: unknown): boolean {
  switch (matcher.kind) {
    case 'literal':
      return value === matcher.value;
    case 'prefix':
      return typeof value === 'string' && value.startsWith(matcher.value);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(matcher.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === matcher.value.toLowerCase();
    case 'anything-but':
      return isLiteral(value) && !matcher.values.includes(value);
    case 'anything-but-prefix':
      return typeof value === 'string' && !value.startsWith(matcher.value);
    case 'numeric':
      return typeof value === 'number' && matcher.comparisons.every((c) => compare(value, c));
    case 'exists':
      return matcher.value;
  }
}

function matchesLeaf(matchers: readonly Matcher[], present: boolean, value: unknown): boolean {
  return matchers.some((matcher) => {
    if (matcher.kind === 'exists') return matcher.value === present;
    if (!present) return false;
    return Array.isArray(value) ? value.some((v) => matchesValue(matcher, v)) : matchesValue(matcher, value);
  });
}

function matches(pattern: Pattern, record: unknown): boolean {
  const object = typeof record === 'object' && record !== null ? (record as Record<string, unknown>) : {};
  for (const [key, matchers] of pattern.leaves) {
    if (!matchesLeaf(matchers, key in object && object[key] !== undefined, object[key])) return false;
  }
  for (const [key, inner] of pattern.nested) {
    const value = object[key];
    // A missing parent: only `exists: false` below it can match, as every key under it is missing too.
    if (value === undefined) {
      if (!matches(inner, {})) return false;
      continue;
    }
    if (typeof value !== 'object' || value === null) return false;
    const ok = Array.isArray(value) ? value.some((v) => matches(inner, v)) : matches(inner, value);
    if (!ok) return false;
  }
  return pattern.or.length === 0 || pattern.or.some((p) => matches(p, record));
}

/** A mapping's filters: `accepts(record)` is true when any pattern matches; with no filters, every record. */
export interface RecordFilter {
  accepts(record: unknown): boolean;
}

/**
 * Compiles `FilterCriteria` (`{ Filters: [{ Pattern: "<JSON text>" }] }`, at most 5 filters on Lambda) as the
 * template gives it. Throws FilterPatternError for a pattern that is not JSON or uses syntax not emulated here.
 */
export function compileFilterCriteria(criteria: unknown, where = 'FilterCriteria'): RecordFilter {
  const filters = (criteria as { Filters?: unknown } | undefined)?.Filters;
  if (filters === undefined) return { accepts: () => true };
  if (!Array.isArray(filters)) throw new FilterPatternError(`${where}.Filters must be a list`);
  const patterns = filters.map((filter, i) => {
    const text = (filter as { Pattern?: unknown } | null)?.Pattern;
    if (typeof text !== 'string')
      throw new FilterPatternError(`${where}.Filters[${i}].Pattern must be JSON text`);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new FilterPatternError(`${where}.Filters[${i}].Pattern is not JSON: ${text}`);
    }
    return compile(raw, `${where}.Filters[${i}].Pattern`);
  });
  if (patterns.length === 0) return { accepts: () => true };
  return { accepts: (record) => patterns.some((p) => matches(p, record)) };
}
