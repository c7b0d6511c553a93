/**
 * The callback fuzz's generators against the rules they break: each kind of request must break exactly what
 * its answers say (a contract body where only the token is wrong, a body the contract refuses where the body is
 * bad), or the fuzz would call a right answer wrong, or let a wrong one pass.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { callbackRequestKinds } from '../../../chaos/fuzz/callback-requests';
import type { FuzzRequest } from '../../../chaos/fuzz/request';
import { DEFAULTS } from '../../../lambda/contract/environment';
import {
  bearerToken,
  completionByteLimit,
  parseCompletion,
  parseHeartbeat,
} from '../../../lambda/core/async-callbacks';
import { HttpError } from '../../../lambda/core/errors';
import { parseTaskId } from '../../../lambda/core/task-status';

const targets = {
  running: '6b0c1a9e-2f4d-4c1b-9a7e-3d5f8e2b1c40',
  finished: '0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a',
};
const RUNS = 150;

const ofKind = (kind: string) => callbackRequestKinds(targets).filter((req) => req.kind === kind);

const segments = (req: FuzzRequest) => req.path.split('?')[0]!.split('/');
const actionOf = (req: FuzzRequest) => segments(req).slice(3).join('/');
/** The path parameter as API Gateway passes it: percent-decoded. */
const idOf = (req: FuzzRequest) => decodeURIComponent(segments(req)[2]!);
/** The Authorization header as API Gateway passes it: repeated values joined with a comma. */
const authorizationOf = (req: FuzzRequest) => {
  const values = req.headers.filter(([k]) => k.toLowerCase() === 'authorization').map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(',');
};

/** `ok`, or the `<status> <code>` of the HttpError the rule throws. */
function outcome(rule: () => unknown): string {
  try {
    rule();
    return 'ok';
  } catch (error) {
    if (error instanceof HttpError) return `${error.statusCode} ${error.code}`;
    throw error;
  }
}

const bodyOutcome = (req: FuzzRequest) => {
  const text = (req.body ?? Buffer.alloc(0)).toString('utf8');
  return outcome(() => (actionOf(req) === 'heartbeat' ? parseHeartbeat(text) : parseCompletion(text)));
};

const check = (kind: string, predicate: (req: FuzzRequest) => void) =>
  fc.assert(fc.property(ofKind(kind), predicate), { numRuns: RUNS, seed: 11 });

describe('Function: callbackRequestKinds', () => {
  it('sends callback-auth requests with a contract body and an Authorization header the bearer rule refuses', () => {
    check('callback-auth', (req) => {
      expect(outcome(() => bearerToken(authorizationOf(req)))).toBe('401 Unauthorized');
      expect(bodyOutcome(req)).toBe('ok');
      expect(req.answers).toEqual(['401 Unauthorized']);
    });
  });

  it('sends callback-token requests whose only fault is the token', () => {
    check('callback-token', (req) => {
      expect(outcome(() => bearerToken(authorizationOf(req)))).toBe('ok');
      expect(outcome(() => parseTaskId(idOf(req)))).toBe('ok');
      expect(bodyOutcome(req)).toBe('ok');
      expect(req.answers).toEqual(['401 Unauthorized']);
    });
  });

  it('sends callback-body requests with a well-formed token and a body the contract refuses', () => {
    check('callback-body', (req) => {
      expect(outcome(() => bearerToken(authorizationOf(req)))).toBe('ok');
      expect(['400 InvalidJson', '400 ValidationError']).toContain(bodyOutcome(req));
    });
  });

  it('sends callback-not-utf8 requests with bodies that are not UTF-8', () => {
    check('callback-not-utf8', (req) => {
      expect(isUtf8(req.body!)).toBe(false);
    });
  });

  it('sends callback-oversized requests with bodies over the completion limit and within API Gateway’s', () => {
    check('callback-oversized', (req) => {
      expect(req.body!.length).toBeGreaterThan(completionByteLimit(DEFAULTS.maxResultBytes));
      expect(req.body!.length).toBeLessThanOrEqual(10 * 1024 * 1024);
    });
  });

  it('sends callback-content-type requests with a contract body and a content type that is not JSON', () => {
    check('callback-content-type', (req) => {
      const types = req.headers.filter(([k]) => k.toLowerCase() === 'content-type').map(([, v]) => v);
      expect(types.join(',')).not.toBe('application/json');
      expect(bodyOutcome(req)).toBe('ok');
    });
  });

  it('sends callback-path-id requests whose id the task id rule refuses', () => {
    check('callback-path-id', (req) => {
      expect(outcome(() => parseTaskId(idOf(req)))).toBe('400 ValidationError');
      expect(bodyOutcome(req)).toBe('ok');
    });
  });

  it('sends callback-route requests that no callback route serves', () => {
    check('callback-route', (req) => {
      const routed = req.method === 'POST' && ['heartbeat', 'complete'].includes(actionOf(req));
      expect(routed).toBe(false);
      expect(req.answers).toEqual(['404 Not Found']);
    });
  });

  it("sends header values node's HTTP client accepts, in a header block well under node's 16 KiB", () => {
    fc.assert(
      fc.property(callbackRequestKinds(targets), (req) => {
        for (const [name, value] of req.headers)
          expect(`${name}: ${value}`).toMatch(/^[\t\x20-\x7e\x80-\xff]*$/);
        const bytes = req.headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
        expect(bytes).toBeLessThanOrEqual(8 * 1024);
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
