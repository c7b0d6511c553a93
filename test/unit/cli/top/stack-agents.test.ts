import { agentsFromTemplate } from '../../../../cli/top/stack-agents';

const fn = (agents: unknown) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: { AGENTS: agents } } },
});

describe('Function: agentsFromTemplate', () => {
  it("reads the agent types and their limits from the consumers' AGENTS, once per type", () => {
    // Prepare: both tiers' consumers carry the same AGENTS, with a function ARN as an intrinsic
    const agents = {
      'Fn::Join': [
        '',
        [
          '{"echo":{"kind":"lambda","functionArn":"',
          { 'Fn::GetAtt': ['EchoAgent', 'Arn'] },
          '","timeoutSeconds":10},"summarize":{"kind":"http","url":"https://x","timeoutSeconds":30,' +
            '"maxConcurrency":3,"rateLimit":{"requests":20,"per":60}}}',
        ],
      ],
    };
    const template = {
      Resources: {
        HighConsumer: fn(agents),
        LowConsumer: fn(agents),
        Api: { Type: 'AWS::Lambda::Function' },
      },
    };

    // Act
    const found = agentsFromTemplate(JSON.stringify(template));

    // Assess
    expect(found).toEqual([
      { type: 'echo' },
      { type: 'summarize', maxConcurrency: 3, rateLimit: { requests: 20, perSeconds: 60 } },
    ]);
  });

  it('finds no agent in a template without AGENTS', () => {
    expect(agentsFromTemplate(JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue' } } }))).toEqual(
      [],
    );
  });

  it('throws InvalidTemplate for a template that is not JSON', () => {
    expect(() => agentsFromTemplate('Resources:\n  Queue: {}')).toThrow(
      expect.objectContaining({ code: 'InvalidTemplate' }),
    );
  });
});
