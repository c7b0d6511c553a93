/** Sending a fuzz request byte for byte. */
import { request as httpRequest } from 'node:http';
import type { FuzzRequest } from './request';

export interface FuzzResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Sends one request with node:http, so that bytes, header order and repeats are exactly as generated. */
export function send(apiUrl: string, req: FuzzRequest): Promise<FuzzResponse> {
  const url = new URL(apiUrl);
  const raw: string[] = ['Host', url.host];
  for (const [k, v] of req.headers) raw.push(k, v);
  if (req.body !== undefined) raw.push('Content-Length', String(req.body.length));
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: raw,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/**
 * Sends one of the fuzz's own look-ups (not a generated request), trying again after a network error: a
 * kept-alive connection that the server closes as it is reused is reset, and says nothing about the API.
 */
export async function sendLookup(apiUrl: string, req: FuzzRequest, tries = 3): Promise<FuzzResponse> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send(apiUrl, req);
    } catch (error) {
      if (attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
