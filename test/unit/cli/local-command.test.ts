import { runCli } from '../../../cli/program';
import type { CliDeps } from '../../../cli/session';

/** `taskq local ARGS` in this process: its exit code and what it printed. Only runs that stop before the runtime. */
async function taskqLocal(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const deps: CliDeps = {
    stdout: () => {},
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    cwd: '/nonexistent',
    signal: AbortSignal.abort(),
  };
  const code = await runCli(['local', ...args], deps);
  return { code, stderr };
}

describe('Command: taskq local', () => {
  it.each([
    [
      ['--agents-url', 'http://127.0.0.1:9000'],
      '--agents-url configures the demo agents: it needs --demo-agents',
    ],
    [
      ['--topics', '{}', '--agent-limits', '{}'],
      '--agent-limits, --topics configure the demo agents: they need --demo-agents',
    ],
  ])('refuses the demo flags %j without --demo-agents (exit code 2)', async (args, message) => {
    const { code, stderr } = await taskqLocal(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it.each([
    [['--agent', 'summarize'], 'must be TYPE=URL'],
    [['--agent', 'summarize=ftp://x'], 'must be an http(s) URL'],
    [['--agent', 'a=http://127.0.0.1:1', '--agent', 'a=http://127.0.0.1:2'], "agent 'a' is given twice"],
    [['--port', '70000'], 'must be a port number'],
    [
      ['--dynamodb-endpoint', 'http://192.0.2.1:8000'],
      "--dynamodb-endpoint must be a DynamoDB Local on this machine, as http://127.0.0.1:PORT; got 'http://192.0.2.1:8000'",
    ],
    [['--dynamodb-endpoint', 'http://127.0.0.1'], 'as http://127.0.0.1:PORT'],
    [['--dynamodb-endpoint', '127.0.0.1:8000'], 'as http://127.0.0.1:PORT'],
    [
      ['--dynamodb-endpoint', 'http://127.0.0.1:8000', '--persist', '/tmp/x'],
      '--dynamodb-endpoint shares a DynamoDB Local that keeps its data elsewhere: it cannot go with --persist',
    ],
  ])('refuses %j', async (args, message) => {
    const { code, stderr } = await taskqLocal(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});
