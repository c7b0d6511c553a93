/**
 * The agents of figure 8: `limited` and `sleep` are answered here, each call timed at the agent (the benchmark's
 * own clock), and the calls open at once counted per type, as the issue wants the limits proven: "counted by the
 * agent itself". Every other type is passed to a demo agent server unchanged. The runtime is started with
 * `agentsUrl` set to this server; the local configuration keeps the demo types' limits then (`limited`: 2 at once,
 * 10 per 1 s).
 *
 * Unlike the demo agents, a call here can be ended early (`finish`), so that a figure can hold a slot for as long
 * as it measures and give it back at a moment it chooses, and see that moment from the agent's side.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DemoAgents, LIMITED_DEFAULT_MS, startDemoAgents } from '../local/demo-agents';
import { answer, forwardToDemo, readBody } from './agent-server';

/** The types this server answers itself. */
export const TIMED_TYPES = ['limited', 'sleep'] as const;
export type TimedType = (typeof TIMED_TYPES)[number];

/** The longest call (below the agent timeout the figure's runtime sets). */
export const MAX_CALL_MS = 300_000;

/** One call, as the agent saw it. */
export interface AgentCall {
  readonly type: TimedType;
  readonly taskId: string;
  readonly tenantId?: string;
  /** Epoch ms when the request reached the agent. */
  readonly startMs: number;
  /** Epoch ms when the agent answered; undefined while it runs. */
  endMs?: number;
}

export interface LimitAgents {
  /** Base URL without a trailing slash, as `agentsUrl` wants it. */
  readonly url: string;
  /** Every call of a type since the last `reset`, in the order they started. */
  calls(type: TimedType): readonly AgentCall[];
  /** The most calls of a type open at once since the last `reset`. */
  maxOpen(type: TimedType): number;
  /** Calls of a type open now. */
  open(type: TimedType): number;
  /** Answers the open calls of these tasks now; returns the epoch ms of their answers. */
  finish(taskIds: readonly string[]): number;
  /** Forgets the calls and the maxima (open calls stay open, and count). */
  reset(): void;
  close(): Promise<void>;
}

interface OpenCall {
  readonly call: AgentCall;
  readonly timer: NodeJS.Timeout;
  readonly end: () => void;
}

export async function startLimitAgents(): Promise<LimitAgents> {
  const demo: DemoAgents = await startDemoAgents();
  const calls = new Map<TimedType, AgentCall[]>(TIMED_TYPES.map((t) => [t, []]));
  const maxOpen = new Map<TimedType, number>(TIMED_TYPES.map((t) => [t, 0]));
  const opened = new Map<TimedType, Set<OpenCall>>(TIMED_TYPES.map((t) => [t, new Set()]));
  const byTask = new Map<string, OpenCall>();

  const timed = (type: TimedType, body: Buffer, res: ServerResponse) => {
    const request = JSON.parse(body.toString('utf8')) as {
      task_id?: unknown;
      tenant_id?: unknown;
      payload?: { ms?: unknown };
    };
    const ms = request.payload?.ms ?? (type === 'limited' ? LIMITED_DEFAULT_MS : undefined);
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_CALL_MS) {
      answer(res, 400, { error: { code: 'BadRequest', message: `payload.ms must be 0 to ${MAX_CALL_MS}` } });
      return;
    }
    const call: AgentCall = {
      type,
      taskId: String(request.task_id),
      ...(typeof request.tenant_id === 'string' && { tenantId: request.tenant_id }),
      startMs: Date.now(),
    };
    calls.get(type)!.push(call);
    const open = opened.get(type)!;
    const end = () => {
      clearTimeout(entry.timer);
      if (!open.delete(entry)) return;
      if (byTask.get(call.taskId) === entry) byTask.delete(call.taskId);
      call.endMs = Date.now();
      answer(res, 200, { slept_ms: call.endMs - call.startMs });
    };
    const entry: OpenCall = { call, timer: setTimeout(() => end(), ms), end };
    open.add(entry);
    byTask.set(call.taskId, entry);
    maxOpen.set(type, Math.max(maxOpen.get(type)!, open.size));
  };

  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const type = TIMED_TYPES.find((t) => req.url === `/${t}`);
      if (req.method === 'POST' && type) {
        timed(type, body, res);
        return;
      }
      await forwardToDemo(demo.url, req, res, body);
    } catch (error) {
      if (!res.headersSent)
        answer(res, 502, { error: { code: 'BadGateway', message: (error as Error).message } });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: (type) => calls.get(type)!,
    maxOpen: (type) => maxOpen.get(type)!,
    open: (type) => opened.get(type)!.size,
    finish: (taskIds) => {
      for (const id of taskIds) byTask.get(id)?.end();
      return Date.now();
    },
    reset: () => {
      for (const type of TIMED_TYPES) {
        calls.set(type, []);
        maxOpen.set(type, opened.get(type)!.size);
      }
    },
    close: async () => {
      for (const entry of byTask.values()) clearTimeout(entry.timer);
      byTask.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await demo.close();
    },
  };
}
