/** Cold-start floor of a handler that needs DynamoDB only: the client, constructed, and nothing else. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const dynamodb = new DynamoDBClient({});
export const handler = async (): Promise<void> => {};
