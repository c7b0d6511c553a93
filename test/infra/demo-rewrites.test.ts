/**
 * The demo tunings the local runtime rewrites instead of synthesizing (local-config.ts `DEMO_REWRITES`): the demo
 * app synthesized without them and rewritten (local/template-rewrites.ts) must be the very template the construct
 * synthesizes with them, or a runtime started with `--max-receive-count`, `--heartbeat-timeout` or
 * `--limit-wake-up` would run another app than the one it was given.
 */
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { TaskQueueStack } from '../../lib/task-queue-stack';
import {
  configFileAgents,
  DEMO_REWRITES,
  type DemoRewrite,
  demoStackConfig,
  type LocalConfigOptions,
  localStackConfig,
} from '../../local/local-config';
import type { Template as LocalTemplate } from '../../local/template';
import { applyLocalOverrides } from '../../local/template-rewrites';
import { testApp } from './synth';

const ROOT = path.join(__dirname, '..', '..');

/** A value of each rewritten tuning, other than the demo's own (5 deliveries, a 10 s heartbeat, a 5 s wake-up). */
const TUNED: Record<DemoRewrite, number> = {
  maxReceiveCount: 2,
  heartbeatTimeoutSeconds: 7,
  limitWakeUpSeconds: 9,
};

/** The demo app's template, as `taskq local --demo-agents` synthesizes it with these options. */
function demo(options: Omit<LocalConfigOptions, 'agentsUrl'> = {}): LocalTemplate {
  const config = demoStackConfig(
    configFileAgents(ROOT, {}),
    localStackConfig({ agentsUrl: 'http://127.0.0.1:9', ...options }),
  );
  return Template.fromStack(
    new TaskQueueStack(testApp(), 'AgentTaskQueue', { config }),
  ).toJSON() as LocalTemplate;
}

const tuned = Object.fromEntries(DEMO_REWRITES.map((k) => [k, TUNED[k]])) as Record<DemoRewrite, number>;

describe("the demo's rewritten tunings", () => {
  test('the default demo, rewritten, is the demo synthesized with them', () => {
    const { template } = applyLocalOverrides(demo(), tuned);

    expect(template).toEqual(demo(tuned));
  });

  test('so is a demo with every other tuning of the test suites and the chaos run', () => {
    // The options that still synthesize: a short consumer and agent timeout, a tenant cap, agent limits and a
    // topic of its own
    const others: Omit<LocalConfigOptions, 'agentsUrl'> = {
      consumerTimeoutSeconds: 10,
      agentTimeoutSeconds: 3,
      tenantMaxConcurrency: 3,
      agentLimits: { limited: { maxConcurrency: 1 } },
      topics: { 'test.fanout': { subscribers: ['echo', 'flaky'] } },
    };

    const { template } = applyLocalOverrides(demo(others), tuned);

    expect(template).toEqual(demo({ ...others, ...tuned }));
  });
});
