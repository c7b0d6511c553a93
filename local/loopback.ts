/**
 * Local mode serves only this machine. Every listener binds 127.0.0.1, and the emulators also refuse what a
 * web page could send them: a request with an `Origin` header (every cross-origin fetch and form post has
 * one, so no page gets an answer or a write through), and a request whose `Host` is not a loopback name (a
 * DNS-rebinding page that made its own host name resolve to 127.0.0.1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const LOOPBACK = '127.0.0.1';

/** 127.0.0.1, [::1], localhost and its subdomains (fauxqs's queue URLs name `sqs.<region>.localhost`). */
const LOOPBACK_HOST = /^(127\.0\.0\.1|\[::1\]|([a-z0-9-]+\.)*localhost)(:\d+)?$/i;

/** Why a request to an emulator is refused, or nothing when it comes from a local tool or SDK. */
export function foreignRequest(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  if (req.headers.origin !== undefined) return 'requests from web pages (with an Origin header)';
  const host = req.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) return `host name ${host || '(none)'} is not a loopback name`;
  return undefined;
}

/** Answers a foreign request (see `foreignRequest`) with 403 and returns true; returns false for a local one. */
export function refuseForeign(req: IncomingMessage, res: ServerResponse): boolean {
  const refused = foreignRequest(req);
  if (!refused) return false;
  req.resume();
  res.writeHead(403, { 'content-type': 'text/plain' });
  res.end(`refused: ${refused}`);
  return true;
}
