/**
 * Results in each stored form (lambda/core/result-storage.ts), through the local runtime: a 1 KB result compressed
 * in its record (`result_z`), and a result too large for its record in the results bucket (`result_object`, an
 * object in fauxqs's S3). `GET /tasks/{id}` answers both inline, digit for digit.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PAYLOADS } from '../../bench/payloads';
import { parseExactJson } from '../../lambda/core/json-text';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, eventually, type RunningRuntime } from './support/local-runtime';

jest.setTimeout(180_000);

let agents: DemoAgents;
let runtime: RunningRuntime;
let dynamodb: DynamoDBClient;
let s3: S3Client;

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Submits an echo task with `payload` (JSON text, sent as written) and returns the raw text of its final view. */
async function echo(payload: string): Promise<{ id: string; text: string }> {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"type":"echo","payload":${payload}}`,
  });
  expect(response.status).toBe(202);
  const { task_id: id } = (await response.json()) as { task_id: string };
  const text = await eventually(async () => {
    const view = await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).text();
    return /"status":"(SUCCEEDED|FAILED)"/.test(view) ? view : undefined;
  }, `task ${id} finishing`);
  return { id, text };
}

/** The task's item as DynamoDB Local holds it. */
async function storedItem(id: string) {
  const out = await dynamodb.send(
    new GetItemCommand({ TableName: runtime.outputs.TaskTableName!, Key: { task_id: { S: id } } }),
  );
  return out.Item!;
}

/** DynamoDB's size of a stored item (names and values; binary as its bytes). */
function storedBytes(item: Record<string, { S?: string; N?: string; B?: Uint8Array }>): number {
  return Object.entries(item).reduce((sum, [name, value]) => {
    const bytes = value.B
      ? value.B.byteLength
      : value.S !== undefined
        ? Buffer.byteLength(value.S)
        : value.N !== undefined
          ? Math.ceil(value.N.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1
          : 1;
    return sum + Buffer.byteLength(name) + bytes;
  }, 0);
}

beforeAll(async () => {
  agents = await startDemoAgents({ port: 0 });
  runtime = await bootRuntime({ agentsUrl: agents.url });
  dynamodb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${runtime.ports.dynamodb}`,
    credentials,
  });
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: runtime.awsEndpoint,
    credentials,
    forcePathStyle: true,
  });
});

afterAll(async () => {
  await runtime?.stop();
  dynamodb?.destroy();
  s3?.destroy();
  await agents?.close();
});

describe('local runtime: results stored by what their write costs', () => {
  it('compresses a 1 KB result into one write unit and answers it digit for digit', async () => {
    // Prepare: a realistic 1 KB payload (the echo answers it back), with numbers a double would change
    const prose = PAYLOADS.prose(3);
    const payload = JSON.stringify({ ...prose, n: '<n>' }).replace('"<n>"', '9007199254740993, "big": 1e400');
    const exact = JSON.stringify(parseExactJson(payload));

    // Act
    const { id, text } = await echo(payload);
    const item = await storedItem(id);

    // Assess
    expect(text).toContain('"status":"SUCCEEDED"');
    expect(JSON.stringify((parseExactJson(text) as { result: { echo: unknown } }).result.echo)).toBe(exact);
    expect(Buffer.byteLength(exact)).toBeGreaterThan(1000);
    expect(item.result_z?.B).toBeDefined();
    expect(item.result).toBeUndefined();
    expect(storedBytes(item as never)).toBeLessThanOrEqual(1024);
  });

  it('keeps a small result as text', async () => {
    // Act
    const { id, text } = await echo('{"ok":true}');
    const item = await storedItem(id);

    // Assess
    expect(text).toContain('"result":{"echo":{"ok":true}}');
    expect(item.result?.S).toBe('{"echo":{"ok":true}}');
    expect(item.result_z).toBeUndefined();
  });

  it('puts a result of 20 KB that does not compress in the results bucket, and answers it inline, exactly', async () => {
    // Prepare: random hex (4 bits a byte), a big number and an emoji
    const payload = `{"n":9007199254740993,"text":"😀 ${randomBytes(10_000).toString('hex')}"}`;
    const exact = JSON.stringify(parseExactJson(payload));

    // Act
    const { id, text } = await echo(payload);
    const item = await storedItem(id);
    const key = item.result_object?.S;
    const object = await s3.send(
      new GetObjectCommand({ Bucket: runtime.outputs.ResultBucketName!, Key: key! }),
    );

    // Assess
    expect(text).toContain('"status":"SUCCEEDED"');
    expect(JSON.stringify((parseExactJson(text) as { result: { echo: unknown } }).result.echo)).toBe(exact);
    expect(text).not.toContain('result_object');
    expect(key).toMatch(new RegExp(`^results/${id}/1-`));
    expect(await object.Body!.transformToString('utf-8')).toBe(`{"echo":${exact}}`);
    expect(item.result).toBeUndefined();
    expect(item.result_z).toBeUndefined();
    expect(storedBytes(item as never)).toBeLessThanOrEqual(1024);
  });
});
