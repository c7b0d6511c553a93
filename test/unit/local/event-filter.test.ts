import { compileFilterCriteria, FilterPatternError } from '../../../local/event-filter';

const criteria = (...patterns: unknown[]) => ({
  Filters: patterns.map((p) => ({ Pattern: JSON.stringify(p) })),
});

/** A DynamoDB stream record in Lambda's event shape. */
const record = (eventName: string, status?: string, oldStatus?: string) => ({
  eventName,
  eventSource: 'aws:dynamodb',
  dynamodb: {
    Keys: { task_id: { S: 't1' } },
    ...(status !== undefined && {
      NewImage: { task_id: { S: 't1' }, status: { S: status }, attempts: { N: '2' } },
    }),
    ...(oldStatus !== undefined && { OldImage: { status: { S: oldStatus } } }),
  },
});

describe('Function: compileFilterCriteria', () => {
  it('accepts every record when the mapping has no FilterCriteria, or no filters', () => {
    expect(compileFilterCriteria(undefined).accepts(record('REMOVE'))).toBe(true);
    expect(compileFilterCriteria({ Filters: [] }).accepts(record('REMOVE'))).toBe(true);
  });

  it('matches an exact value among an array of values', () => {
    const filter = compileFilterCriteria(criteria({ eventName: ['INSERT', 'MODIFY'] }));
    expect(filter.accepts(record('INSERT'))).toBe(true);
    expect(filter.accepts(record('MODIFY'))).toBe(true);
    expect(filter.accepts(record('REMOVE'))).toBe(false);
  });

  it('follows nested keys down to a DynamoDB attribute value, and ANDs every key', () => {
    const filter = compileFilterCriteria(
      criteria({
        eventName: ['INSERT', 'MODIFY'],
        dynamodb: { NewImage: { status: { S: ['SUCCEEDED', 'FAILED', 'CANCELLED'] } } },
      }),
    );
    expect(filter.accepts(record('MODIFY', 'FAILED'))).toBe(true);
    expect(filter.accepts(record('MODIFY', 'RUNNING'))).toBe(false);
    expect(filter.accepts(record('REMOVE', 'FAILED'))).toBe(false);
    // No NewImage at all: the nested key is missing, so the value cannot match.
    expect(filter.accepts(record('MODIFY'))).toBe(false);
  });

  it('accepts a record that any one of several filters matches (OR between filters)', () => {
    const filter = compileFilterCriteria(criteria({ eventName: ['INSERT'] }, { eventName: ['REMOVE'] }));
    expect(filter.accepts(record('INSERT'))).toBe(true);
    expect(filter.accepts(record('REMOVE'))).toBe(true);
    expect(filter.accepts(record('MODIFY'))).toBe(false);
  });

  it('matches a string literal only to an equal string, and a number only to a number', () => {
    const filter = compileFilterCriteria(criteria({ dynamodb: { NewImage: { attempts: { N: [2] } } } }));
    // DynamoDB numbers are strings in the event: the number 2 does not match "2".
    expect(filter.accepts(record('MODIFY', 'FAILED'))).toBe(false);
    expect(
      compileFilterCriteria(criteria({ dynamodb: { NewImage: { attempts: { N: ['2'] } } } })).accepts(
        record('MODIFY', 'FAILED'),
      ),
    ).toBe(true);
  });

  it('applies exists, prefix, anything-but and numeric matchers', () => {
    const noOld = compileFilterCriteria(
      criteria({ dynamodb: { OldImage: { status: [{ exists: false }] } } }),
    );
    expect(noOld.accepts(record('INSERT', 'QUEUED'))).toBe(true);
    expect(noOld.accepts(record('MODIFY', 'RUNNING', 'QUEUED'))).toBe(false);

    const prefix = compileFilterCriteria(criteria({ eventName: [{ prefix: 'INS' }] }));
    expect(prefix.accepts(record('INSERT'))).toBe(true);
    expect(prefix.accepts(record('MODIFY'))).toBe(false);

    const notRunning = compileFilterCriteria(
      criteria({ dynamodb: { NewImage: { status: { S: [{ 'anything-but': ['RUNNING', 'QUEUED'] }] } } } }),
    );
    expect(notRunning.accepts(record('MODIFY', 'FAILED'))).toBe(true);
    expect(notRunning.accepts(record('MODIFY', 'RUNNING'))).toBe(false);

    const range = compileFilterCriteria(criteria({ size: [{ numeric: ['>=', 10, '<', 20] }] }));
    expect(range.accepts({ size: 10 })).toBe(true);
    expect(range.accepts({ size: 20 })).toBe(false);
    expect(range.accepts({ size: '15' })).toBe(false);
  });

  it('matches an array value of the record when one of its elements matches', () => {
    const filter = compileFilterCriteria(criteria({ tags: ['b'] }));
    expect(filter.accepts({ tags: ['a', 'b'] })).toBe(true);
    expect(filter.accepts({ tags: ['a', 'c'] })).toBe(false);
  });

  it('applies $or between alternative patterns', () => {
    const filter = compileFilterCriteria(
      criteria({
        $or: [{ eventName: ['INSERT'] }, { dynamodb: { NewImage: { status: { S: ['FAILED'] } } } }],
      }),
    );
    expect(filter.accepts(record('INSERT', 'QUEUED'))).toBe(true);
    expect(filter.accepts(record('MODIFY', 'FAILED'))).toBe(true);
    expect(filter.accepts(record('MODIFY', 'SUCCEEDED'))).toBe(false);
  });

  it('throws for a pattern that is not JSON, and for syntax not emulated, instead of guessing', () => {
    expect(() => compileFilterCriteria({ Filters: [{ Pattern: '{not json' }] })).toThrow(FilterPatternError);
    expect(() => compileFilterCriteria(criteria({ ip: [{ cidr: '10.0.0.0/24' }] }))).toThrow(
      "the operator 'cidr' is not emulated locally",
    );
    expect(() => compileFilterCriteria(criteria({ eventName: 'INSERT' }))).toThrow(FilterPatternError);
    expect(() => compileFilterCriteria(criteria({ eventName: [] }))).toThrow(FilterPatternError);
  });
});
