/**
 * Topics (publish/subscribe): what the construct, the config file and the local runtime declare, how lib/ passes
 * them to the producer (`TOPICS`, JSON), and the rules a declaration must follow. No imports (see environment.ts).
 */

/** The most subscribers one topic may have: a published record lists them all, within one DynamoDB item. */
export const MAX_TOPIC_SUBSCRIBERS = 20;

/** One topic: the agent types a task published to it is delivered to, one delivery each. */
export interface TopicDefinition {
  readonly subscribers: readonly string[];
}

/** Topic name → its definition, as declared (`topics` in the construct props and the config file). */
export type TopicDefinitions = Readonly<Record<string, TopicDefinition>>;

/** Topic name → its subscribers: what the producer reads. */
export type TopicSubscribers = Readonly<Record<string, readonly string[]>>;

/** The `TOPICS` value lib/ writes: `{"<topic>": ["<subscriber>", …]}`. */
export function encodeTopics(topics: TopicDefinitions | undefined): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(topics ?? {}).map(([name, topic]) => [name, [...topic.subscribers]])),
  );
}

/** Reads `TOPICS`; throws on anything lib/ would not have written. */
export function parseTopics(text: string): TopicSubscribers {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('TOPICS must be a JSON object of topic name to subscriber list');
  }
  for (const [name, subscribers] of Object.entries(value)) {
    if (!Array.isArray(subscribers) || subscribers.some((s) => typeof s !== 'string')) {
      throw new Error(`TOPICS: the subscribers of '${name}' must be a list of agent types`);
    }
  }
  return value as TopicSubscribers;
}

/**
 * What is wrong with a declaration of topics, one message per problem: each topic name follows the task-type pattern
 * and is not an agent type; it has at least one subscriber, each a registered agent type, none twice, and at most MAX_TOPIC_SUBSCRIBERS of them.
 */
export function topicErrors(
  topics: Readonly<Record<string, { readonly subscribers?: unknown }>> | undefined,
  agentTypes: readonly string[],
  typePattern: RegExp,
): string[] {
  const errors: string[] = [];
  for (const [name, topic] of Object.entries(topics ?? {})) {
    if (!typePattern.test(name))
      errors.push(`topic '${name}' must match ${typePattern} (the task type pattern)`);
    if (agentTypes.includes(name))
      errors.push(`topic '${name}' clashes with the agent type of the same name`);
    const subscribers = topic?.subscribers;
    if (!Array.isArray(subscribers) || subscribers.length === 0) {
      errors.push(`topic '${name}' needs at least one subscriber (a list of agent types)`);
      continue;
    }
    if (subscribers.length > MAX_TOPIC_SUBSCRIBERS) {
      errors.push(
        `topic '${name}' has ${subscribers.length} subscribers; at most ${MAX_TOPIC_SUBSCRIBERS} are allowed`,
      );
    }
    const seen = new Set<unknown>();
    for (const subscriber of subscribers) {
      if (typeof subscriber !== 'string' || !agentTypes.includes(subscriber)) {
        errors.push(`topic '${name}': subscriber '${String(subscriber)}' is not a registered agent type`);
      } else if (seen.has(subscriber)) {
        errors.push(`topic '${name}': subscriber '${subscriber}' is listed twice`);
      }
      seen.add(subscriber);
    }
  }
  return errors;
}
