import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileTaskSchema } from '../../../scripts/compile-schema';

describe('File: lambda/core/generated/validate-task.js', () => {
  it('matches what scripts/compile-schema.ts generates from schema/task.schema.json', () => {
    // Prepare
    const committed = readFileSync(
      join(__dirname, '../../../lambda/core/generated/validate-task.js'),
      'utf8',
    );

    // Act
    const generated = compileTaskSchema();

    // Assess: on failure, run `npx tsx scripts/compile-schema.ts`
    expect(committed).toBe(generated);
  });
});
