/**
 * taskq local's flags as template rewrites (local/template-rewrites.ts) on a real synthesized app: each flag moves
 * every value derived from it, and the result is the very template the construct synthesizes when given the
 * flag's value as a prop.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { EnvName } from '../../lambda/contract';
import type { AgentRegistry } from '../../lib/agents';
import { TaskQueue } from '../../lib/task-queue';
import type { Template as LocalTemplate } from '../../local/template';
import { applyLocalOverrides } from '../../local/template-rewrites';
import { renderJoin, testApp } from './synth';

/** What a fixture app varies: the props a flag stands for, and the agents' timeouts. */
interface FixtureProps {
  readonly consumerTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Every async agent's heartbeat timeout. */
  readonly heartbeatSeconds?: number;
  readonly tenantMaxConcurrency?: number;
  readonly limitWakeUpSeconds?: number;
  /** The most any agent's timeout is (as an app would set them to fit a shorter consumer timeout). */
  readonly agentTimeoutCap?: number;
  /** The sync Lambda agent's own function timeout. */
  readonly syncFunctionTimeout?: number;
}

const IMPORTED_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:imported';
/** How notRunnable shows the ARN of a function imported by name: the template's pseudo parameters spelled out. */
const pseudo = (name: string) => ['$', '{AWS::', name, '}'].join('');
const BY_NAME = `by-name → arn:${pseudo('Partition')}:lambda:${pseudo('Region')}:${pseudo('AccountId')}:function:by-name`;

/**
 * Another team's app: an HTTP agent with limits, an async HTTP agent, a sync and an async Lambda agent of the
 * app, a Lambda agent imported by ARN and one by name, a tenant cap; and a queue of its own with a redrive
 * policy, which no flag may touch.
 */
function fixture(p: FixtureProps = {}): LocalTemplate {
  const stack = new Stack(testApp(), 'App');
  const fn = (id: string, seconds: number) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
      timeout: Duration.seconds(seconds),
    });
  const timeout = (seconds: number) => Duration.seconds(Math.min(seconds, p.agentTimeoutCap ?? seconds));
  const heartbeat = (seconds: number) => Duration.seconds(p.heartbeatSeconds ?? seconds);
  const agents: AgentRegistry = {
    web: {
      kind: 'http',
      url: 'https://agents.example.com/web',
      timeout: timeout(30),
      maxConcurrency: 3,
      rateLimit: { requests: 10, per: Duration.seconds(1) },
    },
    'web-async': {
      kind: 'http',
      url: 'https://agents.example.com/web-async',
      timeout: timeout(10),
      mode: 'async',
      heartbeatTimeout: heartbeat(120),
    },
    sync: { kind: 'lambda', function: fn('Sync', p.syncFunctionTimeout ?? 20), timeout: timeout(20) },
    research: {
      kind: 'lambda',
      function: fn('Research', 60),
      timeout: timeout(60),
      mode: 'async',
      heartbeatTimeout: heartbeat(300),
      maxRunTime: Duration.hours(2),
    },
    imported: {
      kind: 'lambda',
      function: lambda.Function.fromFunctionArn(stack, 'Imported', IMPORTED_ARN),
      timeout: timeout(60),
    },
    'by-name': {
      kind: 'lambda',
      function: lambda.Function.fromFunctionName(stack, 'ByName', 'by-name'),
      timeout: timeout(60),
    },
  };
  const consumerTimeout =
    p.consumerTimeoutSeconds === undefined ? undefined : Duration.seconds(p.consumerTimeoutSeconds);
  new TaskQueue(stack, 'Queue', {
    agents,
    tiers: { high: { consumerTimeout }, low: { consumerTimeout, maxBatchingWindow: Duration.seconds(4) } },
    maxReceiveCount: p.maxReceiveCount,
    tenantMaxConcurrency: p.tenantMaxConcurrency ?? 4,
    limitWakeUp: p.limitWakeUpSeconds === undefined ? undefined : Duration.seconds(p.limitWakeUpSeconds),
  });
  const ownDeadLetters = new sqs.Queue(stack, 'OwnDeadLetters');
  new sqs.Queue(stack, 'Own', { deadLetterQueue: { queue: ownDeadLetters, maxReceiveCount: 3 } });
  return Template.fromStack(stack).toJSON() as LocalTemplate;
}

type Props = Record<string, unknown>;
const props = (template: LocalTemplate, id: string): Props => template.Resources[id]!.Properties as Props;
const env = (template: LocalTemplate, id: string): Props =>
  (props(template, id).Environment as { Variables: Props } | undefined)?.Variables ?? {};
/** Logical ids of the resources of a type whose id starts with `prefix`. */
const ids = (template: LocalTemplate, type: string, prefix = ''): string[] =>
  Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
const consumers = (t: LocalTemplate) =>
  ids(t, 'AWS::Lambda::Function').filter((id) => env(t, id)[EnvName.FunctionRole] === 'consumer');
const agentsOf = (t: LocalTemplate, consumer: string) =>
  JSON.parse(renderJoin(env(t, consumer)[EnvName.Agents])) as Record<string, Props>;
const tierQueues = (t: LocalTemplate) =>
  ['QueueHighQueue', 'QueueLowQueue'].map((p) => ids(t, 'AWS::SQS::Queue', p)[0]!);

// One synth per fixture, shared by the tests.
const base = fixture();

describe('applyLocalOverrides on a synthesized app', () => {
  test('with no overrides the template is unchanged, and the Lambda agents outside the app are not runnable', () => {
    const { template, notes, notRunnable } = applyLocalOverrides(base, {});

    expect(template).toEqual(base);
    expect(notes).toEqual([]);
    expect(notRunnable).toEqual([`imported → ${IMPORTED_ARN}`, BY_NAME]);
  });

  test('--consumer-timeout moves the consumer timeout, visibility timeout and lease together, as the construct derives them', () => {
    const { template } = applyLocalOverrides(base, { consumerTimeoutSeconds: 90 });

    const [high, low] = tierQueues(template);
    expect(consumers(template).map((id) => props(template, id).Timeout)).toEqual([90, 90]);
    expect(consumers(template).map((id) => env(template, id)[EnvName.LeaseSeconds])).toEqual(['180', '180']);
    expect(props(template, high!).VisibilityTimeout).toBe(540);
    // The low tier batches for 4 s: 6 × 90 + 4.
    expect(props(template, low!).VisibilityTimeout).toBe(544);
    // The whole template is the one the construct synthesizes with that consumer timeout.
    expect(template).toEqual(fixture({ consumerTimeoutSeconds: 90 }));
  });

  test('--consumer-timeout shorter than the agent timeouts cuts them to its margin, and a sync Lambda agent function with them, as an app that fits would set', () => {
    const { template, notes } = applyLocalOverrides(base, { consumerTimeoutSeconds: 20 });

    // 20 − max(5, 2) = 15: every agent timeout above it is cut, the sync agent's function too (20 → 15).
    expect(template).toEqual(
      fixture({ consumerTimeoutSeconds: 20, agentTimeoutCap: 15, syncFunctionTimeout: 15 }),
    );
    expect(notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining("agent 'research' timeout 60 s → 15 s"),
        expect.stringContaining("(agent 'sync') timeout 20 s → 15 s"),
      ]),
    );
  });

  test('--max-receive-count moves every tier queue redrive policy and every MAX_RECEIVE_COUNT, and no other queue', () => {
    const { template } = applyLocalOverrides(base, { maxReceiveCount: 2 });

    const withCount = ids(template, 'AWS::Lambda::Function').filter(
      (id) => env(template, id)[EnvName.MaxReceiveCount] !== undefined,
    );
    expect(withCount.map((id) => env(template, id)[EnvName.MaxReceiveCount])).toEqual(['2', '2', '2', '2']);
    for (const queue of tierQueues(template)) {
      expect(props(template, queue).RedrivePolicy).toMatchObject({ maxReceiveCount: 2 });
    }
    expect(
      props(template, ids(template, 'AWS::SQS::Queue', 'Own').find((id) => !id.includes('DeadLetters'))!)
        .RedrivePolicy,
    ).toMatchObject({
      maxReceiveCount: 3,
    });
    expect(template).toEqual(fixture({ maxReceiveCount: 2 }));
  });

  test("--heartbeat-timeout moves every async agent's window and the async Lambda agent's maximum event age", () => {
    const { template } = applyLocalOverrides(base, { heartbeatTimeoutSeconds: 200 });

    const agents = agentsOf(template, consumers(template)[0]!);
    expect(agents['web-async']).toMatchObject({ heartbeatTimeoutSeconds: 200 });
    expect(agents.research).toMatchObject({ heartbeatTimeoutSeconds: 200 });
    expect(agents.sync).not.toHaveProperty('heartbeatTimeoutSeconds');
    const [config] = ids(template, 'AWS::Lambda::EventInvokeConfig');
    // 200 − the function's 60 s.
    expect(props(template, config!).MaximumEventAgeInSeconds).toBe(140);
    expect(template).toEqual(fixture({ heartbeatSeconds: 200 }));
  });

  test('--tenant-max-concurrency and --limit-wake-up set the consumers variables as the construct does', () => {
    const { template } = applyLocalOverrides(base, { tenantMaxConcurrency: 7, limitWakeUpSeconds: 9 });

    for (const id of consumers(template)) {
      expect(env(template, id)).toMatchObject({ TENANT_MAX_CONCURRENCY: '7', LIMIT_WAKE_UP_SECONDS: '9' });
    }
    expect(template).toEqual(fixture({ tenantMaxConcurrency: 7, limitWakeUpSeconds: 9 }));
  });

  test('--agent makes an HTTP agent of a Lambda agent, keeping its timeout, mode, heartbeat and limits', () => {
    const urls = { research: 'http://127.0.0.1:9000/research', imported: 'http://127.0.0.1:9000/imported' };
    const { template, notes, notRunnable } = applyLocalOverrides(base, { agentUrls: urls });

    for (const id of consumers(template)) {
      const agents = agentsOf(template, id);
      expect(agents.research).toEqual({
        kind: 'http',
        url: urls.research,
        timeoutSeconds: 60,
        mode: 'async',
        heartbeatTimeoutSeconds: 300,
        maxRunTimeSeconds: 7200,
      });
      expect(agents.imported).toEqual({ kind: 'http', url: urls.imported, timeoutSeconds: 60 });
      // The others are as they were, their ARNs still intrinsics.
      expect(agents.sync).toEqual(agentsOf(base, id).sync);
      expect(agents.web).toEqual(agentsOf(base, id).web);
    }
    expect(notRunnable).toEqual([BY_NAME]);
    expect(notes).toEqual(
      expect.arrayContaining([
        `agent research → ${urls.research} (--agent)`,
        expect.stringContaining("agent 'research' was an async Lambda agent"),
      ]),
    );
  });

  test('--agent writes what the construct writes for that agent as an HTTP agent', () => {
    const url = 'http://127.0.0.1:9000/web';
    const { template } = applyLocalOverrides(base, { agentUrls: { web: url } });

    const consumer = consumers(template)[0]!;
    expect(agentsOf(template, consumer).web).toEqual({ ...agentsOf(base, consumer).web, url });
  });

  test.each([
    [{ consumerTimeoutSeconds: 901 }, 'consumerTimeout must be between 1 and 900 seconds, but 901'],
    [{ consumerTimeoutSeconds: 5 }, 'leaves no agent timeout'],
    [{ maxReceiveCount: 0 }, 'maxReceiveCount must be 1 or more, but 0'],
    [{ tenantMaxConcurrency: 1001 }, 'tenantMaxConcurrency must be an integer between 1 and 1000, but 1001'],
    [{ limitWakeUpSeconds: 901 }, 'limitWakeUp must be a whole number of seconds between 1 and 900'],
    // The async Lambda agent's function runs 60 s; its window must hold that and Lambda's shortest event age.
    [
      { heartbeatTimeoutSeconds: 100 },
      'heartbeatTimeout must be at least its function timeout + 60 s = 120 seconds',
    ],
    // research runs at most 2 hours.
    [
      { heartbeatTimeoutSeconds: 7201 },
      "agent 'research' heartbeatTimeout must be at most its maxRunTime (7200 seconds)",
    ],
    [
      { agentUrls: { nope: 'http://127.0.0.1:1' } },
      "no TaskQueue of the app has an agent of type 'nope'; its types are by-name, imported, research, sync, web, web-async",
    ],
    [{ agentUrls: { web: 'ftp://127.0.0.1/x' } }, 'must be an http:// or https:// URL'],
  ])('refuses %j as the construct would', (overrides, message) => {
    expect(() => applyLocalOverrides(base, overrides)).toThrow(message);
  });

  test('a flag on an app without a TaskQueue, or without an async agent, names what is missing', () => {
    const stack = new Stack(testApp(), 'Plain');
    new sqs.Queue(stack, 'Q');
    const plain = Template.fromStack(stack).toJSON() as LocalTemplate;
    expect(() => applyLocalOverrides(plain, { consumerTimeoutSeconds: 30 })).toThrow(
      '--consumer-timeout: the app has no TaskQueue',
    );

    const syncOnly = new Stack(testApp(), 'SyncOnly');
    new TaskQueue(syncOnly, 'Queue', { agents: { web: { kind: 'http', url: 'https://a.example.com' } } });
    expect(() =>
      applyLocalOverrides(Template.fromStack(syncOnly).toJSON() as LocalTemplate, {
        heartbeatTimeoutSeconds: 30,
      }),
    ).toThrow('--heartbeat-timeout: no TaskQueue of the app has an async agent');
  });

  test('the input template is left as it was', () => {
    const before = JSON.stringify(base);
    applyLocalOverrides(base, {
      consumerTimeoutSeconds: 20,
      heartbeatTimeoutSeconds: 200,
      maxReceiveCount: 2,
    });
    expect(JSON.stringify(base)).toBe(before);
  });
});
