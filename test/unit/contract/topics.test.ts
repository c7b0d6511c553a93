import {
  encodeTopics,
  MAX_TOPIC_SUBSCRIBERS,
  parseTopics,
  topicErrors,
} from '../../../lambda/contract/topics';

const AGENTS = ['summarize', 'index', 'echo'];
/** A type pattern: topicErrors checks names against the one it is given (lib/ gives the task contract's). */
const TYPE_PATTERN = /^[a-z][a-z.-]{0,31}$/;

describe('Function: topicErrors', () => {
  it('finds nothing wrong with topics whose subscribers are registered agents, nor with no topics', () => {
    // Act / Assess
    expect(
      topicErrors(
        { 'document.uploaded': { subscribers: ['summarize', 'index'] }, solo: { subscribers: ['echo'] } },
        AGENTS,
        TYPE_PATTERN,
      ),
    ).toEqual([]);
    expect(topicErrors(undefined, AGENTS, TYPE_PATTERN)).toEqual([]);
  });

  it('refuses a topic name that does not follow the task type pattern', () => {
    // Act
    const errors = topicErrors({ 'bad name!': { subscribers: ['echo'] } }, AGENTS, TYPE_PATTERN);

    // Assess
    expect(errors).toEqual([expect.stringContaining("topic 'bad name!' must match")]);
  });

  it('refuses a topic named like an agent type', () => {
    // Act
    const errors = topicErrors({ echo: { subscribers: ['index'] } }, AGENTS, TYPE_PATTERN);

    // Assess
    expect(errors).toEqual(["topic 'echo' clashes with the agent type of the same name"]);
  });

  it.each([
    ['an empty list', { subscribers: [] }],
    ['no list', {}],
    ['a string', { subscribers: 'echo' }],
  ])('refuses a topic with no subscribers (%s)', (_name, topic) => {
    // Act
    const errors = topicErrors({ t: topic }, AGENTS, TYPE_PATTERN);

    // Assess
    expect(errors).toEqual(["topic 't' needs at least one subscriber (a list of agent types)"]);
  });

  it('refuses a subscriber that is not a registered agent type, naming it', () => {
    // Act
    const errors = topicErrors({ t: { subscribers: ['echo', 'nope', 7] } }, AGENTS, TYPE_PATTERN);

    // Assess
    expect(errors).toEqual([
      "topic 't': subscriber 'nope' is not a registered agent type",
      "topic 't': subscriber '7' is not a registered agent type",
    ]);
  });

  it('refuses a subscriber listed twice', () => {
    // Act
    const errors = topicErrors({ t: { subscribers: ['echo', 'index', 'echo'] } }, AGENTS, TYPE_PATTERN);

    // Assess
    expect(errors).toEqual(["topic 't': subscriber 'echo' is listed twice"]);
  });

  it(`accepts ${MAX_TOPIC_SUBSCRIBERS} subscribers and refuses one more`, () => {
    // Prepare
    const agents = Array.from(
      { length: MAX_TOPIC_SUBSCRIBERS + 1 },
      (_, i) => `agent-${String.fromCharCode(97 + i)}`,
    );

    // Act
    const atMost = topicErrors(
      { t: { subscribers: agents.slice(0, MAX_TOPIC_SUBSCRIBERS) } },
      agents,
      TYPE_PATTERN,
    );
    const over = topicErrors({ t: { subscribers: agents } }, agents, TYPE_PATTERN);

    // Assess
    expect(atMost).toEqual([]);
    expect(over).toEqual([
      `topic 't' has ${MAX_TOPIC_SUBSCRIBERS + 1} subscribers; at most ${MAX_TOPIC_SUBSCRIBERS} are allowed`,
    ]);
  });

  it('reports every problem of every topic at once', () => {
    // Act
    const errors = topicErrors(
      { echo: { subscribers: ['nope'] }, 'x y': { subscribers: [] } },
      AGENTS,
      TYPE_PATTERN,
    );

    // Assess
    expect(errors).toHaveLength(4);
  });
});

describe('Functions: encodeTopics and parseTopics', () => {
  it('round-trip the topics as topic name to subscriber list', () => {
    // Prepare
    const topics = {
      'document.uploaded': { subscribers: ['summarize', 'index'] },
      solo: { subscribers: ['echo'] },
    };

    // Act
    const text = encodeTopics(topics);

    // Assess
    expect(JSON.parse(text)).toEqual({ 'document.uploaded': ['summarize', 'index'], solo: ['echo'] });
    expect(parseTopics(text)).toEqual({ 'document.uploaded': ['summarize', 'index'], solo: ['echo'] });
  });

  it('encode no topics as an empty object, which parses back to no topics', () => {
    // Act
    const text = encodeTopics(undefined);

    // Assess
    expect(text).toBe('{}');
    expect(parseTopics(text)).toEqual({});
  });

  it.each([
    ['not JSON', 'nope'],
    ['null', 'null'],
    ['a list', '["a"]'],
    ['a string', '"a"'],
  ])('parseTopics refuses %s', (_name, text) => {
    // Act / Assess
    expect(() => parseTopics(text)).toThrow();
  });

  it.each([
    ['a string', '{"t":"echo"}'],
    ['a list with a number', '{"t":["echo",1]}'],
    ['an object', '{"t":{"subscribers":["echo"]}}'],
  ])('parseTopics refuses subscribers given as %s, naming the topic', (_name, text) => {
    // Act / Assess
    expect(() => parseTopics(text)).toThrow("TOPICS: the subscribers of 't' must be a list of agent types");
  });
});
