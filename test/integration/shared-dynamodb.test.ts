/**
 * `taskq local --dynamodb-endpoint`: runtimes of one stack on one DynamoDB Local (the integration project's shared
 * one, test/integration/support/global-setup.ts), each with tables of its own, which go when it stops.
 */
import { DynamoDBClient, GetItemCommand, paginateListTables } from '@aws-sdk/client-dynamodb';
import { bootRuntime, eventually, type RunningRuntime } from './support/local-runtime';
import { sharedDynamoDbEndpoint } from './support/shared-dynamodb';

jest.setTimeout(180_000);

const runtimes: RunningRuntime[] = [];
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  runtimes.push(...(await Promise.all([bootRuntime({}), bootRuntime({})])));
  dynamodb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: sharedDynamoDbEndpoint(),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.stop()));
  dynamodb?.destroy();
});

async function tableNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListTables({ client: dynamodb }, {}))
    names.push(...(page.TableNames ?? []));
  return names;
}

/** Submits an echo task and returns its id once it has SUCCEEDED. */
async function echoTask(runtime: RunningRuntime, n: number): Promise<string> {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'echo', payload: { n } }),
  });
  expect(response.status).toBe(202);
  const { task_id: id } = (await response.json()) as { task_id: string };
  await eventually(async () => {
    const view = (await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).json()) as { status: string };
    return view.status === 'SUCCEEDED' ? true : undefined;
  }, `task ${id} succeeding`);
  return id;
}

describe('local runtime: a shared DynamoDB Local', () => {
  it('gives each runtime of the same stack tables of its own, and each completes its tasks in them', async () => {
    // Prepare
    expect(sharedDynamoDbEndpoint()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const [a, b] = runtimes as [RunningRuntime, RunningRuntime];
    const [tableA, tableB] = [a.outputs.TaskTableName!, b.outputs.TaskTableName!];

    // Act
    const [idA, idB] = await Promise.all([echoTask(a, 1), echoTask(b, 2)]);

    // Assess: both on the shared server, apart, each task in its own runtime's table only
    expect(tableA).toMatch(/^rt[0-9a-f]{8}-/);
    expect(tableB).toMatch(/^rt[0-9a-f]{8}-/);
    expect(tableA).not.toBe(tableB);
    expect(tableA.slice(tableA.indexOf('-'))).toBe(tableB.slice(tableB.indexOf('-')));
    expect(a.ports.dynamodb).toBe(b.ports.dynamodb);
    const item = (table: string, id: string) =>
      dynamodb
        .send(new GetItemCommand({ TableName: table, Key: { task_id: { S: id } } }))
        .then((o) => o.Item);
    expect((await item(tableA, idA))?.status?.S).toBe('SUCCEEDED');
    expect((await item(tableB, idB))?.status?.S).toBe('SUCCEEDED');
    expect(await item(tableA, idB)).toBeUndefined();
    expect(await item(tableB, idA)).toBeUndefined();
  });

  it("deletes a runtime's tables when it stops, and leaves the other runtime's", async () => {
    // Prepare
    const [a, b] = runtimes as [RunningRuntime, RunningRuntime];
    const prefixOf = (table: string) => table.slice(0, table.indexOf('-') + 1);
    const [prefixA, prefixB] = [prefixOf(a.outputs.TaskTableName!), prefixOf(b.outputs.TaskTableName!)];
    const before = await tableNames();
    expect(before.filter((n) => n.startsWith(prefixA)).length).toBeGreaterThan(1);

    // Act
    expect(await a.stop()).toBe(0);

    // Assess
    const after = await tableNames();
    expect(after.filter((n) => n.startsWith(prefixA))).toEqual([]);
    expect(after.filter((n) => n.startsWith(prefixB))).toEqual(before.filter((n) => n.startsWith(prefixB)));
  });
});
