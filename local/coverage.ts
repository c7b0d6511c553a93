/**
 * Which of a template's resources the local runtime runs, which it ignores because they have no local effect
 * (permissions, logs, alarms, dashboards, encryption keys), and which it cannot run: the last are listed at start as
 * not emulated, each type once, never skipped silently.
 */
import { type IntrinsicContext, resolveIntrinsics } from './intrinsics';
import { resourcesOfType, type Template } from './template';

/** Types some part of the runtime creates or runs (resources.ts, functions.ts, http-api.ts, the event sources…). */
const EMULATED = new Set([
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::S3::Bucket',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Stage',
  // Not enforced; the banner says so in its own line.
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::Events::Rule',
  'AWS::CDK::Metadata',
]);

/** Types with no local effect: nothing would behave differently locally if they were created. */
const IGNORED = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::Lambda::Permission',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::S3::BucketPolicy',
  'AWS::Logs::LogGroup',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::CompositeAlarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::KMS::Key',
  'AWS::KMS::Alias',
]);

export interface ResourceCoverage {
  /** One line per type the runtime cannot run, e.g. `AWS::StepFunctions::StateMachine (Flow)`. */
  readonly notEmulated: readonly string[];
  /** The ignored types the template has. */
  readonly ignored: readonly string[];
}

const MAX_IDS = 3;

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_IDS).join(', ');
  return ids.length > MAX_IDS ? `${shown} and ${ids.length - MAX_IDS} more` : shown;
}

export function resourceCoverage(template: Template): ResourceCoverage {
  const unknown = new Map<string, string[]>();
  const ignored = new Set<string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (EMULATED.has(resource.Type)) continue;
    if (IGNORED.has(resource.Type)) {
      ignored.add(resource.Type);
      continue;
    }
    unknown.set(resource.Type, [...(unknown.get(resource.Type) ?? []), id]);
  }
  const notEmulated = [...unknown].map(([type, ids]) =>
    type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource'
      ? `${type} (${listIds(ids)}: custom resources run at deploy time only)`
      : `${type} (${listIds(ids)})`,
  );
  return { notEmulated, ignored: [...ignored].sort() };
}

/** SNS subscriptions of another protocol than `sqs`: the emulator delivers to queues only. */
export function snsSubscriptionsNotEmulated(ctx: IntrinsicContext): string[] {
  const out: string[] = [];
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::SNS::Subscription')) {
    let protocol: string;
    try {
      protocol = String(
        (resolveIntrinsics(resource.Properties ?? {}, ctx) as { Protocol?: unknown }).Protocol,
      );
    } catch {
      protocol = String(resource.Properties?.Protocol);
    }
    if (protocol !== 'sqs')
      out.push(`${id} (SNS subscription over ${protocol}: only SQS subscriptions deliver)`);
  }
  for (const [id, resource] of resourcesOfType(ctx.template, 'AWS::SNS::Topic')) {
    const inline = (resource.Properties?.Subscription as Array<{ Protocol?: unknown }> | undefined) ?? [];
    for (const s of inline) {
      if (s.Protocol !== 'sqs')
        out.push(`${id} (SNS subscription over ${String(s.Protocol)}: only SQS subscriptions deliver)`);
    }
  }
  return out;
}
