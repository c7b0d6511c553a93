import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { type FakeTaskApi, startFakeTaskApi } from './fake-task-api';

const SHIM = join(__dirname, '../../../bin/taskq');

/** Runs bin/taskq in a child process, as `npx taskq` does. */
function runShim(args: readonly string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [SHIM, ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('Executable: bin/taskq', () => {
  let api: FakeTaskApi;

  beforeEach(async () => {
    api = await startFakeTaskApi();
  });

  afterEach(async () => {
    await api.close();
  });

  it('runs the TypeScript CLI and exits with its code when a task is submitted', async () => {
    // Act
    const result = await runShim(['--json', 'submit', '--type', 'echo'], { TASKQ_ENDPOINT: api.url });

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(expect.objectContaining({ status: 'QUEUED', type: 'echo' }));
  }, 30_000);

  it('exits 2 when the command line is wrong', async () => {
    // Act
    const result = await runShim(['submit', '--priority', 'urgent', '--type', 'echo']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Allowed choices are high, low');
  }, 30_000);
});
