/**
 * Local physical ids: what each resource of the template is called once "deployed" locally, and the
 * values its `Ref` and `Fn::GetAtt` resolve to. Names are derived from the logical id, as CloudFormation
 * does, but without a random suffix, so that a persisted local state finds its resources after a restart.
 */
import type { LocalResource } from './intrinsics';
import type { Template } from './template';

export interface LocalEndpoints {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  /** fauxqs (SQS, SNS, S3). */
  readonly awsEndpoint: string;
  /** The local HTTP API. */
  readonly apiUrl: string;
  /** Put before every table's name: a runtime's own on a DynamoDB Local it shares. @default - none */
  readonly tablePrefix?: string;
}

/** The name a resource gets: its explicit name property, or `<stack>-<logicalId>` cut to the service's limit. */
function physicalName(
  props: Record<string, unknown>,
  nameProperty: string,
  stackName: string,
  logicalId: string,
  maxLength: number,
  suffix = '',
): string {
  const explicit = props[nameProperty];
  if (typeof explicit === 'string') return explicit;
  return `${stackName}-${logicalId}`.slice(0, maxLength - suffix.length) + suffix;
}

/**
 * Computes every resource's local `Ref` and attributes. Resources without a local counterpart still get
 * an id and an ARN, so that environment variables which merely mention them (e.g. a log group) resolve.
 */
export function resolvePhysicalIds(template: Template, env: LocalEndpoints): Map<string, LocalResource> {
  const { region, accountId: account, stackName } = env;
  const out = new Map<string, LocalResource>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::SQS::Queue': {
        const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
        const name = physicalName(props, 'QueueName', stackName, id, 80, fifo ? '.fifo' : '');
        // Path-style URL: fauxqs finds the queue by its path, and the SDK keeps sending to this origin.
        const url = `${env.awsEndpoint}/${account}/${name}`;
        const arn = `arn:aws:sqs:${region}:${account}:${name}`;
        out.set(id, { ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } });
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const prefix = env.tablePrefix ?? '';
        const name = prefix + physicalName(props, 'TableName', stackName, id, 255 - prefix.length);
        const arn = `arn:aws:dynamodb:${region}:${account}:table/${name}`;
        out.set(id, { ref: name, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } });
        break;
      }
      case 'AWS::SNS::Topic': {
        const name = physicalName(props, 'TopicName', stackName, id, 256);
        const arn = `arn:aws:sns:${region}:${account}:${name}`;
        out.set(id, { ref: arn, attributes: { TopicArn: arn, TopicName: name } });
        break;
      }
      case 'AWS::S3::Bucket': {
        const name = physicalName(props, 'BucketName', stackName.toLowerCase(), id.toLowerCase(), 63);
        out.set(id, {
          ref: name,
          attributes: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
            WebsiteURL: `${env.awsEndpoint}/${name}`,
          },
        });
        break;
      }
      case 'AWS::Lambda::Function': {
        const name = physicalName(props, 'FunctionName', stackName, id, 64);
        out.set(id, {
          ref: name,
          attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` },
        });
        break;
      }
      case 'AWS::ApiGatewayV2::Api':
        out.set(id, { ref: id, attributes: { ApiEndpoint: env.apiUrl, ApiId: id } });
        break;
      case 'AWS::ApiGatewayV2::Stage':
        out.set(id, { ref: String(props.StageName ?? id), attributes: {} });
        break;
      case 'AWS::Logs::LogGroup': {
        const name = physicalName(props, 'LogGroupName', `/local/${stackName}`, id, 512);
        out.set(id, {
          ref: name,
          attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` },
        });
        break;
      }
      case 'AWS::IAM::Role': {
        const name = physicalName(props, 'RoleName', stackName, id, 64);
        out.set(id, { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: id } });
        break;
      }
      default: {
        const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'local';
        out.set(id, { ref: id, attributes: { Arn: `arn:aws:${service}:${region}:${account}:${id}` } });
      }
    }
  }
  return out;
}
