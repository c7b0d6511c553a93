import { parseAgentTarget, parseAgentTargets, slotLimits } from '../../../lambda/contract/agent-target';
import { MAX_LIMIT, MAX_RATE_WINDOW_SECONDS } from '../../../lambda/core/limits';

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

describe('Function: parseAgentTarget (limits)', () => {
  const http = { kind: 'http', url: 'https://x', timeoutSeconds: 5 };

  it('reads maxConcurrency and rateLimit { requests, per }, per in seconds', () => {
    // Act
    const target = parseAgentTarget('x', { ...http, maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } });

    // Assess
    expect(target).toEqual({ ...http, maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } });
  });

  it('reads them on a Lambda agent, and keeps only the two fields of a rate limit', () => {
    // Act
    const target = parseAgentTarget('x', {
      kind: 'lambda',
      functionArn: 'arn:x',
      timeoutSeconds: 5,
      rateLimit: { requests: 3, per: 60, burst: 9 },
    });

    // Assess
    expect(target).toEqual({
      kind: 'lambda',
      functionArn: 'arn:x',
      timeoutSeconds: 5,
      rateLimit: { requests: 3, per: 60 },
    });
  });

  it('leaves both out when they are not set: no limit', () => {
    // Act
    const target = parseAgentTarget('x', http);

    // Assess
    expect(target).not.toHaveProperty('maxConcurrency');
    expect(target).not.toHaveProperty('rateLimit');
  });

  it.each([
    ['the largest maxConcurrency', { maxConcurrency: MAX_LIMIT }],
    ['the largest rate', { rateLimit: { requests: MAX_LIMIT, per: MAX_RATE_WINDOW_SECONDS } }],
    ['the smallest rate', { rateLimit: { requests: 1, per: 1 } }],
  ])('accepts %s', (_name, fields) => {
    expect(parseAgentTarget('x', { ...http, ...fields })).toMatchObject(fields);
  });

  it.each([
    [
      'maxConcurrency is 0',
      { maxConcurrency: 0 },
      /agent 'x' maxConcurrency must be an integer from 1 to 1000/,
    ],
    ['maxConcurrency is above the limit', { maxConcurrency: MAX_LIMIT + 1 }, /maxConcurrency must be/],
    ['maxConcurrency is not whole', { maxConcurrency: 1.5 }, /maxConcurrency must be/],
    ['maxConcurrency is a string', { maxConcurrency: '2' }, /maxConcurrency must be/],
    ['maxConcurrency is null', { maxConcurrency: null }, /maxConcurrency must be/],
    ['rateLimit is a number', { rateLimit: 10 }, /agent 'x' rateLimit must be \{ "requests": …, "per": … \}/],
    ['rateLimit is an array', { rateLimit: [10, 1] }, /rateLimit must be \{/],
    [
      'rateLimit has no requests',
      { rateLimit: { per: 1 } },
      /agent 'x' rateLimit.requests must be an integer from 1 to 1000/,
    ],
    ['rateLimit.requests is 0', { rateLimit: { requests: 0, per: 1 } }, /rateLimit.requests must be/],
    [
      'rateLimit.requests is above the limit',
      { rateLimit: { requests: MAX_LIMIT + 1, per: 1 } },
      /rateLimit.requests must be/,
    ],
    [
      'rateLimit.requests is a string',
      { rateLimit: { requests: '10', per: 1 } },
      /rateLimit.requests must be/,
    ],
    [
      'rateLimit has no per',
      { rateLimit: { requests: 10 } },
      /agent 'x' rateLimit.per must be a whole number of seconds from 1 to 3600/,
    ],
    ['rateLimit.per is 0', { rateLimit: { requests: 10, per: 0 } }, /rateLimit.per must be/],
    [
      'rateLimit.per is a fraction of a second',
      { rateLimit: { requests: 10, per: 0.5 } },
      /rateLimit.per must be/,
    ],
    [
      'rateLimit.per is above an hour',
      { rateLimit: { requests: 10, per: MAX_RATE_WINDOW_SECONDS + 1 } },
      /rateLimit.per must be/,
    ],
    [
      'rateLimit.per is a Duration-like string',
      { rateLimit: { requests: 10, per: '1s' } },
      /rateLimit.per must be/,
    ],
  ])('throws when %s', (_name, fields, message) => {
    expect(() => parseAgentTarget('x', { ...http, ...fields })).toThrow(message);
  });

  it('reads them from AGENTS too, the shape of the configuration file', () => {
    // Act
    const targets = parseAgentTargets(
      JSON.stringify({ limited: { ...http, maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } } }),
    );

    // Assess
    expect(targets.limited).toEqual({ ...http, maxConcurrency: 2, rateLimit: { requests: 10, per: 1 } });
  });

  it('names the variable when AGENTS holds a bad limit', () => {
    expect(() => parseAgentTargets(JSON.stringify({ x: { ...http, maxConcurrency: -1 } }))).toThrow(
      /^AGENTS environment variable: agent 'x' maxConcurrency must be/,
    );
  });
});

describe('Function: slotLimits', () => {
  const http = { kind: 'http', url: 'https://x', timeoutSeconds: 5 } as const;

  it('is undefined for a target without limits', () => {
    expect(slotLimits(parseAgentTarget('x', http))).toBeUndefined();
  });

  it.each([
    ['a concurrency limit', { maxConcurrency: 3 }, { maxConcurrency: 3 }],
    [
      'a rate limit, its window in seconds',
      { rateLimit: { requests: 10, per: 2 } },
      { rateLimit: { requests: 10, perSeconds: 2 } },
    ],
    [
      'both',
      { maxConcurrency: 3, rateLimit: { requests: 10, per: 2 } },
      { maxConcurrency: 3, rateLimit: { requests: 10, perSeconds: 2 } },
    ],
  ])('gives the limits of a target with %s', (_name, fields, limits) => {
    expect(slotLimits(parseAgentTarget('x', { ...http, ...fields }))).toEqual(limits);
  });
});
