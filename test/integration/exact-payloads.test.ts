/**
 * Payloads exactly as sent, through the local runtime: text SQS refuses as it stands (U+FFFF), text outside
 * the Basic Multilingual Plane (an emoji), and numbers a double would change. The demo agents run in this
 * process, so the test sees the payload the echo agent received.
 */
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { isSqsText, parseExactJson } from '../../lambda/core/json-text';
import { type DemoAgents, startDemoAgents } from '../../local/demo-agents';
import { bootRuntime, eventually, peekMessage, type RunningRuntime } from './support/local-runtime';

jest.setTimeout(180_000);

/** The payload as the client writes it: `\uffff` is a JSON escape in the text, 6 characters. */
const PAYLOAD = '{"text":"great 😀", "n": 9007199254740993, "big": 1e400, "x":"\\uffff"}';
/** The same JSON value with every number literal as written, without whitespace. */
const EXACT = JSON.stringify(parseExactJson(PAYLOAD));

let agents: DemoAgents;
let runtime: RunningRuntime;
let sqs: SQSClient;
/** The payload each task's agent request carried, serialised with its number literals as received. */
const received = new Map<string, string>();

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as { task_id: string } };
}

/** The task once it is terminal, as the raw text GET /tasks/{id} answered. */
function finishedText(id: string): Promise<string> {
  return eventually(async () => {
    const text = await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).text();
    return /"status":"(SUCCEEDED|FAILED|CANCELLED)"/.test(text) ? text : undefined;
  }, `task ${id} finishing`);
}

beforeAll(async () => {
  agents = await startDemoAgents({
    port: 0,
    beforeAnswer: async (request) => {
      received.set(String(request.task_id), JSON.stringify(request.payload));
    },
  });
  runtime = await bootRuntime({ agentsUrl: agents.url });
  sqs = runtime.sqsClient();
});

afterAll(async () => {
  await runtime?.stop();
  sqs?.destroy();
  await agents?.close();
});

describe('local runtime: payloads exactly as sent', () => {
  it('accepts an emoji, U+FFFF and big numbers (202), hands the echo agent the exact payload, and returns its result digit for digit', async () => {
    // Act
    const created = await post(`{"type":"echo","payload":${PAYLOAD}}`);
    const task = await finishedText(created.body.task_id);

    // Assess
    expect(created.status).toBe(202);
    expect(received.get(created.body.task_id)).toBe(EXACT);
    expect(task).toContain('"status":"SUCCEEDED"');
    expect(task).toContain('"n":9007199254740993,"big":1e400');
    const result = (parseExactJson(task) as { result: { echo: unknown } }).result.echo;
    expect(JSON.stringify(result)).toBe(EXACT);
  });

  it('sends SQS a valid message body carrying the exact payload (seen in the DLQ copy of a poison task)', async () => {
    // Act
    const created = await post(`{"type":"poison","priority":"high","payload":${PAYLOAD}}`);
    await finishedText(created.body.task_id);
    const dead = await peekMessage(sqs, runtime.outputs.HighDeadLetterQueueUrl!, created.body.task_id);

    // Assess
    expect(created.status).toBe(202);
    expect(isSqsText(dead.Body!)).toBe(true);
    expect(dead.Body).toContain('\\uffff');
    const envelope = parseExactJson(dead.Body!) as { payload: unknown };
    expect(JSON.stringify(envelope.payload)).toBe(EXACT);
    for (const attribute of Object.values(dead.MessageAttributes ?? {}))
      expect(isSqsText(attribute.StringValue ?? '')).toBe(true);
  });

  it('answers 409 when the key is reused with a number that differs only past double precision', async () => {
    // Prepare
    const key = `exact-${randomUUID()}`;
    const first = await post(`{"type":"echo","payload":{"n":9007199254740993},"idempotency_key":"${key}"}`);

    // Act
    const replay = await post(
      `{"payload":{"n":9007199254740993.0},"type":"echo","idempotency_key":"${key}"}`,
    );
    const other = await post(`{"type":"echo","payload":{"n":9007199254740992},"idempotency_key":"${key}"}`);

    // Assess
    expect(first.status).toBe(202);
    expect(replay.status).toBe(200);
    expect(other.status).toBe(409);
  });
});
