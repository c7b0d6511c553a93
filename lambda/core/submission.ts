/**
 * Turns a raw POST /tasks request into a validated submission, or throws an HttpError that names
 * the problem. Order matters: cheap checks on the raw bytes come before parsing them.
 *
 * The body is parsed exactly (json-text.ts): the payload keeps every number literal's digits, so the
 * agent receives `9007199254740993` and `1e400` as sent. The top-level fields are validated by value.
 */
import { DEFAULTS } from '../contract/environment';
import { ApiErrorCode } from './error-codes';
import { type ErrorDetail, HttpError } from './errors';
import validateTaskSchema from './generated/validate-task';
import { isRawNumber, parseExactJson, toDouble } from './json-text';
import type { Priority } from './task';

export interface SubmissionLimits {
  /** Largest accepted body, in bytes after base64 decoding. */
  readonly maxBodyBytes: number;
  /** Deepest accepted nesting of arrays and objects in the body. */
  readonly maxJsonDepth: number;
}

/**
 * The construct's defaults (lambda/contract), for tests and tools. parseSubmission has no default: the producer
 * passes the limits the construct set in its environment.
 */
export const DEFAULT_LIMITS: SubmissionLimits = {
  maxBodyBytes: DEFAULTS.maxBodyBytes,
  maxJsonDepth: DEFAULTS.maxJsonDepth,
};

export interface RawRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
}

export interface Submission {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly priority: Priority;
  readonly idempotencyKey?: string;
  readonly delaySeconds: number;
  /** Who the task is for (`tenant_id`): passed to the agent, and the message's group on AWS. */
  readonly tenantId?: string;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

function header(headers: RawRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** Accepts `application/json` and `application/*+json`, with no charset or a UTF-8 one. */
export function checkContentType(contentType: string | undefined): void {
  const [mediaType = '', ...params] = (contentType ?? '').split(';').map((part) => part.trim());
  const charset = params
    .find((p) => p.toLowerCase().startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  if (!JSON_MEDIA_TYPE.test(mediaType) || (charset !== undefined && !/^utf-?8$/i.test(charset))) {
    throw new HttpError(
      ApiErrorCode.UnsupportedMediaType,
      `Content-Type must be application/json, but ${contentType ? `'${contentType.slice(0, 100)}'` : 'none'} was sent`,
    );
  }
}

function decodeBody(request: RawRequest, limits: SubmissionLimits): string {
  const raw = request.body ?? '';
  const bytes = request.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > limits.maxBodyBytes) {
    throw new HttpError(
      ApiErrorCode.PayloadTooLarge,
      `the body is ${bytes.byteLength} bytes; the limit is ${limits.maxBodyBytes} bytes`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(ApiErrorCode.InvalidJson, 'the body is not valid UTF-8');
  }
}

/** Depth of nested arrays and objects, counted without recursion so that hostile input cannot overflow the stack. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object' || isRawNumber(node)) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Depth of nested arrays and objects in valid JSON text, read without parsing it. */
function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth -= 1;
  }
  return deepest;
}

function schemaDetails(): ErrorDetail[] {
  return (validateTaskSchema.errors ?? []).map((e) => {
    if (e.keyword === 'additionalProperties') {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      return { path: `/${field}`, message: 'is not a known field' };
    }
    if (e.keyword === 'required') {
      return {
        path: `/${(e.params as { missingProperty: string }).missingProperty}`,
        message: 'is required',
      };
    }
    return { path: e.instancePath || '/', message: e.message ?? 'is invalid' };
  });
}

/** What an `Idempotency-Key` header may hold. */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The body with its top-level values as doubles where they are exact numbers, for the schema check. */
function topLevelByValue(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || isRawNumber(body))
    return toDouble(body);
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, toDouble(value)]));
}

/** Validates a POST /tasks request. Throws HttpError 400, 413 or 415. */
export function parseSubmission(request: RawRequest, limits: SubmissionLimits): Submission {
  checkContentType(header(request.headers, 'content-type'));
  const text = decodeBody(request, limits);
  let body: unknown;
  let depth: number;
  try {
    body = parseExactJson(text);
    depth = jsonDepth(body);
  } catch (error) {
    // The exact parse revives values recursively: valid JSON nested thousands deep overflows the stack.
    if (!(error instanceof RangeError)) {
      throw new HttpError(
        ApiErrorCode.InvalidJson,
        `the body is not valid JSON: ${(error as Error).message.slice(0, 200)}`,
      );
    }
    depth = jsonTextDepth(text);
    if (depth <= limits.maxJsonDepth) throw error;
  }
  if (depth > limits.maxJsonDepth) {
    throw new HttpError(
      ApiErrorCode.ValidationError,
      `the body nests ${depth} levels deep; the limit is ${limits.maxJsonDepth}`,
      [{ path: '/', message: `nesting deeper than ${limits.maxJsonDepth} levels` }],
    );
  }
  // The schema sees top-level numbers as doubles (`"delay_seconds": 10.0` is 10); the payload keeps its text.
  const byValue = topLevelByValue(body);
  if (!validateTaskSchema(byValue)) {
    throw new HttpError(
      ApiErrorCode.ValidationError,
      'the task does not match the task schema',
      schemaDetails(),
    );
  }
  const task = byValue as {
    type: string;
    payload: Record<string, unknown>;
    priority?: Priority;
    idempotency_key?: string;
    delay_seconds?: number;
    tenant_id?: string;
  };
  const headerKey = header(request.headers, 'idempotency-key');
  // Header bytes beyond ASCII have no agreed decoding (API Gateway and node read them as Latin-1), so a
  // non-ASCII key could never match the same key in the body: refuse it, and name the body field instead.
  if (headerKey !== undefined && !PRINTABLE_ASCII.test(headerKey)) {
    throw new HttpError(ApiErrorCode.ValidationError, 'the Idempotency-Key header must be printable ASCII', [
      {
        path: 'header:Idempotency-Key',
        message: 'must be printable ASCII; send a non-ASCII key in idempotency_key',
      },
    ]);
  }
  // Counted in characters, as the schema counts the body field.
  const headerKeyLength = headerKey === undefined ? 0 : [...headerKey].length;
  if (headerKey !== undefined && (headerKeyLength < 1 || headerKeyLength > 128)) {
    throw new HttpError(
      ApiErrorCode.ValidationError,
      'the Idempotency-Key header must be 1 to 128 characters',
      [{ path: 'header:Idempotency-Key', message: 'must be 1 to 128 characters' }],
    );
  }
  if (headerKey !== undefined && task.idempotency_key !== undefined && headerKey !== task.idempotency_key) {
    throw new HttpError(
      ApiErrorCode.ValidationError,
      'the Idempotency-Key header and idempotency_key differ',
      [{ path: '/idempotency_key', message: 'differs from the Idempotency-Key header' }],
    );
  }
  const idempotencyKey = task.idempotency_key ?? headerKey;
  return {
    type: task.type,
    payload: task.payload,
    priority: task.priority ?? 'low',
    delaySeconds: task.delay_seconds ?? 0,
    ...(idempotencyKey !== undefined && { idempotencyKey }),
    ...(task.tenant_id !== undefined && { tenantId: task.tenant_id }),
  };
}
