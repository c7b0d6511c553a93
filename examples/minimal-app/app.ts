import { TaskQueue } from 'agent-task-queue';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';

const app = new App();
const stack = new Stack(app, 'MinimalApp');

// Our own agent: a Lambda function bundled from summarize.ts by the local esbuild (no Docker). Its role may
// write to its own log group and nothing else (cdk-nag refuses the managed AWSLambdaBasicExecutionRole).
const logGroup = new logs.LogGroup(stack, 'SummarizeLogs', { retention: logs.RetentionDays.ONE_MONTH });
const role = new iam.Role(stack, 'SummarizeRole', {
  assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
});
logGroup.grantWrite(role);
const summarize = new NodejsFunction(stack, 'Summarize', {
  entry: 'summarize.ts',
  runtime: lambda.Runtime.NODEJS_22_X,
  role,
  logGroup,
});
Validations.of(summarize).acknowledge({
  id: 'AwsSolutions-L1',
  reason: 'Pinned to nodejs22.x, the Node version that runs it under taskq local.',
});

// The queue in front of it: POST /tasks {"type": "summarize", "payload": {"text": "…"}} runs it.
new TaskQueue(stack, 'Queue', {
  agents: { summarize: { kind: 'lambda', function: summarize } },
});

// cdk-nag's AWS Solutions pack on every synth: an unacknowledged finding fails `cdk synth`. The TaskQueue
// acknowledges its own findings, each with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
