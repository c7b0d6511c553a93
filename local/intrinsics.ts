/**
 * Resolves CloudFormation intrinsic functions against local values, so that the synthesized template
 * can be read as it would be after a deploy: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split`, `Fn::If` (with the template's Conditions), `Fn::Base64`, `Fn::FindInMap` and pseudo parameters.
 */
import type { Template } from './template';

/** What a resource resolves to: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface LocalResource {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface IntrinsicContext {
  readonly template: Template;
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  /** Local values of the template's resources, by logical id. */
  readonly resources: ReadonlyMap<string, LocalResource>;
}

/** An intrinsic that has no local meaning (e.g. `Fn::ImportValue`), or a reference to nothing. */
export class UnresolvableError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

/** Marks a value that `AWS::NoValue` removed. */
const NO_VALUE = Symbol('AWS::NoValue');

function pseudo(name: string, ctx: IntrinsicContext): string | typeof NO_VALUE | undefined {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/local`;
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      return undefined;
  }
}

function ref(name: string, ctx: IntrinsicContext): unknown {
  const p = pseudo(name, ctx);
  if (p !== undefined) return p;
  const resource = ctx.resources.get(name);
  if (resource) return resource.ref;
  const parameter = ctx.template.Parameters?.[name];
  if (parameter && 'Default' in parameter) return parameter.Default;
  throw new UnresolvableError(`Ref ${name}: no such resource or parameter with a default`);
}

function getAtt(logicalId: string, attribute: string, ctx: IntrinsicContext): string {
  const resource = ctx.resources.get(logicalId);
  if (!resource) throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute}: no such resource`);
  const value = resource.attributes[attribute];
  if (value === undefined) {
    throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute}: the attribute has no local value`);
  }
  return value;
}

function sub(text: string, vars: Record<string, unknown>, ctx: IntrinsicContext): string {
  return text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in vars) return String(vars[name]);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), ctx);
    const value = ref(name, ctx);
    if (value === NO_VALUE)
      throw new UnresolvableError(`Fn::Sub ${whole}: AWS::NoValue cannot be substituted`);
    return String(value);
  });
}

function condition(name: string, ctx: IntrinsicContext): boolean {
  const definition = ctx.template.Conditions?.[name];
  if (definition === undefined) throw new UnresolvableError(`Condition ${name} is not defined`);
  return Boolean(resolveIntrinsics(definition, ctx));
}

const functions: Record<string, (arg: unknown, ctx: IntrinsicContext) => unknown> = {
  Ref: (arg, ctx) => ref(String(arg), ctx),
  'Fn::GetAtt': (arg, ctx) => {
    const [id, ...rest] = Array.isArray(arg) ? (arg as unknown[]).map(String) : String(arg).split('.');
    return getAtt(id!, rest.join('.'), ctx);
  },
  'Fn::Join': (arg, ctx) => {
    const [separator, list] = arg as [string, unknown];
    return (resolveIntrinsics(list, ctx) as unknown[]).join(separator);
  },
  'Fn::Sub': (arg, ctx) => {
    if (typeof arg === 'string') return sub(arg, {}, ctx);
    const [text, vars] = arg as [string, Record<string, unknown>];
    return sub(text, resolveIntrinsics(vars, ctx) as Record<string, unknown>, ctx);
  },
  'Fn::Select': (arg, ctx) => {
    const [index, list] = resolveIntrinsics(arg, ctx) as [number | string, unknown[]];
    const value = list[Number(index)];
    if (value === undefined) throw new UnresolvableError(`Fn::Select index ${index} is out of range`);
    return value;
  },
  'Fn::Split': (arg, ctx) => {
    const [separator, text] = resolveIntrinsics(arg, ctx) as [string, string];
    return text.split(separator);
  },
  'Fn::Base64': (arg, ctx) => Buffer.from(String(resolveIntrinsics(arg, ctx))).toString('base64'),
  'Fn::GetAZs': (_arg, ctx) => ['a', 'b', 'c'].map((z) => `${ctx.region}${z}`),
  'Fn::FindInMap': (arg, ctx) => {
    const [map, top, second] = resolveIntrinsics(arg, ctx) as [string, string, string];
    const value = ctx.template.Mappings?.[map]?.[top]?.[second];
    if (value === undefined)
      throw new UnresolvableError(`Fn::FindInMap ${map}.${top}.${second} is not defined`);
    return value;
  },
  'Fn::If': (arg, ctx) => {
    const [name, whenTrue, whenFalse] = arg as [string, unknown, unknown];
    return resolveIntrinsics(condition(name, ctx) ? whenTrue : whenFalse, ctx);
  },
  'Fn::Equals': (arg, ctx) => {
    const [a, b] = resolveIntrinsics(arg, ctx) as [unknown, unknown];
    return JSON.stringify(a) === JSON.stringify(b);
  },
  'Fn::And': (arg, ctx) => (arg as unknown[]).every((c) => Boolean(resolveIntrinsics(c, ctx))),
  'Fn::Or': (arg, ctx) => (arg as unknown[]).some((c) => Boolean(resolveIntrinsics(c, ctx))),
  'Fn::Not': (arg, ctx) => !resolveIntrinsics((arg as unknown[])[0], ctx),
  Condition: (arg, ctx) => condition(String(arg), ctx),
};

/**
 * Returns `value` with every intrinsic replaced by its local value. Object keys whose value is
 * `AWS::NoValue` are dropped, as CloudFormation does. Throws UnresolvableError naming the intrinsic
 * when one has no local meaning.
 */
export function resolveIntrinsics(value: unknown, ctx: IntrinsicContext): unknown {
  const resolved = resolveAny(value, ctx);
  return resolved === NO_VALUE ? undefined : resolved;
}

function resolveAny(value: unknown, ctx: IntrinsicContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveAny(v, ctx)).filter((v) => v !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, arg] = entries[0]!;
    const fn = functions[key];
    if (fn) return fn(arg, ctx);
    if (key.startsWith('Fn::')) throw new UnresolvableError(`${key} has no local value`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) {
    const resolved = resolveAny(v, ctx);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

/** Resolves a value that must become a string, naming `where` when it does not. */
export function resolveString(value: unknown, ctx: IntrinsicContext, where: string): string {
  const resolved = resolveIntrinsics(value, ctx);
  if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean') {
    throw new UnresolvableError(
      `${where} must resolve to a string, but resolved to ${JSON.stringify(resolved)}`,
    );
  }
  return String(resolved);
}
