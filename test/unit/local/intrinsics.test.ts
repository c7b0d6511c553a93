import {
  type IntrinsicContext,
  type LocalResource,
  resolveIntrinsics,
  UnresolvableError,
} from '../../../local/intrinsics';
import type { Template } from '../../../local/template';

const template: Template = {
  Resources: {},
  Parameters: { Stage: { Default: 'dev' } },
  Conditions: { IsDev: { 'Fn::Equals': [{ Ref: 'Stage' }, 'dev'] } },
  Mappings: { Sizes: { dev: { Memory: 128 } } },
};

const ctx: IntrinsicContext = {
  template,
  region: 'us-east-1',
  accountId: '000000000000',
  stackName: 'Local',
  resources: new Map<string, LocalResource>([
    [
      'Queue',
      {
        ref: 'http://127.0.0.1:4566/000000000000/Local-Queue',
        attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:Local-Queue', QueueName: 'Local-Queue' },
      },
    ],
    [
      'Table',
      {
        ref: 'Local-Table',
        attributes: { Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Local-Table' },
      },
    ],
  ]),
};

describe('Function: resolveIntrinsics', () => {
  it('resolves Ref of a resource, a parameter default and a pseudo parameter', () => {
    // Act
    const out = resolveIntrinsics(
      {
        url: { Ref: 'Queue' },
        table: { Ref: 'Table' },
        stage: { Ref: 'Stage' },
        region: { Ref: 'AWS::Region' },
      },
      ctx,
    );

    // Assess
    expect(out).toEqual({
      url: 'http://127.0.0.1:4566/000000000000/Local-Queue',
      table: 'Local-Table',
      stage: 'dev',
      region: 'us-east-1',
    });
  });

  it('resolves Fn::GetAtt in array and dotted form', () => {
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Queue', 'Arn'] }, ctx)).toBe(
      'arn:aws:sqs:us-east-1:000000000000:Local-Queue',
    );
    expect(resolveIntrinsics({ 'Fn::GetAtt': 'Queue.QueueName' }, ctx)).toBe('Local-Queue');
  });

  it('resolves Fn::Join, Fn::Select and Fn::Split together', () => {
    // Prepare: the shape CDK emits for a queue name taken from its ARN
    const value = {
      'Fn::Join': [
        '/',
        [{ 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] }, 'suffix'],
      ],
    };

    // Act / Assess
    expect(resolveIntrinsics(value, ctx)).toBe('Local-Queue/suffix');
  });

  it('resolves Fn::Sub with resources, attributes, pseudo parameters, variables and escapes', () => {
    const value = {
      'Fn::Sub': [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub's own ${…} syntax
        '${Table}|${Queue.Arn}|${AWS::AccountId}|${Name}|${!Literal}',
        { Name: { 'Fn::FindInMap': ['Sizes', 'dev', 'Memory'] } },
      ],
    };
    expect(resolveIntrinsics(value, ctx)).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub's escape leaves a literal ${…}
      'Local-Table|arn:aws:sqs:us-east-1:000000000000:Local-Queue|000000000000|128|${Literal}',
    );
  });

  it('resolves Fn::If on a template condition and drops AWS::NoValue', () => {
    const value = {
      when: { 'Fn::If': ['IsDev', 'yes', 'no'] },
      gone: { 'Fn::If': ['IsDev', { Ref: 'AWS::NoValue' }, 'kept'] },
      list: ['a', { Ref: 'AWS::NoValue' }],
    };
    expect(resolveIntrinsics(value, ctx)).toEqual({ when: 'yes', list: ['a'] });
  });

  it('throws UnresolvableError naming a reference to nothing', () => {
    expect(() => resolveIntrinsics({ Ref: 'Missing' }, ctx)).toThrow(UnresolvableError);
    expect(() => resolveIntrinsics({ 'Fn::GetAtt': ['Table', 'StreamArn'] }, ctx)).toThrow(
      /Table\.StreamArn: the attribute has no local value/,
    );
  });

  it('throws UnresolvableError for an intrinsic with no local meaning', () => {
    expect(() => resolveIntrinsics({ 'Fn::ImportValue': 'SharedVpc' }, ctx)).toThrow(
      'Fn::ImportValue has no local value',
    );
  });
});
