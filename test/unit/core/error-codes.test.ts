import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  API_ERROR_CODES,
  ApiErrorCode,
  agentHttpCode,
  isTaskErrorFamily,
  TASK_ERROR_CODES,
  TaskErrorCode,
} from '../../../lambda/core/error-codes';

/** The page for operators that lists the task error codes (the README links to it). */
const OPERATING_PAGE = path.join(__dirname, '../../../docs/operating.md');

/** The cells of the table under `## Task error codes` in docs/operating.md whose first header cell is `code`. */
function operatorErrorTable(): string[][] {
  const page = readFileSync(OPERATING_PAGE, 'utf8');
  const start = page.indexOf('\n## Task error codes\n');
  if (start < 0) throw new Error('docs/operating.md has no "## Task error codes" section');
  const end = page.indexOf('\n## ', start + 1);
  const section = page.slice(start, end < 0 ? undefined : end).split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim());
  const header = section.findIndex((line) => /^\s*\|/.test(line) && cells(line)[0] === 'code');
  if (header < 0) throw new Error('the "Task error codes" section has no table whose first column is "code"');
  const rows: string[][] = [];
  for (const line of section.slice(header + 2)) {
    if (!/^\s*\|/.test(line)) break;
    rows.push(cells(line));
  }
  return rows;
}

/** The table rows the catalogue asks for: code, meaning, retried. */
function catalogueRows(): string[][] {
  return Object.entries(TASK_ERROR_CODES).map(([code, info]) => [
    `\`${code}\``,
    info.meaning,
    info.retried === true ? 'yes' : info.retried === false ? 'no' : info.retried,
  ]);
}

describe('Catalogue: TASK_ERROR_CODES', () => {
  it("is the operators' error-code table (docs/operating.md): the same codes, in the same order", () => {
    // Act
    const listed = operatorErrorTable().map((row) => row[0]);

    // Assess
    expect(listed).toEqual(catalogueRows().map((row) => row[0]));
  });

  it("is the operators' error-code table (docs/operating.md): each code's meaning and whether it is retried", () => {
    // Act
    const rows = operatorErrorTable();

    // Assess
    expect(rows).toEqual(catalogueRows());
  });

  it('names each code by itself, and leaves the families out of TaskErrorCode', () => {
    // Act
    const names = Object.entries(TaskErrorCode);

    // Assess
    expect(names.every(([name, code]) => name === code)).toBe(true);
    expect(Object.keys(TaskErrorCode)).toEqual(
      Object.keys(TASK_ERROR_CODES).filter((key) => !key.includes('<')),
    );
    expect(Object.keys(TASK_ERROR_CODES).filter(isTaskErrorFamily)).toEqual([
      'AgentHttp<status>',
      '<errorType>',
      '<code>',
    ]);
  });

  it("builds an HTTP agent's code from its status", () => {
    // Act
    const code = agentHttpCode(503);

    // Assess
    expect(code).toBe('AgentHttp503');
  });
});

describe('Catalogue: API_ERROR_CODES', () => {
  it('names each code by itself', () => {
    // Act
    const names = Object.entries(ApiErrorCode);

    // Assess
    expect(names.map(([name]) => name)).toEqual(Object.keys(API_ERROR_CODES));
    expect(names.every(([name, code]) => name === code)).toBe(true);
  });

  it('gives every code a 4xx or 5xx status', () => {
    // Act
    const statuses = Object.values(API_ERROR_CODES).map((info) => info.status);

    // Assess
    expect(statuses.every((status) => status >= 400 && status < 600)).toBe(true);
  });
});
