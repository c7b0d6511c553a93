/**
 * The dashboard runs on a developer's laptop, where any web page the developer visits can send requests to
 * 127.0.0.1. Three rules keep such a page from reading through DNS rebinding or acting through cross-site requests:
 *
 * - every request, reads included, must name a loopback host with the runtime's port in `Host` (a rebinding page
 *   reaches 127.0.0.1 under its own host name, which it cannot hide from `Host`);
 * - every action must come with no `Origin` (a tool such as curl) or with the dashboard's own loopback origin;
 * - every action must carry the run's secret: made at start, printed by the banner in the dashboard's URL
 *   (`?token=…`), then kept in a cookie that is `HttpOnly; SameSite=Strict` (no cross-site request carries it)
 *   or sent in the `X-Taskq-Dashboard-Token` header by a script.
 *
 * Refusals are 403 with `{"error": {"code", "message"}}` naming the rule.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const DASHBOARD_PATH = '/_local/dashboard';
export const TOKEN_COOKIE = 'taskq_dashboard_token';
export const TOKEN_HEADER = 'x-taskq-dashboard-token';

/** The codes of the dashboard's refusals. */
export const RefusalCode = {
  ForeignHost: 'ForeignHost',
  ForeignOrigin: 'ForeignOrigin',
  MissingToken: 'MissingToken',
  WrongToken: 'WrongToken',
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
}

/** A fresh per-run secret: 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** The `Host` values that name this runtime: each loopback name with the port (or alone on port 80). */
export function loopbackHosts(port: number): string[] {
  return LOOPBACK_NAMES.flatMap((name) => [`${name}:${port}`, ...(port === 80 ? [name] : [])]);
}

/** The origins of the dashboard's own pages. */
export function loopbackOrigins(port: number): string[] {
  return loopbackHosts(port).map((host) => `http://${host}`);
}

export function checkHost(host: string | undefined, port: number): Refusal | undefined {
  if (host !== undefined && loopbackHosts(port).includes(host.toLowerCase())) return undefined;
  return {
    code: RefusalCode.ForeignHost,
    message:
      `Host ${host === undefined || host === '' ? '(none)' : JSON.stringify(host)} is not a loopback name of this ` +
      `runtime (${loopbackHosts(port).join(', ')}): the dashboard answers only requests addressed to 127.0.0.1`,
  };
}

export function checkOrigin(origin: string | undefined, port: number): Refusal | undefined {
  if (origin === undefined || loopbackOrigins(port).includes(origin.toLowerCase())) return undefined;
  return {
    code: RefusalCode.ForeignOrigin,
    message: `Origin ${JSON.stringify(origin)} is not the dashboard's own: actions come from the dashboard's page or from a tool`,
  };
}

/** The value of one cookie among the request's cookies (`name=value` strings). */
export function cookieValue(cookies: readonly string[], name: string): string | undefined {
  for (const cookie of cookies) {
    const eq = cookie.indexOf('=');
    if (eq > 0 && cookie.slice(0, eq).trim() === name) return cookie.slice(eq + 1).trim();
  }
  return undefined;
}

/** Compares in constant time, so that the answer's timing tells nothing of the secret. */
export function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token an action carries, in its header or its cookie; refused when missing or wrong. */
export function checkToken(
  sent: { readonly header?: string; readonly cookie?: string },
  token: string,
): Refusal | undefined {
  const given = sent.header ?? sent.cookie;
  if (given === undefined || given === '')
    return {
      code: RefusalCode.MissingToken,
      message:
        "actions need this run's secret: open the dashboard URL the runtime printed (it ends in ?token=…), " +
        `or send the ${TOKEN_HEADER} header`,
    };
  if (!sameToken(given, token))
    return {
      code: RefusalCode.WrongToken,
      message:
        "the secret does not match this run's: open the dashboard URL the runtime printed at this start",
    };
  return undefined;
}

/** The cookie that keeps the secret: not readable by scripts, sent only by the dashboard's own same-site requests. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=${DASHBOARD_PATH}`;
}

/** Headers on every dashboard answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
