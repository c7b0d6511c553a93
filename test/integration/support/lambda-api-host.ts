/**
 * Boots the parts of the local runtime that the Lambda API needs, for a small fixture template with the
 * Lambda agents of test/fixtures/lambda/agents: fauxqs behind the public AWS endpoint (the front that serves
 * the Lambda API), the functions' proxy (AWS_ENDPOINT_URL_LAMBDA), the queues, the functions, and the Lambda
 * API. In its own process, as the runtime runs: fauxqs is ESM-only, which jest's module system does not host.
 * Prints `ready <JSON>` (endpoint, queue URLs, not emulated); stops when stdin closes.
 *
 *   node --import tsx test/integration/support/lambda-api-host.ts [awsPort] [retryDelaysSeconds,…]
 */
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startAwsProxy } from '../../../local/aws-proxy';
import { startAwsEmulator } from '../../../local/emulators';
import { startFunctions } from '../../../local/functions';
import type { IntrinsicContext } from '../../../local/intrinsics';
import { lambdaApiSlot, startLambdaApi } from '../../../local/lambda-api';
import { resolvePhysicalIds } from '../../../local/physical-ids';
import { createResources } from '../../../local/resources';
import type { Template } from '../../../local/template';

const REGION = 'us-east-1';
const ACCOUNT_ID = '000000000000';
const STACK = 'LambdaApi';
const CODE = path.join(__dirname, '..', '..', 'fixtures', 'lambda', 'agents');

const fn = (handler: string, timeout: number, variables: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: handler, Timeout: timeout, MemorySize: 128, Environment: { Variables: variables } },
});

export const TEMPLATE: Template = {
  Resources: {
    Agent: fn('index.agent', 5),
    Sleeper: fn('index.sleeper', 1),
    Caller: fn('index.caller', 10, { TARGET: { 'Fn::GetAtt': ['Agent', 'Arn'] } }),
    Succeeded: { Type: 'AWS::SQS::Queue' },
    Failed: { Type: 'AWS::SQS::Queue' },
    AgentEventInvokeConfig: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'Agent' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 600,
        DestinationConfig: {
          OnSuccess: { Destination: { 'Fn::GetAtt': ['Succeeded', 'Arn'] } },
          OnFailure: { Destination: { 'Fn::GetAtt': ['Failed', 'Arn'] } },
        },
      },
    },
    SleeperEventInvokeConfig: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'Sleeper' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': ['Failed', 'Arn'] } },
          OnSuccess: { Destination: 'arn:aws:events:us-east-1:000000000000:event-bus/default' },
        },
      },
    },
  },
};

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const retryDelaysSeconds = (process.argv[3] ?? '0.2,0.4').split(',').map(Number);
  const lambda = lambdaApiSlot();
  const aws = await startAwsEmulator({ port: Number(process.argv[2] ?? 0), lambda: lambda.handle });
  const proxy = await startAwsProxy({
    targets: { sqs: aws.internalEndpoint, sns: aws.internalEndpoint },
    serve: { lambda: lambda.handle },
  });
  const ctx: IntrinsicContext = {
    template: TEMPLATE,
    region: REGION,
    accountId: ACCOUNT_ID,
    stackName: STACK,
    resources: resolvePhysicalIds(TEMPLATE, {
      region: REGION,
      accountId: ACCOUNT_ID,
      stackName: STACK,
      awsEndpoint: proxy.endpoint('sqs'),
      apiUrl: 'http://127.0.0.1:9',
    }),
  };
  const clientConfig = { region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const sqs = new SQSClient({ ...clientConfig, endpoint: aws.internalEndpoint });
  // The template has no table: the DynamoDB client is never called.
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: 'http://127.0.0.1:9' });
  await createResources(ctx, { sqs, dynamodb, fauxqs: aws.server });
  const codePaths = new Map(['Agent', 'Sleeper', 'Caller'].map((id) => [id, CODE]));
  const functions = startFunctions(
    ctx,
    codePaths,
    {
      aws: proxy.endpoint('sqs'),
      sns: proxy.endpoint('sns'),
      dynamodb: 'http://127.0.0.1:9',
      lambda: proxy.endpoint('lambda'),
    },
    // One environment per function: `failTimes` counts attempts within it.
    { maxWorkers: 1, log },
  );
  const api = startLambdaApi({
    ctx,
    find: functions.find,
    awsEndpoint: aws.internalEndpoint,
    retryDelaysSeconds,
    log,
  });
  lambda.attach(api);
  await functions.warm();
  const queueUrl = (id: string) =>
    `${aws.endpoint}/${ACCOUNT_ID}/${ctx.resources.get(id)!.attributes.QueueName}`;
  console.log(
    `ready ${JSON.stringify({
      endpoint: aws.endpoint,
      agentArn: ctx.resources.get('Agent')!.attributes.Arn,
      queues: { succeeded: queueUrl('Succeeded'), failed: queueUrl('Failed') },
      notEmulated: api.notEmulated,
    })}`,
  );
  process.stdin.on('data', (line) => {
    // `counts`: the calls the functions made through the proxy.
    if (line.toString().trim() === 'counts') console.log(`counts ${JSON.stringify(proxy.counts())}`);
  });
  process.stdin.on('end', async () => {
    await api.stop();
    await functions.stop();
    await proxy.close();
    sqs.destroy();
    dynamodb.destroy();
    await aws.stop();
    process.exit(0);
  });
}

void main();
