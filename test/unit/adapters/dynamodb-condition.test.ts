/**
 * The one translation of a state-machine rule into a DynamoDB condition. What each condition allows on a real
 * table is the task store contract's (test/integration/task-store-contract.test.ts); here, the text DynamoDB
 * receives and the placeholders it requires.
 */
import { conditionOf, mergeAttributes } from '../../../lambda/adapters/dynamodb-condition';
import { TRANSITIONS, type TransitionName } from '../../../lambda/core/transitions';

const FACTS = { nowMs: 1_000, enqueueId: 'e1', attempt: 2, redriveGraceEnd: '2026-01-01T00:00:00.000Z' };
const LEASE_EXPIRED = '(#status = :running AND (attribute_not_exists(lease_until) OR lease_until < :nowMs))';

describe('Function: conditionOf', () => {
  it.each<[TransitionName, string]>([
    [
      'claim',
      'attribute_not_exists(task_id) OR ' +
        '(enqueue_id = :eid AND (#status = :queued OR ' +
        '(#status = :retrying AND (attribute_not_exists(retry_at) OR retry_at <= :nowMs)) OR ' +
        '(#status = :running AND (attribute_not_exists(lease_until) OR lease_until < :nowMs) AND ' +
        'attribute_not_exists(agent_mode))))',
    ],
    ['succeed', 'attribute_exists(task_id) AND attempts = :attempt AND #status = :running'],
    ['retry', 'attribute_exists(task_id) AND attempts = :attempt AND #status = :running'],
    ['fail', 'attribute_exists(task_id) AND attempts = :attempt AND #status = :running'],
    ['cancel', 'attribute_exists(task_id) AND #status IN (:queued, :retrying)'],
    [
      'abandon',
      'attribute_exists(task_id) AND (attribute_not_exists(enqueue_id) OR enqueue_id = :eid) AND ' +
        '(attribute_not_exists(redriven_at) OR redriven_at < :graceEnd) AND ' +
        `(#status IN (:queued, :retrying) OR ${LEASE_EXPIRED})`,
    ],
    ['requeue', `attribute_exists(task_id) AND (#status IN (:failed, :retrying) OR ${LEASE_EXPIRED})`],
    [
      'heartbeat',
      'attribute_exists(task_id) AND attempts = :attempt AND agent_mode = :async AND ' +
        '(#status = :running AND lease_until >= :nowMs)',
    ],
    [
      'lapseRetry',
      'attribute_exists(task_id) AND attempts = :attempt AND agent_mode = :async AND ' +
        '(#status = :running AND (attribute_not_exists(lease_until) OR lease_until < :nowMs))',
    ],
    ['requestCancel', 'attribute_exists(task_id) AND agent_mode = :async AND #status = :running'],
  ])('writes the %s rule as a condition', (name, expected) => {
    // Act
    const condition = conditionOf(TRANSITIONS[name], FACTS);

    // Assess
    expect(condition.ConditionExpression).toBe(expected);
  });

  it.each(Object.keys(TRANSITIONS) as TransitionName[])(
    'defines exactly the placeholders the %s condition uses (DynamoDB rejects an unused one)',
    (name) => {
      // Act
      const condition = conditionOf(TRANSITIONS[name], FACTS);

      // Assess
      const used = (prefix: string) =>
        new Set(condition.ConditionExpression.match(new RegExp(`${prefix}[A-Za-z0-9_]+`, 'g')));
      expect(new Set(Object.keys(condition.ExpressionAttributeValues))).toEqual(used(':'));
      expect(new Set(Object.keys(condition.ExpressionAttributeNames))).toEqual(used('#'));
    },
  );

  it('gives each placeholder its value', () => {
    // Act
    const condition = conditionOf(TRANSITIONS.abandon, FACTS);

    // Assess
    expect(condition).toMatchObject({
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':queued': 'QUEUED',
        ':retrying': 'RETRYING',
        ':running': 'RUNNING',
        ':eid': 'e1',
        ':graceEnd': FACTS.redriveGraceEnd,
        ':nowMs': 1_000,
      },
    });
  });

  it('matches a dead letter without an enqueue id only to a record without one', () => {
    // Act
    const condition = conditionOf(TRANSITIONS.abandon, { ...FACTS, enqueueId: undefined });

    // Assess
    expect(condition.ConditionExpression).toMatch(
      /^attribute_exists\(task_id\) AND attribute_not_exists\(enqueue_id\) AND /,
    );
    expect(condition.ExpressionAttributeValues).not.toHaveProperty(':eid');
  });

  it.each([
    ['claim', 'enqueueId'],
    ['fail', 'attempt'],
    ['abandon', 'redriveGraceEnd'],
  ] as const)('throws when the %s rule is built without %s', (name, fact) => {
    // Prepare
    const { [fact]: _missing, ...facts } = FACTS;

    // Act
    const build = () => conditionOf(TRANSITIONS[name], facts);

    // Assess
    expect(build).toThrow(`the ${name} rule needs ${fact}`);
  });
});

describe('Function: mergeAttributes', () => {
  it("adds the update's names and values to the condition's", () => {
    // Prepare
    const condition = conditionOf(TRANSITIONS.cancel, FACTS);

    // Act
    const merged = mergeAttributes(condition, { names: { '#error': 'error' }, values: { ':now': 'now' } });

    // Assess
    expect(merged).toEqual({
      names: { '#status': 'status', '#error': 'error' },
      values: { ':queued': 'QUEUED', ':retrying': 'RETRYING', ':now': 'now' },
    });
  });

  it('accepts a placeholder both define with the same value (the status a claim leaves from and writes)', () => {
    // Act
    const merged = mergeAttributes(conditionOf(TRANSITIONS.claim, FACTS), {
      values: { ':running': 'RUNNING' },
    });

    // Assess
    expect(merged.values[':running']).toBe('RUNNING');
  });

  it('throws when the update gives a placeholder of the condition another value', () => {
    // Act
    const merge = () => mergeAttributes(conditionOf(TRANSITIONS.claim, FACTS), { values: { ':eid': 'e2' } });

    // Assess
    expect(merge).toThrow('placeholder :eid is e1 in the condition and e2 in the update');
  });
});
