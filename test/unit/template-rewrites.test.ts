/**
 * The pure parts of taskq local's template rewrites: JSON with intrinsics in it (local/joined-json.ts), the
 * `--agent TYPE=URL` syntax, and rewrites of small hand-written templates for the cases a synthesized app does
 * not show. The rewrites of real synthesized apps are in test/infra/template-rewrites.test.ts.
 */
import { readJoinedJson } from '../../local/joined-json';
import type { Template } from '../../local/template';
import { applyLocalOverrides, parseAgentOverride } from '../../local/template-rewrites';

const arn = { 'Fn::GetAtt': ['AgentFn', 'Arn'] };

describe('readJoinedJson', () => {
  test('parses a plain JSON string and writes a changed value back as a string', () => {
    const json = readJoinedJson('{"a":{"n":1}}')!;
    expect(json.value).toEqual({ a: { n: 1 } });
    expect(json.toTemplate({ a: { n: 2 } })).toBe('{"a":{"n":2}}');
  });

  test('keeps an intrinsic inside a JSON string where it was, and writes the literal parts changed', () => {
    const value = { 'Fn::Join': ['', ['{"x":{"functionArn":"', arn, '","timeoutSeconds":60}}']] };
    const json = readJoinedJson(value)!;
    const x = (json.value as { x: { functionArn: string; timeoutSeconds: number } }).x;
    expect(json.intrinsicOf(x.functionArn)).toEqual(arn);

    x.timeoutSeconds = 15;
    expect(json.toTemplate(json.value)).toEqual({
      'Fn::Join': ['', ['{"x":{"functionArn":"', arn, '","timeoutSeconds":15}}']],
    });
  });

  test('unchanged, it writes the same Fn::Join back', () => {
    const value = { 'Fn::Join': ['', ['{"a":"', arn, '","b":"arn:', { Ref: 'AWS::Region' }, ':x"}']] };
    const json = readJoinedJson(value)!;
    expect(json.toTemplate(json.value)).toEqual(value);
  });

  test('an intrinsic that stands for a whole JSON value (outside a string) stays a whole value', () => {
    const count = { Ref: 'Count' };
    const json = readJoinedJson({ 'Fn::Join': ['', ['{"n":', count, ',"s":"q\\"', arn, '"}']] })!;
    const value = json.value as Record<string, unknown>;
    value.extra = true;
    expect(json.toTemplate(value)).toEqual({
      'Fn::Join': ['', ['{"n":', count, ',"s":"q\\"', arn, '","extra":true}']],
    });
  });

  test('a dropped intrinsic is gone, and a value left with none is a plain string', () => {
    const json = readJoinedJson({ 'Fn::Join': ['', ['{"a":"', arn, '"}']] })!;
    expect(json.toTemplate({ a: 'http://127.0.0.1:9000' })).toBe('{"a":"http://127.0.0.1:9000"}');
  });

  test('a join with a separator and a nested join read as the text they make', () => {
    const json = readJoinedJson({
      'Fn::Join': [',', ['{"a":"x', { 'Fn::Join': ['', ['y', arn, 'z']] }, 'w"}']],
    })!;
    expect(json.render((json.value as { a: string }).a, () => 'ARN')).toBe('x,yARNz,w');
  });

  test('a lone intrinsic is no JSON; text that is not JSON throws', () => {
    expect(readJoinedJson({ Ref: 'X' })).toBeUndefined();
    expect(() => readJoinedJson('{"a":')).toThrow();
  });
});

describe('parseAgentOverride', () => {
  test('splits TYPE=URL at the first =', () => {
    expect(parseAgentOverride('summarize=http://127.0.0.1:9000/s?a=b')).toEqual([
      'summarize',
      'http://127.0.0.1:9000/s?a=b',
    ]);
  });

  test.each([
    ['summarize', 'must be TYPE=URL'],
    ['=http://127.0.0.1', 'is not a task type'],
    ['sum marize=http://127.0.0.1', 'is not a task type'],
    ['summarize=', 'is not a URL'],
    ['summarize=127.0.0.1:9000', 'is not a URL'],
    ['summarize=localhost:9000', 'must be an http:// or https:// URL'],
    ['summarize=file:///tmp/x', 'must be an http:// or https:// URL'],
  ])('refuses %j', (text, message) => {
    expect(() => parseAgentOverride(text)).toThrow(message);
  });
});

/** A consumer of one tier as the construct writes it, with a queue whose visibility timeout is `visibility`. */
function tierTemplate(visibility: number, agents: unknown): Template {
  return {
    Resources: {
      Queue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          VisibilityTimeout: visibility,
          RedrivePolicy: { deadLetterTargetArn: 'x', maxReceiveCount: 5 },
        },
      },
      Consumer: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Timeout: 120,
          Environment: {
            Variables: {
              TASKQ_FUNCTION_ROLE: 'consumer',
              AGENTS: agents,
              LEASE_SECONDS: '240',
              QUEUE_URL: { Ref: 'Queue' },
              MAX_RECEIVE_COUNT: '5',
            },
          },
        },
      },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: { FunctionName: { Ref: 'Consumer' }, EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
      },
      AgentFn: { Type: 'AWS::Lambda::Function', Properties: { Timeout: 50 } },
    },
  };
}
const AGENTS = '{"web":{"kind":"http","url":"https://a.example.com","timeoutSeconds":60}}';
const queueOf = (t: Template) => t.Resources.Queue!.Properties!;
const consumerOf = (t: Template) => t.Resources.Consumer!.Properties!;

describe('applyLocalOverrides on hand-written templates', () => {
  test('an explicit visibility timeout that still holds 6 × the new consumer timeout is kept', () => {
    const { template } = applyLocalOverrides(tierTemplate(900, AGENTS), { consumerTimeoutSeconds: 100 });
    expect(queueOf(template).VisibilityTimeout).toBe(900);
    expect(consumerOf(template).Timeout).toBe(100);
  });

  test('an explicit visibility timeout too short for the new consumer timeout is raised to 6 ×, and noted', () => {
    const { template, notes } = applyLocalOverrides(tierTemplate(900, AGENTS), {
      consumerTimeoutSeconds: 200,
    });
    expect(queueOf(template).VisibilityTimeout).toBe(1200);
    expect(notes).toEqual([expect.stringContaining('queue Queue visibility timeout 900 s → 1200 s')]);
  });

  test('a sync Lambda agent of the template gets its function timeout cut to its new agent timeout', () => {
    const agents = {
      'Fn::Join': [
        '',
        [
          '{"fn":{"kind":"lambda","functionArn":"',
          { 'Fn::GetAtt': ['AgentFn', 'Arn'] },
          '","timeoutSeconds":50}}',
        ],
      ],
    };
    const { template, notRunnable } = applyLocalOverrides(tierTemplate(720, agents), {
      consumerTimeoutSeconds: 30,
    });
    // 30 − max(5, 3) = 25
    expect(template.Resources.AgentFn!.Properties!.Timeout).toBe(25);
    expect(notRunnable).toEqual([]);
  });

  test('a Lambda agent referring to a resource the template does not have is not runnable', () => {
    const agents = {
      'Fn::Join': [
        '',
        [
          '{"fn":{"kind":"lambda","functionArn":"',
          { 'Fn::ImportValue': 'AgentArn' },
          '","timeoutSeconds":50}}',
        ],
      ],
    };
    const { notRunnable } = applyLocalOverrides(tierTemplate(720, agents), {});
    expect(notRunnable).toEqual(['fn → {"Fn::ImportValue":"AgentArn"}']);
  });

  test('a timeout that is an intrinsic cannot be rewritten, and says so', () => {
    const t = tierTemplate(720, AGENTS);
    (consumerOf(t) as Record<string, unknown>).Timeout = { Ref: 'TimeoutParameter' };
    expect(() => applyLocalOverrides(t, { consumerTimeoutSeconds: 30 })).toThrow(
      `Consumer Timeout is ${'$'}{TimeoutParameter}, not a literal number`,
    );
  });

  test('AGENTS that is not JSON of agents is refused by name', () => {
    expect(() => applyLocalOverrides(tierTemplate(720, '[1]'), {})).toThrow(
      'AGENTS of Consumer is not a JSON object',
    );
  });
});
