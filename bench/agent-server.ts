/**
 * What the benchmarks' own agent servers share (long-agents.ts, limit-agents.ts): they answer some task types
 * themselves and pass every other request on to the demo agents.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

export const answer = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** Passes a request on to the demo agents at `demoUrl`, and their answer back (the caller answers a failure). */
export async function forwardToDemo(
  demoUrl: string,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const headers = Object.fromEntries(
    Object.entries(req.headers).filter(
      (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host' && e[0] !== 'content-length',
    ),
  );
  const reply = await fetch(`${demoUrl}${req.url}`, {
    method: req.method ?? 'POST',
    headers,
    ...(body.length > 0 && { body }),
  });
  res.writeHead(reply.status, { 'content-type': reply.headers.get('content-type') ?? 'application/json' });
  res.end(Buffer.from(await reply.arrayBuffer()));
}
