import { listEnv, numberEnv, requireEnv } from '../../../lambda/adapters/env';
import { EnvName } from '../../../lambda/contract';

describe('Function: requireEnv', () => {
  const saved = process.env.TASK_TABLE_NAME;
  afterEach(() => {
    if (saved === undefined) delete process.env.TASK_TABLE_NAME;
    else process.env.TASK_TABLE_NAME = saved;
  });

  it('returns the value that is set', () => {
    process.env.TASK_TABLE_NAME = 'tasks';
    expect(requireEnv(EnvName.TaskTableName)).toBe('tasks');
  });

  it.each([undefined, ''])('throws when the variable is %p', (value) => {
    if (value === undefined) delete process.env.TASK_TABLE_NAME;
    else process.env.TASK_TABLE_NAME = value;
    expect(() => requireEnv(EnvName.TaskTableName)).toThrow(
      'TASK_TABLE_NAME environment variable is not set',
    );
  });
});

describe('Function: numberEnv', () => {
  afterEach(() => {
    delete process.env.MAX_RESULT_BYTES;
  });

  it('reads a number', () => {
    process.env.MAX_RESULT_BYTES = '1024';
    expect(numberEnv(EnvName.MaxResultBytes)).toBe(1024);
  });

  it('has no fallback: throws when the variable is not set', () => {
    delete process.env.MAX_RESULT_BYTES;
    expect(() => numberEnv(EnvName.MaxResultBytes)).toThrow(
      'MAX_RESULT_BYTES environment variable is not set',
    );
  });

  it('throws when the value is not a number', () => {
    process.env.MAX_RESULT_BYTES = 'lots';
    expect(() => numberEnv(EnvName.MaxResultBytes)).toThrow(
      "MAX_RESULT_BYTES environment variable must be a number, but 'lots' was set",
    );
  });
});

describe('Function: listEnv', () => {
  afterEach(() => {
    delete process.env.TASK_TYPES;
  });

  it('splits on commas and drops empty entries', () => {
    process.env.TASK_TYPES = 'echo,,summarize,';
    expect(listEnv(EnvName.TaskTypes)).toEqual(['echo', 'summarize']);
  });
});
