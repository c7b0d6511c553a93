import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { type AgentTarget, ConfiguredAgents } from '../../../lambda/adapters/agents';
import type { AgentRequest } from '../../../lambda/core/ports';

const secrets = mockClient(SecretsManagerClient);

const NOW_MS = Date.parse('2026-01-01T00:00:00.000Z');
const request: AgentRequest = {
  task_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  type: 'summarize',
  payload: { text: 'hello' },
  attempt: 1,
  deadline: new Date(NOW_MS + 5_000).toISOString(),
};
const limits = { maxAnswerBytes: 65_536 };

/**
 * The adapter keeps secret values for the life of the execution environment, as a Lambda would: each test
 * uses a secret ARN of its own so that no test sees another's cache.
 */
let secretCounter = 0;
function secretArn(): string {
  secretCounter += 1;
  return `arn:aws:secretsmanager:us-east-1:123456789012:secret:agent-token-${secretCounter}-AbCdEf`;
}

function httpAgent(authSecretArn?: string): ConfiguredAgents {
  const target: AgentTarget = {
    kind: 'http',
    url: 'https://agents.example.com/summarize',
    timeoutSeconds: 5,
    ...(authSecretArn !== undefined && { authSecretArn }),
  };
  return new ConfiguredAgents({ summarize: target });
}

/** A stubbed global fetch that answers 200 with a JSON result, and records the requests it got. */
function agentAnswers() {
  return jest
    .spyOn(globalThis, 'fetch')
    .mockImplementation(async () => new Response(JSON.stringify({ summary: 'hi' }), { status: 200 }));
}

/** The headers of the nth request that reached the agent. */
function headersOf(fetchMock: ReturnType<typeof agentAnswers>, n = 0): Record<string, string> {
  const init = fetchMock.mock.calls[n]![1]!;
  return Object.fromEntries(new Headers(init.headers).entries());
}

describe('Class: ConfiguredAgents (agent secrets)', () => {
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
  });

  afterEach(() => {
    secrets.reset();
    jest.restoreAllMocks();
  });

  it('sends the secret as a bearer token to an HTTP agent that has an authSecretArn', async () => {
    // Prepare
    const arn = secretArn();
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: 's3cr3t-token' });
    const fetchMock = agentAnswers();

    // Act
    const outcome = await httpAgent(arn).invoke(request, limits);

    // Assess
    expect(outcome).toEqual({ kind: 'success', result: { summary: 'hi' } });
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(headersOf(fetchMock)).toEqual({
      authorization: 'Bearer s3cr3t-token',
      'content-type': 'application/json',
      'idempotency-key': request.task_id,
    });
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: arn },
    ]);
  });

  it('sends no Authorization header and reads no secret for an agent without authSecretArn', async () => {
    // Prepare
    const fetchMock = agentAnswers();

    // Act
    const outcome = await httpAgent().invoke(request, limits);

    // Assess
    expect(outcome.kind).toBe('success');
    expect(headersOf(fetchMock)).not.toHaveProperty('authorization');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('reads the secret once and reuses it for later calls', async () => {
    // Prepare
    const arn = secretArn();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'token-1' });
    const fetchMock = agentAnswers();
    const agents = httpAgent(arn);

    // Act
    await agents.invoke(request, limits);
    await agents.invoke({ ...request, attempt: 2 }, limits);
    await httpAgent(arn).invoke(request, limits);

    // Assess
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(fetchMock).toHaveBeenCalledTimes(3);
    for (const n of [0, 1, 2]) expect(headersOf(fetchMock, n).authorization).toBe('Bearer token-1');
  });

  it('reads the secret once for calls that start together', async () => {
    // Prepare
    const arn = secretArn();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'token-1' });
    agentAnswers();
    const agents = httpAgent(arn);

    // Act
    const outcomes = await Promise.all(
      [1, 2, 3].map((attempt) => agents.invoke({ ...request, attempt }, limits)),
    );

    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(['success', 'success', 'success']);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('keeps the secret of each agent apart', async () => {
    // Prepare
    const [first, second] = [secretArn(), secretArn()];
    secrets.on(GetSecretValueCommand, { SecretId: first }).resolves({ SecretString: 'first-token' });
    secrets.on(GetSecretValueCommand, { SecretId: second }).resolves({ SecretString: 'second-token' });
    const fetchMock = agentAnswers();

    // Act
    await httpAgent(first).invoke(request, limits);
    await httpAgent(second).invoke(request, limits);

    // Assess
    expect(headersOf(fetchMock, 0).authorization).toBe('Bearer first-token');
    expect(headersOf(fetchMock, 1).authorization).toBe('Bearer second-token');
  });

  it('turns a failed secret read into a transient outcome, without calling the agent', async () => {
    // Prepare
    const arn = secretArn();
    secrets
      .on(GetSecretValueCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'Secrets Manager can’t find the secret', $metadata: {} }),
      );
    const fetchMock = agentAnswers();

    // Act
    const outcome = await httpAgent(arn).invoke(request, limits);

    // Assess
    expect(outcome).toEqual({
      kind: 'transient',
      error: { code: 'AgentSecretUnavailable', message: expect.stringContaining('can’t find the secret') },
    });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('does not keep a failed read: the next call reads the secret again', async () => {
    // Prepare
    const arn = secretArn();
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ SecretString: 'token-after-retry' });
    const fetchMock = agentAnswers();
    const agents = httpAgent(arn);
    const first = await agents.invoke(request, limits);

    // Act
    const second = await agents.invoke({ ...request, attempt: 2 }, limits);

    // Assess
    expect(first.kind).toBe('transient');
    expect(second.kind).toBe('success');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(headersOf(fetchMock).authorization).toBe('Bearer token-after-retry');
  });

  it('treats a secret without a string value as unavailable', async () => {
    // Prepare
    const arn = secretArn();
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    const fetchMock = agentAnswers();

    // Act
    const outcome = await httpAgent(arn).invoke(request, limits);

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient', error: { code: 'AgentSecretUnavailable' } });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('reads the secret again after five minutes, so that a rotated token is picked up', async () => {
    // Prepare
    const arn = secretArn();
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'old-token' })
      .resolves({ SecretString: 'new-token' });
    const fetchMock = agentAnswers();
    const agents = httpAgent(arn);
    const now = jest.spyOn(Date, 'now');
    await agents.invoke(request, limits);
    now.mockReturnValue(NOW_MS + 4 * 60_000);
    await agents.invoke(request, limits);

    // Act
    now.mockReturnValue(NOW_MS + 5 * 60_000 + 1);
    await agents.invoke(request, limits);

    // Assess
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect([0, 1, 2].map((n) => headersOf(fetchMock, n).authorization)).toEqual([
      'Bearer old-token',
      'Bearer old-token',
      'Bearer new-token',
    ]);
  });
});
