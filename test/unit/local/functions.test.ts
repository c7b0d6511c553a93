import { EnvName, FunctionRole } from '../../../lambda/contract';
import { localFunctions, startFunctions } from '../../../local/functions';
import type { TemplateResource } from '../../../local/template';
import { ENDPOINTS, localContext } from './local-context';

const fn = (role: string, properties: Record<string, unknown> = {}): TemplateResource => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: { [EnvName.FunctionRole]: role } }, ...properties },
});
const ctx = localContext({
  Producer: fn(FunctionRole.Producer, {
    Timeout: 29,
    MemorySize: 512,
    Handler: 'index.handler',
    Runtime: 'nodejs24.x',
    Environment: {
      Variables: { [EnvName.FunctionRole]: FunctionRole.Producer, QUEUE_URL: { Ref: 'Queue' } },
    },
  }),
  Consumer: fn(FunctionRole.Consumer),
  Sweeper: fn(FunctionRole.Sweeper),
  Queue: { Type: 'AWS::SQS::Queue' },
});
const codePaths = new Map(['Producer', 'Consumer', 'Sweeper'].map((id) => [id, `/bundles/${id}`]));
const endpoints = { aws: 'http://127.0.0.1:9001', dynamodb: 'http://127.0.0.1:9002' };

describe('Function: localFunctions', () => {
  it("reads a function's settings, its resolved variables and the runtime's, with the emulators' endpoints", () => {
    const producer = localFunctions(ctx, codePaths, endpoints).find((f) => f.logicalId === 'Producer')!;
    expect(producer).toMatchObject({
      name: 'Local-Producer',
      arn: 'arn:aws:lambda:us-east-1:000000000000:function:Local-Producer',
      codePath: '/bundles/Producer',
      handler: 'index.handler',
      timeoutSeconds: 29,
      memorySize: 512,
      logGroupName: '/aws/lambda/Local-Producer',
    });
    expect(producer.env).toMatchObject({
      QUEUE_URL: 'http://127.0.0.1:4566/000000000000/Local-Queue',
      AWS_ENDPOINT_URL_SQS: endpoints.aws,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      // The local Lambda API is on the AWS endpoint unless given its own.
      AWS_ENDPOINT_URL_LAMBDA: endpoints.aws,
      AWS_LAMBDA_FUNCTION_NAME: 'Local-Producer',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      // As Lambda sets it: the function's own runtime.
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    });
  });

  it("takes Lambda's defaults for a function without Timeout and MemorySize", () => {
    const consumer = localFunctions(ctx, codePaths, endpoints).find((f) => f.logicalId === 'Consumer')!;
    expect(consumer).toMatchObject({ timeoutSeconds: 3, memorySize: 128 });
  });

  it('throws for a function without a local bundle', () => {
    expect(() => localFunctions(ctx, new Map(), endpoints)).toThrow('function Producer has no local bundle');
  });

  it("resolves a consumer's CALLBACK_BASE_URL, the HTTP API's endpoint, to the local API's base URL", () => {
    // Prepare: as the construct writes it
    const withApi = localContext({
      Api: { Type: 'AWS::ApiGatewayV2::Api' },
      Consumer: fn(FunctionRole.Consumer, {
        Environment: {
          Variables: {
            [EnvName.FunctionRole]: FunctionRole.Consumer,
            [EnvName.CallbackBaseUrl]: { 'Fn::GetAtt': ['Api', 'ApiEndpoint'] },
          },
        },
      }),
    });

    // Act
    const [consumer] = localFunctions(withApi, new Map([['Consumer', '/bundles/Consumer']]), endpoints);

    // Assess: no trailing slash, so `${base}/tasks/${id}` is a local API URL
    expect(consumer!.env[EnvName.CallbackBaseUrl]).toBe(ENDPOINTS.apiUrl);
    expect(ENDPOINTS.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('Function: startFunctions', () => {
  const functions = startFunctions(ctx, codePaths, endpoints, { log: () => {} });
  afterAll(() => functions.stop());

  it('finds a function by name, by ARN and by ARN with :$LATEST', () => {
    const byName = functions.lookup('Local-Consumer', 'here');
    expect(functions.lookup('arn:aws:lambda:us-east-1:000000000000:function:Local-Consumer', 'here')).toBe(
      byName,
    );
    expect(
      functions.lookup('arn:aws:lambda:us-east-1:000000000000:function:Local-Consumer:$LATEST', 'here'),
    ).toBe(byName);
  });

  it('throws, naming the referring resource, for a function the template does not define', () => {
    expect(() => functions.lookup('Elsewhere', 'SomeRule')).toThrow(
      'SomeRule names function Elsewhere, which the template does not define',
    );
  });

  it("tells a worker's role from its app id", () => {
    expect(['Producer.1', 'Consumer.3', 'Sweeper.1', 'Unknown.1'].map((id) => functions.roleOf(id))).toEqual([
      'producer',
      'consumer',
      'other',
      'other',
    ]);
  });
});
