/**
 * Where the queues and the task table of one deployment are: a deployed stack's CloudFormation outputs
 * (`--stack NAME`), or the local runtime's `GET /_local/stack` (`--endpoint URL`).
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import type { Priority } from '../lambda/core/task';
import { type FetchLike, NetworkError } from './api-client';
import { CommandError } from './errors';

/** The stack outputs the CLI reads; lib/task-queue-stack.ts declares them. */
export const REQUIRED_OUTPUTS = [
  'HighQueueUrl',
  'LowQueueUrl',
  'HighDeadLetterQueueUrl',
  'LowDeadLetterQueueUrl',
  'TaskTableName',
] as const;

export interface TierResources {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** How to reach the AWS APIs that hold these resources. */
export interface AwsConnection {
  /** @default - the SDK's region chain (AWS_REGION, the profile) */
  readonly region?: string;
  /** @default - the AWS endpoints */
  readonly endpoints?: { readonly sqs: string; readonly dynamodb: string; readonly sns?: string };
  /**
   * The emulators accept any credentials, and a machine without an AWS profile must still reach them.
   * @default - the SDK's default credential chain
   */
  readonly staticCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface StackResources {
  /** For messages, e.g. `stack prod-queue` or `the local runtime at http://127.0.0.1:3000`. */
  readonly description: string;
  readonly tiers: Readonly<Record<Priority, TierResources>>;
  readonly tableName: string;
  readonly aws: AwsConnection;
}

/** What `GET <endpoint>/_local/stack` answers. */
export interface LocalStackDocument {
  readonly outputs: Readonly<Record<string, string>>;
  /** SNS is fauxqs, as SQS: an older runtime that names no `sns` endpoint serves it at `sqs`. */
  readonly endpoints: { readonly sqs: string; readonly dynamodb: string; readonly sns?: string };
  readonly region: string;
  /** The template's topics, label → ARN. @default - none listed */
  readonly topics?: Readonly<Record<string, string>>;
}

/** A stack's outputs and how to reach its resources: what every command that calls AWS directly starts from. */
export interface StackOutputs {
  readonly description: string;
  readonly outputs: Readonly<Record<string, string | undefined>>;
  readonly aws: AwsConnection;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

function fromOutputs(
  outputs: Readonly<Record<string, string | undefined>>,
  description: string,
  aws: AwsConnection,
): StackResources {
  const missing = REQUIRED_OUTPUTS.filter((key) => !outputs[key]);
  if (missing.length > 0)
    throw new CommandError(
      'MissingStackOutput',
      `${description} has no output ${missing.join(', ')}: is it an agent-task-queue stack?`,
    );
  const output = (key: (typeof REQUIRED_OUTPUTS)[number]) => outputs[key]!;
  return {
    description,
    tiers: {
      high: { queueUrl: output('HighQueueUrl'), deadLetterQueueUrl: output('HighDeadLetterQueueUrl') },
      low: { queueUrl: output('LowQueueUrl'), deadLetterQueueUrl: output('LowDeadLetterQueueUrl') },
    },
    tableName: output('TaskTableName'),
    aws,
  };
}

/** The region of a stack, from its id: `arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID`. */
function regionOf(stackId: string | undefined): string | undefined {
  return stackId?.split(':')[3] || undefined;
}

/**
 * Reads a deployed stack's outputs with DescribeStacks, using the default credential chain and region.
 * The queues and the table are then reached in the stack's own region.
 */
export async function resourcesFromStack(
  stackName: string,
  client: CloudFormationClient = new CloudFormationClient({}),
): Promise<StackResources> {
  const { outputs, description, aws } = await outputsFromStack(stackName, client);
  return fromOutputs(outputs, description, aws);
}

/** A deployed stack's outputs (DescribeStacks), to be reached in the stack's own region. */
export async function outputsFromStack(
  stackName: string,
  client: CloudFormationClient = new CloudFormationClient({}),
): Promise<StackOutputs> {
  const description = `stack ${stackName}`;
  let stack: DescribeStacksCommandOutput['Stacks'];
  try {
    stack = (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks;
  } catch (error) {
    const { name, message } = error as Error;
    // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
    if (/does not exist/.test(message))
      throw new CommandError('StackNotFound', `${description} does not exist in this account and region`, {
        cause: error,
      });
    throw new CommandError(name, `cannot describe ${description}: ${message}`, { cause: error });
  }
  const found = stack?.[0];
  if (!found)
    throw new CommandError('StackNotFound', `${description} does not exist in this account and region`);
  const outputs: Record<string, string | undefined> = {};
  for (const { OutputKey, OutputValue } of found.Outputs ?? [])
    if (OutputKey) outputs[OutputKey] = OutputValue;
  const region = regionOf(found.StackId);
  return { description, outputs, aws: region ? { region } : {} };
}

function isLocalStackDocument(value: unknown): value is LocalStackDocument {
  const doc = value as Partial<LocalStackDocument> | undefined;
  return (
    typeof doc === 'object' &&
    doc !== null &&
    typeof doc.outputs === 'object' &&
    doc.outputs !== null &&
    typeof doc.endpoints?.sqs === 'string' &&
    typeof doc.endpoints?.dynamodb === 'string' &&
    typeof doc.region === 'string'
  );
}

/** Reads the local runtime's outputs and emulator endpoints from `GET <endpoint>/_local/stack`. */
export async function resourcesFromLocalRuntime(
  endpoint: string,
  fetch: FetchLike = (url, init) => globalThis.fetch(url, init),
): Promise<StackResources> {
  const { outputs, description, aws } = await outputsFromLocalRuntime(endpoint, fetch);
  return fromOutputs(outputs, description, aws);
}

/** The local runtime's outputs, and its emulators' endpoints, from `GET <endpoint>/_local/stack`. */
export async function outputsFromLocalRuntime(
  endpoint: string,
  fetch: FetchLike = (url, init) => globalThis.fetch(url, init),
): Promise<StackOutputs & { readonly topics: Readonly<Record<string, string>> }> {
  const url = `${endpoint.replace(/\/+$/, '')}/_local/stack`;
  const description = `the local runtime at ${endpoint}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new NetworkError('Unreachable', `cannot reach ${url}: ${cause?.code ?? (error as Error).message}`, {
      cause: error,
    });
  }
  const text = await response.text();
  if (!response.ok)
    throw new CommandError(
      'NotLocalRuntime',
      `GET ${url} answered ${response.status}: these commands need the local runtime there, or --stack NAME for a deployed stack`,
    );
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    document = undefined;
  }
  if (!isLocalStackDocument(document))
    throw new CommandError(
      'InvalidResponse',
      `GET ${url} did not answer { outputs, endpoints: { sqs, dynamodb }, region }`,
    );
  return {
    description,
    outputs: document.outputs,
    topics: document.topics ?? {},
    aws: {
      region: document.region,
      endpoints: {
        sqs: document.endpoints.sqs,
        dynamodb: document.endpoints.dynamodb,
        sns: document.endpoints.sns ?? document.endpoints.sqs,
      },
      staticCredentials: LOCAL_CREDENTIALS,
    },
  };
}
