/**
 * Checks HTTP responses against openapi.json: that the operation (path template and method) declares the status,
 * that the declared headers are there and match their schemas, and that the body has a declared media type and
 * matches its schema (ajv, JSON Schema 2020-12, the dialect of OpenAPI 3.1).
 *
 * The integration project's setup (openapi-setup.ts) runs every response of the task API through it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';

type Json = Record<string, unknown>;

interface HeaderObject {
  readonly required?: boolean;
  readonly schema?: Json;
}
interface ResponseObject {
  readonly headers?: Record<string, HeaderObject>;
  readonly content?: Record<string, { readonly schema?: Json }>;
}
interface Operation {
  readonly operationId?: string;
  readonly responses: Record<string, ResponseObject>;
}

/** A response as the checker sees it: enough of a fetch `Response`, with its body already read. */
export interface CheckedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const DOCUMENT_ID = 'https://agent-task-queue.dev/openapi.json';

/** `/tasks/{id}` → a regular expression of one path segment per parameter. */
function templatePattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) =>
      /^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}

/** A JSON pointer token (RFC 6901). */
const pointer = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');

/** An RFC 3339 date-time, as `format: date-time` means (ajv has no formats of its own). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

export class OpenApiChecker {
  private readonly ajv: Ajv2020;
  private readonly templates: ReadonlyArray<{ template: string; pattern: RegExp; literal: number }>;
  private readonly validators = new Map<string, ValidateFunction>();

  public constructor(private readonly document: Json) {
    // strict: false, because the document is added whole: its OpenAPI keywords (paths, info…) are not JSON Schema.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    this.ajv.addFormat(
      'date-time',
      (value: string) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
    );
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    // Literal segments beat parameters, as API Gateway matches routes.
    this.templates = Object.keys(this.paths())
      .map((template) => ({
        template,
        pattern: templatePattern(template),
        literal: template.split('/').filter((s) => !s.startsWith('{')).length,
      }))
      .sort((a, b) => b.literal - a.literal);
  }

  /** The checker of the repository's openapi.json. */
  public static fromFile(file = path.join(__dirname, '..', '..', '..', 'openapi.json')): OpenApiChecker {
    return new OpenApiChecker(JSON.parse(readFileSync(file, 'utf8')) as Json);
  }

  private paths(): Record<string, Record<string, unknown>> {
    return this.document.paths as Record<string, Record<string, unknown>>;
  }

  /** The operation a request is, by its method and URL path; undefined when the document has none. */
  public operation(
    method: string,
    urlPath: string,
  ): { readonly template: string; readonly method: string; readonly operation: Operation } | undefined {
    const lower = method.toLowerCase() as (typeof METHODS)[number];
    if (!METHODS.includes(lower)) return undefined;
    const found = this.templates.find((t) => t.pattern.test(urlPath));
    const operation = found && (this.paths()[found.template]![lower] as Operation | undefined);
    return operation && found ? { template: found.template, method: lower, operation } : undefined;
  }

  /**
   * What is wrong with `response` to `method urlPath` by the document: an empty list when nothing is, and when the
   * request is no operation of the document (nothing to check it against).
   */
  public check(method: string, urlPath: string, response: CheckedResponse): string[] {
    const found = this.operation(method, urlPath);
    if (!found) return [];
    const where = `${method.toUpperCase()} ${urlPath} (${found.template}) → ${response.status}`;
    const status = String(response.status);
    const declared =
      found.operation.responses[status] ??
      found.operation.responses[`${status[0]}XX`] ??
      found.operation.responses.default;
    const key = found.operation.responses[status] ? status : `${status[0]}XX`;
    if (!declared) {
      return [
        `${where}: status ${status} is not declared (declared: ${Object.keys(found.operation.responses).join(', ')}); body ${response.body.slice(0, 300)}`,
      ];
    }
    const base = `#/paths/${pointer(found.template)}/${found.method}/responses/${key}`;
    return [
      ...this.checkHeaders(where, base, declared, response.headers),
      ...this.checkBody(where, base, declared, response),
    ];
  }

  private checkHeaders(where: string, base: string, declared: ResponseObject, headers: Headers): string[] {
    return Object.entries(declared.headers ?? {}).flatMap(([name, header]) => {
      const value = headers.get(name);
      if (value === null) return header.required ? [`${where}: header ${name} is missing`] : [];
      if (!header.schema) return [];
      const validate = this.validator(`${base}/headers/${pointer(name)}/schema`);
      return validate(value)
        ? []
        : [`${where}: header ${name}: ${value}: ${this.ajv.errorsText(validate.errors)}`];
    });
  }

  private checkBody(
    where: string,
    base: string,
    declared: ResponseObject,
    response: CheckedResponse,
  ): string[] {
    const content = declared.content ?? {};
    if (Object.keys(content).length === 0)
      return response.body === '' ? [] : [`${where}: a body was sent where none is declared`];
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const entry = Object.keys(content).find(
      (declaredType) =>
        declaredType === mediaType ||
        declaredType === '*/*' ||
        (declaredType.endsWith('/*') && mediaType.startsWith(declaredType.slice(0, -1))),
    );
    if (!entry)
      return [`${where}: content type '${mediaType}' is not declared (${Object.keys(content).join(', ')})`];
    if (!content[entry]!.schema) return [];
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [`${where}: the body is not JSON: ${response.body.slice(0, 200)}`];
    }
    const validate = this.validator(`${base}/content/${pointer(entry)}/schema`);
    if (validate(body)) return [];
    return [
      `${where}: the body does not match the document: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}; body ${response.body.slice(0, 500)}`,
    ];
  }

  private validator(fragment: string): ValidateFunction {
    let validate = this.validators.get(fragment);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}${fragment}` });
      this.validators.set(fragment, validate);
    }
    return validate;
  }
}

/** Reads a fetch response's body without consuming it, and checks it. */
export async function checkFetchResponse(
  checker: OpenApiChecker,
  method: string,
  url: string | URL,
  response: Response,
): Promise<string[]> {
  const urlPath = new URL(url).pathname;
  if (!checker.operation(method, urlPath)) return [];
  const body = await response.clone().text();
  return checker.check(method, urlPath, { status: response.status, headers: response.headers, body });
}
