#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { TaskQueueStack } from '../lib/task-queue-stack';

const app = new App();
new TaskQueueStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'AgentTaskQueue', {
  description: 'agent-task-queue: a serverless task queue for AI agents',
});
