import { resolvePhysicalIds } from '../../../local/physical-ids';
import type { TemplateResource } from '../../../local/template';
import { ENDPOINTS } from './local-context';

const resolve = (resource: TemplateResource, id = 'Thing') =>
  resolvePhysicalIds({ Resources: { [id]: resource } }, ENDPOINTS).get(id);

describe('Function: resolvePhysicalIds', () => {
  it('names a queue <stack>-<logicalId>, with a path-style URL on the local endpoint', () => {
    expect(resolve({ Type: 'AWS::SQS::Queue' }, 'HighQueue')).toEqual({
      ref: 'http://127.0.0.1:4566/000000000000/Local-HighQueue',
      attributes: {
        Arn: 'arn:aws:sqs:us-east-1:000000000000:Local-HighQueue',
        QueueName: 'Local-HighQueue',
        QueueUrl: 'http://127.0.0.1:4566/000000000000/Local-HighQueue',
      },
    });
  });

  it('keeps the .fifo suffix of a FIFO queue within the 80-character limit', () => {
    const name = resolve({ Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } }, 'Q'.repeat(100))
      ?.attributes.QueueName;
    expect(name).toHaveLength(80);
    expect(name).toMatch(/^Local-Q+\.fifo$/);
  });

  it('uses an explicit name property as it is', () => {
    expect(resolve({ Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'tasks' } })).toEqual({
      ref: 'tasks',
      attributes: {
        Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/tasks',
        StreamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/tasks/stream/local',
      },
    });
  });

  it("puts a runtime's table prefix before every table's name, explicit or derived, and before no other name", () => {
    // Act
    const prefixed = resolvePhysicalIds(
      {
        Resources: {
          Tasks: { Type: 'AWS::DynamoDB::Table' },
          Named: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'tasks' } },
          Queue: { Type: 'AWS::SQS::Queue' },
        },
      },
      { ...ENDPOINTS, tablePrefix: 'rt0a1b2c3d-' },
    );

    // Assess
    expect(prefixed.get('Tasks')?.ref).toBe('rt0a1b2c3d-Local-Tasks');
    expect(prefixed.get('Tasks')?.attributes.StreamArn).toBe(
      'arn:aws:dynamodb:us-east-1:000000000000:table/rt0a1b2c3d-Local-Tasks/stream/local',
    );
    expect(prefixed.get('Named')?.ref).toBe('rt0a1b2c3d-tasks');
    expect(prefixed.get('Queue')?.attributes.QueueName).toBe('Local-Queue');
  });

  it('keeps a prefixed table name within 255 characters', () => {
    const name = resolvePhysicalIds(
      { Resources: { ['T'.repeat(300)]: { Type: 'AWS::DynamoDB::Table' } } },
      { ...ENDPOINTS, tablePrefix: 'rt0a1b2c3d-' },
    ).get('T'.repeat(300))?.ref;
    expect(name).toHaveLength(255);
    expect(name).toMatch(/^rt0a1b2c3d-Local-T+$/);
  });

  it('cuts a function name to 64 characters and gives it a function ARN', () => {
    const fn = resolve({ Type: 'AWS::Lambda::Function' }, 'F'.repeat(70));
    expect(fn?.ref).toHaveLength(64);
    expect(fn?.attributes.Arn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${fn?.ref}`);
  });

  it('lower-cases a bucket name', () => {
    expect(resolve({ Type: 'AWS::S3::Bucket' }, 'Uploads')?.ref).toBe('local-uploads');
  });

  it('points an HTTP API at the local API URL', () => {
    expect(resolve({ Type: 'AWS::ApiGatewayV2::Api' }, 'Api')?.attributes.ApiEndpoint).toBe(
      'http://127.0.0.1:3000',
    );
  });

  it('gives a resource without a local counterpart an id and an ARN of its service', () => {
    expect(resolve({ Type: 'AWS::CloudWatch::Alarm' }, 'DepthAlarm')).toEqual({
      ref: 'DepthAlarm',
      attributes: { Arn: 'arn:aws:cloudwatch:us-east-1:000000000000:DepthAlarm' },
    });
  });
});
