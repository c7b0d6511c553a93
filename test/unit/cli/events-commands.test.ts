import { UsageError } from '../../../cli/errors';
import { buildFilterPolicy, parseFilter } from '../../../cli/events/filter-policy';
import { classifyMessage } from '../../../cli/events/replay';
import { tailQueuePolicy } from '../../../cli/events/tail';
import { runCli } from '../../../cli/program';

describe('Function: buildFilterPolicy', () => {
  it('is undefined without filters, so the subscription takes every event', () => {
    expect(buildFilterPolicy([], [])).toBeUndefined();
  });

  it('lists the values of one key (OR) and keeps one entry per key (AND), with --type as type=', () => {
    expect(
      buildFilterPolicy(['status=FAILED', 'status=CANCELLED', 'priority=high'], ['echo', 'sleep']),
    ).toEqual({
      status: ['FAILED', 'CANCELLED'],
      priority: ['high'],
      type: ['echo', 'sleep'],
    });
    expect(buildFilterPolicy(['status=FAILED,CANCELLED', 'status=FAILED'])).toEqual({
      status: ['FAILED', 'CANCELLED'],
    });
  });

  it('refuses a key that is not an event attribute, and values a status, priority or event cannot have', () => {
    expect(() => parseFilter('tenant=acme')).toThrow(UsageError);
    expect(() => parseFilter('status')).toThrow(UsageError);
    expect(() => parseFilter('status=')).toThrow(UsageError);
    expect(() => parseFilter('status=DONE')).toThrow('status is one of');
    expect(() => parseFilter('priority=urgent')).toThrow('priority is one of');
    expect(() => parseFilter('event=task.done')).toThrow('event is one of');
    expect(parseFilter('event=task.failed')).toEqual({ key: 'event', values: ['task.failed'] });
  });

  it("refuses a policy past SNS's 150 combinations", () => {
    const types = Array.from({ length: 31 }, (_, i) => `t${i}`);
    expect(() => buildFilterPolicy(['status=FAILED,CANCELLED,SUCCEEDED,QUEUED,RUNNING'], types)).toThrow(
      'SNS takes at most 150',
    );
  });
});

describe('Function: tailQueuePolicy', () => {
  it('lets only the events topic send to the tail queue', () => {
    expect(
      JSON.parse(tailQueuePolicy('arn:aws:sqs:eu-west-1:1:q', 'arn:aws:sns:eu-west-1:1:events')),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: 'arn:aws:sqs:eu-west-1:1:q',
          Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:eu-west-1:1:events' } },
        }),
      ],
    });
  });
});

describe('Function: classifyMessage', () => {
  const body = {
    schema_version: 1,
    event: 'task.failed',
    event_id: 't1:FAILED:3:0',
    task_id: 't1',
    type: 'echo',
    priority: 'high',
    status: 'FAILED',
    attempts: 3,
    occurred_at: '2026-01-01T00:00:00.000Z',
  };

  it('reads a kept event with its attributes as kept', () => {
    const kind = classifyMessage({
      Body: JSON.stringify(body),
      MessageAttributes: { status: { DataType: 'String', StringValue: 'FAILED' } },
    });
    expect(kind).toEqual({ kind: 'event', event: { body, attributes: { status: 'FAILED' } } });
  });

  it("gives a kept event without attributes the event's own attributes", () => {
    const kind = classifyMessage({ Body: JSON.stringify(body) });
    expect(kind).toEqual({
      kind: 'event',
      event: { body, attributes: { type: 'echo', priority: 'high', status: 'FAILED', event: 'task.failed' } },
    });
  });

  it("reads Lambda's on-failure record as a stream range", () => {
    const batch = {
      shardId: 's1',
      startSequenceNumber: '10',
      endSequenceNumber: '20',
      streamArn: 'arn:s',
      batchSize: 2,
    };
    expect(classifyMessage({ Body: JSON.stringify({ version: '1.0', DDBStreamBatchInfo: batch }) })).toEqual({
      kind: 'stream-range',
      batch,
    });
  });

  it('knows nothing else', () => {
    expect(classifyMessage({ Body: 'not json' })).toEqual({ kind: 'unknown' });
    expect(classifyMessage({ Body: '{"hello":1}' })).toEqual({ kind: 'unknown' });
  });
});

describe('Command: taskq events', () => {
  async function run(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      env: {},
      cwd: '/',
      fetch: async () => {
        throw new Error('no request expected');
      },
    });
    return { code, out: out.join(''), err: err.join('') };
  }

  it('refuses a bad --filter before it reaches any AWS API', async () => {
    const { code, err } = await run(['events', 'tail', '--filter', 'colour=red']);
    expect(code).toBe(2);
    expect(err).toContain('--filter takes key=value');
  });

  it('refuses --stack with --endpoint', async () => {
    const { code, err } = await run(['--endpoint', 'http://127.0.0.1:1', 'events', '--stack', 's', 'replay']);
    expect(code).toBe(2);
    expect(err).toContain('not both');
  });

  it('refuses --transitions that are not statuses', async () => {
    const { code } = await run(['events', 'replay', '--transitions', 'DONE']);
    expect(code).toBe(2);
  });
});
