/**
 * Shared set-up for the infra tests: apps that skip asset bundling, a bare stack holding one TaskQueue,
 * and readers for the parts of a synthesized template that are built from tokens.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import type { AgentRegistry } from '../../lib/agents';
import { TaskQueue, type TaskQueueProps } from '../../lib/task-queue';

/**
 * An app for template tests. They need no bundle: an empty `aws:cdk:bundling-stacks` makes NodejsFunction skip
 * esbuild. They also skip CDK's built-in CloudFormation validation, which costs seconds per synth; one test
 * (task-queue-stack.test.ts) runs it, strictly, on the whole stack.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
  });
}

/**
 * Synthesizes what `build` puts in a fresh app with CDK's built-in CloudFormation validation on, its findings made
 * fatal (`validateAgainstDefaultRules`), and returns the violations of the validation report. Skips bundling.
 */
export function defaultRulesViolations(build: (app: App) => void): unknown[] {
  const outdir = mkdtempSync(path.join(tmpdir(), 'taskq-validate-'));
  try {
    const app = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:validateAgainstDefaultRules': true },
    });
    build(app);
    app.synth();
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    return report.pluginReports.flatMap((r) => r.violations ?? []);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function testStack(): Stack {
  return new Stack(testApp(), 'TestStack');
}

/** One HTTP agent: enough for a valid TaskQueue whose consumers may invoke no Lambda function. */
export const HTTP_AGENTS: AgentRegistry = {
  summarize: { kind: 'http', url: 'https://agents.example.com/summarize' },
};

/** The callback base URL a standalone TaskTier is given in tests. */
export const CALLBACK_BASE_URL = 'https://api.example.com';

/** A bare stack with one TaskQueue over `HTTP_AGENTS` and the given props. */
export function queueStack(props: Partial<TaskQueueProps> = {}): { stack: Stack; taskQueue: TaskQueue } {
  const stack = testStack();
  const taskQueue = new TaskQueue(stack, 'TaskQueue', { agents: HTTP_AGENTS, ...props });
  return { stack, taskQueue };
}

/**
 * Builds on the first call and returns that value from then on. Module-level values are per test file (jest gives
 * each file its own module registry), so a `once` value is built at most once per file. For stacks that many
 * tests of a file read and none changes: synth is the slow part of these tests.
 */
export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
}

/**
 * `queueStack()` with the default props and its synthesized template, built once per test file and shared by its
 * tests. Read-only: a caller must not change the stack or the TaskQueue (no `addEventSubscription`, no grants, no
 * new constructs, no aspects) nor the template's JSON, since the template is already synthesized and the other
 * tests of the file read the same objects. A test that changes the stack builds its own with `queueStack()`.
 */
export const defaultQueue = once((): { stack: Stack; taskQueue: TaskQueue; template: Template } => {
  const { stack, taskQueue } = queueStack();
  return { stack, taskQueue, template: Template.fromStack(stack) };
});

/** A Lambda function that needs no bundling, to stand for an agent. */
export function inlineFunction(scope: Stack, id: string): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
  });
}

/** The logical id of a construct's CloudFormation resource (an L2's `defaultChild`, or the L1 itself). */
export function logicalId(construct: IConstruct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(resource);
}

/**
 * Renders a template value that may be an `Fn::Join` of strings and references as one string, with each
 * reference written as `<Ref:Id>` or `<GetAtt:Id.Attr>`, so that a JSON environment value can be parsed.
 */
export function renderJoin(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(renderJoin).join(separator);
  }
  if (typeof v.Ref === 'string') return `<Ref:${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<GetAtt:${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** An IAM statement of a template, with its actions and resources as lists. */
export interface Statement {
  readonly effect: string;
  readonly actions: string[];
  readonly resources: unknown[];
}

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

interface StatementJson {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}
interface PolicyDocumentJson {
  readonly Statement: StatementJson | StatementJson[];
}
interface IamResourceJson {
  readonly Type: string;
  readonly Properties?: {
    readonly Roles?: { readonly Ref?: string }[];
    readonly PolicyDocument?: PolicyDocumentJson;
    readonly Policies?: { readonly PolicyDocument: PolicyDocumentJson }[];
  };
}

/**
 * Every statement that applies to `role`: those of the AWS::IAM::Policy resources attached to it and its
 * inline policies. Statements are read one by one, so that assertions do not depend on how CDK merges them.
 */
export function roleStatements(template: Template, role: IConstruct): Statement[] {
  const roleId = logicalId(role);
  const resources = template.toJSON().Resources as Record<string, IamResourceJson>;
  const documents: PolicyDocumentJson[] = [
    ...Object.values(resources).flatMap((r) =>
      r.Type === 'AWS::IAM::Policy' &&
      r.Properties?.PolicyDocument &&
      asList(r.Properties.Roles).some((ref) => ref.Ref === roleId)
        ? [r.Properties.PolicyDocument]
        : [],
    ),
    ...asList(resources[roleId]?.Properties?.Policies).map((p) => p.PolicyDocument),
  ];
  return documents.flatMap((doc) =>
    asList(doc.Statement).map((s) => ({
      effect: s.Effect,
      actions: asList(s.Action),
      resources: asList(s.Resource),
    })),
  );
}

/** The actions that `role` is allowed on exactly `resource` (a template value, such as a GetAtt). */
export function allowedActions(template: Template, role: IConstruct, resource: unknown): string[] {
  const key = JSON.stringify(resource);
  const actions = roleStatements(template, role)
    .filter((s) => s.effect === 'Allow' && s.resources.some((r) => JSON.stringify(r) === key))
    .flatMap((s) => s.actions);
  return [...new Set(actions)].sort();
}

/**
 * What `role` may do, by resource: each resource (as JSON of its template value) with the sorted actions the role is
 * allowed on it. Fails the test on any Deny statement: the construct writes none.
 */
export function actionsByResource(template: Template, role: IConstruct): Record<string, string[]> {
  const byResource: Record<string, string[]> = {};
  for (const s of roleStatements(template, role)) {
    if (s.effect !== 'Allow') throw new Error(`unexpected ${s.effect} statement on ${logicalId(role)}`);
    for (const r of s.resources)
      byResource[JSON.stringify(r)] = [...(byResource[JSON.stringify(r)] ?? []), ...s.actions];
  }
  return Object.fromEntries(Object.entries(byResource).map(([k, v]) => [k, [...new Set(v)].sort()]));
}
