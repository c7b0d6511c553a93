#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TaskQueueStack } from '../lib/task-queue-stack';

const app = new App();
new TaskQueueStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'AgentTaskQueue', {
  description: 'agent-task-queue: a serverless task queue for AI agents',
});
// The AwsSolutions pack runs on every synth: an unacknowledged finding fails `cdk synth` and `cdk deploy`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
