import { parseAgentTarget, parseAgentTargets } from '../../../lambda/contract/agent-target';

describe('Function: parseAgentTargets', () => {
  it('returns the targets of a valid AGENTS value, typed by kind', () => {
    // Prepare
    const json = JSON.stringify({
      echo: {
        kind: 'lambda',
        functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:echo',
        timeoutSeconds: 10,
      },
      summarize: {
        kind: 'http',
        url: 'https://agents.example.com/summarize',
        timeoutSeconds: 60,
        authSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf',
      },
    });

    // Act
    const targets = parseAgentTargets(json);

    // Assess
    expect(targets).toEqual(JSON.parse(json));
  });

  it('drops fields that are not part of a target', () => {
    // Act
    const targets = parseAgentTargets(
      JSON.stringify({ x: { kind: 'http', url: 'https://x', timeoutSeconds: 5, extra: true } }),
    );

    // Assess
    expect(targets).toEqual({ x: { kind: 'http', url: 'https://x', timeoutSeconds: 5 } });
  });

  it.each([
    ['is not JSON', '{', /^AGENTS environment variable is not valid JSON/],
    ['is not an object', '[]', /^AGENTS environment variable must be a JSON object/],
    [
      'has an agent of unknown kind',
      JSON.stringify({ x: { kind: 'grpc', url: 'https://x', timeoutSeconds: 5 } }),
      /^AGENTS environment variable: agent 'x' must be \{ "kind": "http", "url": … \} or \{ "kind": "lambda", "functionArn": … \}$/,
    ],
    [
      'names a Lambda agent by functionName',
      JSON.stringify({ x: { kind: 'lambda', functionName: 'arn:aws:lambda:x', timeoutSeconds: 5 } }),
      /agent 'x' must be/,
    ],
    [
      'has an HTTP agent with an empty url',
      JSON.stringify({ x: { kind: 'http', url: '', timeoutSeconds: 5 } }),
      /agent 'x' must be/,
    ],
    [
      'has an agent without a timeout',
      JSON.stringify({ x: { kind: 'http', url: 'https://x' } }),
      /agent 'x' timeoutSeconds must be set/,
    ],
    [
      'has an agent with a timeout that is not a positive integer',
      JSON.stringify({ x: { kind: 'http', url: 'https://x', timeoutSeconds: '5' } }),
      /agent 'x' timeoutSeconds must be a positive integer/,
    ],
    [
      'has an agent whose secret is not a string',
      JSON.stringify({ x: { kind: 'http', url: 'https://x', timeoutSeconds: 5, authSecretArn: 1 } }),
      /agent 'x' authSecretArn must be a secret ARN/,
    ],
  ])('throws when the value %s', (_, json, message) => {
    expect(() => parseAgentTargets(json)).toThrow(message);
  });
});

describe('Function: parseAgentTarget', () => {
  it('leaves the timeout out when it is optional and not set (the config file)', () => {
    expect(parseAgentTarget('x', { kind: 'lambda', functionArn: 'arn:x' }, { timeout: 'optional' })).toEqual({
      kind: 'lambda',
      functionArn: 'arn:x',
    });
  });

  it('still checks a timeout that is optional but set', () => {
    expect(() =>
      parseAgentTarget(
        'x',
        { kind: 'lambda', functionArn: 'arn:x', timeoutSeconds: 0 },
        { timeout: 'optional' },
      ),
    ).toThrow(/agent 'x' timeoutSeconds must be a positive integer/);
  });
});
