/** Reads `--payload`: inline JSON, or `@path` to a file of JSON. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isRawNumber, parseExactJson } from '../lambda/core/json-text';
import { UsageError } from './errors';

/**
 * The contract requires `payload` to be a JSON object; anything else is refused before any request. Parsed
 * exactly (json-text.ts), so `9007199254740993` is sent as written.
 */
export function readPayload(value: string, cwd: string): Record<string, unknown> {
  let text = value;
  let source = '--payload';
  if (value.startsWith('@')) {
    const path = resolve(cwd, value.slice(1));
    source = `--payload file ${path}`;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = parseExactJson(text);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || isRawNumber(parsed))
    throw new UsageError(
      `${source} must be a JSON object, but it is ${Array.isArray(parsed) ? 'an array' : String(parsed === null ? 'null' : typeof parsed)}`,
    );
  return parsed as Record<string, unknown>;
}
