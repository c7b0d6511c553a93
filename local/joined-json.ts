/**
 * JSON held in a template value that may embed intrinsics: the CDK writes a JSON string that contains tokens (a
 * function's ARN, say) as an `Fn::Join` of literal strings and intrinsics. `readJoinedJson` parses such a value
 * with each intrinsic kept as an opaque placeholder; `toTemplate` writes a changed value back as the same kind
 * of `Fn::Join`, each intrinsic where its placeholder now is (or gone, if its placeholder was dropped).
 *
 * An intrinsic inside a JSON string (`"functionArn":"<intrinsic>"`) stands for text; one outside a string
 * (`"timeoutSeconds":<intrinsic>`) stands for a whole JSON value. Both are kept.
 */

/** The parsed JSON, with intrinsics as placeholder strings, and the way back to a template value. */
export interface JoinedJson {
  readonly value: unknown;
  /** `value` (or a changed copy) as a template value: a string when no intrinsic is left, else an `Fn::Join`. */
  toTemplate(value: unknown): unknown;
  /** The intrinsic a placeholder string stands for, if `text` is exactly one placeholder. */
  intrinsicOf(text: string): unknown;
  /** A string of `value` with each placeholder in it written by `show` (e.g. for a message). */
  render(text: string, show: (intrinsic: unknown) => string): string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Placeholders: `@@taskq:N@@` in a string, `"@@taskq:N:value@@"` for a whole JSON value. */
const PLACEHOLDER = /"@@taskq:(\d+):value@@"|@@taskq:(\d+)@@/g;

/** The parts of a template string value: `Fn::Join` parts, flattened, or the string itself. */
function joinParts(value: unknown): unknown[] | undefined {
  if (typeof value === 'string') return [value];
  if (!isObject(value) || !Array.isArray(value['Fn::Join'])) return undefined;
  const [separator, parts] = value['Fn::Join'] as [unknown, unknown];
  if (typeof separator !== 'string' || !Array.isArray(parts)) return undefined;
  const out: unknown[] = [];
  parts.forEach((part, i) => {
    if (i > 0 && separator !== '') out.push(separator);
    // A nested join with no separator is the same text as its parts in place.
    const inner = isObject(part) ? joinParts(part) : undefined;
    if (inner && (part as { 'Fn::Join': [string] })['Fn::Join'][0] === '') out.push(...inner);
    else out.push(part);
  });
  return out;
}

/** Whether the text ends inside a JSON string: counts the unescaped quotes. */
function endsInString(text: string, inString: boolean): boolean {
  let inside = inString;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inside && c === '\\') i++;
    else if (c === '"') inside = !inside;
  }
  return inside;
}

/**
 * Parses a template value holding JSON: a plain string, or an `Fn::Join` of strings and intrinsics. Returns
 * `undefined` for a value that is neither (a lone `Ref`, say); throws when the text is not JSON.
 */
export function readJoinedJson(templateValue: unknown): JoinedJson | undefined {
  const parts = joinParts(templateValue);
  if (!parts) return undefined;
  const literal = parts.filter((p): p is string => typeof p === 'string').join('');
  if (literal.includes('@@taskq:'))
    throw new Error('the JSON holds the text "@@taskq:", which the rewrite uses');
  const intrinsics: unknown[] = [];
  let text = '';
  let inString = false;
  for (const part of parts) {
    if (typeof part === 'string') {
      text += part;
      inString = endsInString(part, inString);
      continue;
    }
    const n = intrinsics.push(part) - 1;
    text += inString ? `@@taskq:${n}@@` : `"@@taskq:${n}:value@@"`;
  }
  const value = JSON.parse(text) as unknown;
  return {
    value,
    intrinsicOf(placeholder) {
      const match = /^@@taskq:(\d+)(:value)?@@$/.exec(placeholder);
      return match ? intrinsics[Number(match[1])] : undefined;
    },
    render(text, show) {
      return text.replace(PLACEHOLDER, (_, value?: string, inString?: string) =>
        show(intrinsics[Number(value ?? inString)]),
      );
    },
    toTemplate(changed) {
      const json = JSON.stringify(changed);
      const out: unknown[] = [];
      let last = 0;
      for (const match of json.matchAll(PLACEHOLDER)) {
        if (match.index > last) out.push(json.slice(last, match.index));
        out.push(intrinsics[Number(match[1] ?? match[2])]);
        last = match.index + match[0].length;
      }
      if (last < json.length) out.push(json.slice(last));
      if (out.every((p) => typeof p === 'string')) return out.join('');
      return { 'Fn::Join': ['', out] };
    },
  };
}
