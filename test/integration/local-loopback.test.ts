/**
 * `npm start` serves this machine only: every socket its process tree listens on is bound to a loopback
 * address, and no web page can reach the emulators (no CORS grant, and requests with an Origin are refused).
 * Also the responses API Gateway makes itself, with its `{"message": …}` bodies, and text SQS accepts.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { TaskView } from '../../lambda/core/task';
import { isTerminal } from '../../lambda/core/transitions';
import { bootRuntime, eventually, type RunningRuntime } from './support/local-runtime';

jest.setTimeout(180_000);

let runtime: RunningRuntime;

beforeAll(async () => {
  runtime = await bootRuntime({ sharedDynamoDb: false });
});

afterAll(async () => {
  await runtime?.stop();
});

/** The process and all its descendants, from /proc. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process is gone
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

interface Listener {
  readonly address: string;
  readonly port: number;
}

/** Decodes /proc/net/tcp{,6} addresses: little-endian 32-bit words in hex. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(''));
  if (words.length === 1)
    return words[0]!
      .match(/../g)!
      .map((b) => parseInt(b, 16))
      .join('.');
  const v6 = words.join('').toLowerCase();
  if (v6.startsWith('00000000000000000000ffff'))
    return `::ffff:${v6
      .slice(24)
      .match(/../g)!
      .map((b) => parseInt(b, 16))
      .join('.')}`;
  return v6.match(/.{4}/g)!.join(':');
}

/** Every TCP socket in LISTEN state that a process of the tree holds. */
function listeners(pids: readonly number[]): Listener[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (socket) inodes.add(socket[1]!);
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process is gone
    }
  }
  const found: Listener[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9]!)) continue;
      const [address, port] = cols[1]!.split(':');
      found.push({ address: decodeAddress(address!), port: parseInt(port!, 16) });
    }
  }
  return found;
}

const LOOPBACK = ['127.0.0.1', '::ffff:127.0.0.1', '0000:0000:0000:0000:0000:0000:0000:0001'];

describe('local runtime: loopback only', () => {
  it('listens on loopback addresses only, in every process it starts', () => {
    const found = listeners(processTree(runtime.pid));
    // The API, fauxqs, DynamoDB Local, the two AWS proxies and the demo agents.
    expect(found.length).toBeGreaterThanOrEqual(6);
    expect(found.map((l) => l.port)).toEqual(
      expect.arrayContaining([runtime.ports.api, runtime.ports.aws, runtime.ports.dynamodb]),
    );
    expect(found.filter((l) => !LOOPBACK.includes(l.address))).toEqual([]);
  });

  it('grants no web page access to any port, and the emulators refuse requests with an Origin', async () => {
    const ports = [...new Set(listeners(processTree(runtime.pid)).map((l) => l.port))];
    const origin = 'http://evil.example';
    for (const port of ports) {
      const preflight = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-amz-target,authorization',
        },
      });
      expect({ port, allowOrigin: preflight.headers.get('access-control-allow-origin') }).toEqual({
        port,
        allowOrigin: null,
      });
      await preflight.arrayBuffer();
    }
    for (const port of [runtime.ports.aws, runtime.ports.dynamodb]) {
      const post = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: {
          origin,
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
        },
        body: '{}',
      });
      expect({ port, status: post.status }).toEqual({ port, status: 403 });
      expect(post.headers.get('access-control-allow-origin')).toBeNull();
      await post.arrayBuffer();
    }
  });
});

describe('local runtime: responses API Gateway makes itself', () => {
  it('answers 404 {"message":"Not Found"} when no route matches', async () => {
    const response = await fetch(`${runtime.apiUrl}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
  });

  it('answers 413 {"message":"Request Entity Too Large"} for a body over 10 MB', async () => {
    const response = await fetch(`${runtime.apiUrl}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `"${'x'.repeat(10 * 1024 * 1024)}"`,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
  });
});

describe('local runtime: text SQS accepts', () => {
  it('accepts a payload with an emoji (202), and the echo agent gets it as sent', async () => {
    const payload = { text: 'great 😀 𝄞' };
    const created = await fetch(`${runtime.apiUrl}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'echo', payload }),
    });
    expect(created.status).toBe(202);
    const { task_id } = (await created.json()) as { task_id: string };
    const task = await eventually(async () => {
      const view = (await (await fetch(`${runtime.apiUrl}/tasks/${task_id}`)).json()) as TaskView;
      return isTerminal(view.status) ? view : undefined;
    }, `task ${task_id} finishing`);
    expect(task).toMatchObject({ status: 'SUCCEEDED', result: { echo: payload } });
  });
});
