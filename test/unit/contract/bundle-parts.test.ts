import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ConfiguredAgents as Agents } from '../../../lambda/adapters/agents';
import {
  BUNDLE_PART_FLAGS,
  BundlePart,
  OMITTED,
  omitDefines,
  omittedPartMessage,
} from '../../../lambda/contract/bundle-parts';
import type { AgentRequest } from '../../../lambda/core/ports';

const request: AgentRequest = {
  task_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  type: 'work',
  payload: { text: 'hello' },
  attempt: 1,
  deadline: new Date(Date.now() + 5_000).toISOString(),
};
const limits = { maxAnswerBytes: 65_536 };

/**
 * Runs `fn` with a fresh copy of the adapter module and `flags` set, as a bundle built with their define sees
 * them (the adapter reads a flag when it first needs the part).
 */
async function withFlags<T>(
  flags: Record<string, string>,
  fn: (agents: typeof Agents) => Promise<T>,
): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, flags);
  try {
    let loaded: typeof Agents | undefined;
    jest.isolateModules(() => {
      loaded = (require('../../../lambda/adapters/agents') as { ConfiguredAgents: typeof Agents })
        .ConfiguredAgents;
    });
    return await fn(loaded!);
  } finally {
    for (const key of Object.keys(flags)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

/** The flags of `parts` as process.env names (`process.env.X` → `X`). */
const envFlags = (parts: BundlePart[]) =>
  Object.fromEntries(parts.map((part) => [BUNDLE_PART_FLAGS[part].replace(/^process\.env\./, ''), OMITTED]));

describe('bundle parts', () => {
  test('the define of each left-out part sets its flag to the JSON string OMITTED', () => {
    expect(omitDefines([BundlePart.LambdaAgents, BundlePart.AgentSecrets])).toEqual({
      'process.env.TASKQ_BUNDLE_LAMBDA_AGENTS': '"omitted"',
      'process.env.TASKQ_BUNDLE_AGENT_SECRETS': '"omitted"',
    });
    expect(omitDefines([])).toEqual({});
  });

  test('the agent adapter compares each flag with the literal OMITTED, as esbuild can fold it', () => {
    // esbuild drops an import only behind a comparison of literals: the flag (replaced by the define) and the
    // value written out, not a constant imported from elsewhere.
    const source = readFileSync(path.join(__dirname, '../../../lambda/adapters/agents.ts'), 'utf8');
    for (const part of Object.values(BundlePart)) {
      expect(source).toContain(`${BUNDLE_PART_FLAGS[part]} === '${OMITTED}'`);
    }
  });

  test('a consumer built without the Lambda client fails a Lambda agent with a message that says so', async () => {
    // GIVEN
    const target = {
      kind: 'lambda',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:agent-fn',
      timeoutSeconds: 5,
    } as const;

    // WHEN
    const outcome = await withFlags(envFlags([BundlePart.LambdaAgents]), (ConfiguredAgents) =>
      new ConfiguredAgents({ work: target }).invoke(request, limits),
    );

    // THEN
    expect(outcome).toMatchObject({
      kind: 'transient',
      error: {
        code: 'AgentInvokeFailed',
        message: expect.stringContaining(omittedPartMessage('lambda-agents')),
      },
    });
  });

  test('a consumer built without the Secrets Manager client fails an agent with a secret, without calling it', async () => {
    // GIVEN
    const target = {
      kind: 'http',
      url: 'http://127.0.0.1:9/never-called',
      timeoutSeconds: 5,
      authSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:agent-token-AbCdEf',
    } as const;

    // WHEN
    const outcome = await withFlags(envFlags([BundlePart.AgentSecrets]), (ConfiguredAgents) =>
      new ConfiguredAgents({ work: target }).invoke(request, limits),
    );

    // THEN
    expect(outcome).toMatchObject({
      error: {
        code: 'AgentSecretUnavailable',
        message: expect.stringContaining(omittedPartMessage('agent-secrets')),
      },
    });
  });
});
