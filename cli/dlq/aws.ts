/** SDK clients for the DLQ commands, built from where the resources are (see ../stack-resources.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CommandError } from '../errors';
import type { AwsConnection } from '../stack-resources';

export interface AwsClients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
}

export function createAwsClients(connection: AwsConnection): AwsClients {
  const common = {
    ...(connection.region && { region: connection.region }),
    ...(connection.staticCredentials && { credentials: { ...connection.staticCredentials } }),
  };
  return {
    sqs: new SQSClient({ ...common, ...(connection.endpoints && { endpoint: connection.endpoints.sqs }) }),
    dynamodb: new DynamoDBClient({
      ...common,
      ...(connection.endpoints && { endpoint: connection.endpoints.dynamodb }),
    }),
  };
}

/** An AWS call failed: the code is the SDK error's name (`AccessDenied`, `QueueDoesNotExist`, …). */
export class AwsCallError extends CommandError {
  public constructor(operation: string, cause: unknown) {
    const { name, message } = cause as Error;
    super(name || 'AwsError', `${operation} failed: ${message}`, { cause });
    this.name = 'AwsCallError';
  }
}

/** Runs one AWS call, so that its failure reaches the user as `operation failed: reason` with exit code 1. */
export async function attempt<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new AwsCallError(operation, error);
  }
}
