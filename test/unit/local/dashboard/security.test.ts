import {
  checkHost,
  checkOrigin,
  checkToken,
  cookieValue,
  newToken,
  RefusalCode,
  tokenCookie,
} from '../../../../local/dashboard/security';

describe('dashboard request checks', () => {
  it('takes only loopback names with the runtime port as Host', () => {
    for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST:3000', '[::1]:3000'])
      expect(checkHost(host, 3000)).toBeUndefined();
    for (const host of [
      'evil.example:3000',
      '127.0.0.1:3001',
      '127.0.0.1',
      'sub.localhost:3000',
      '',
      undefined,
    ])
      expect(checkHost(host, 3000)?.code).toBe(RefusalCode.ForeignHost);
    expect(checkHost('localhost', 80)).toBeUndefined();
  });

  it("takes no Origin, or the dashboard's own loopback origin", () => {
    expect(checkOrigin(undefined, 3000)).toBeUndefined();
    expect(checkOrigin('http://127.0.0.1:3000', 3000)).toBeUndefined();
    expect(checkOrigin('http://localhost:3000', 3000)).toBeUndefined();
    for (const origin of ['null', 'https://127.0.0.1:3000', 'http://127.0.0.1:4000', 'http://evil.example'])
      expect(checkOrigin(origin, 3000)?.code).toBe(RefusalCode.ForeignOrigin);
  });

  it('wants the secret in the header or the cookie, and tells a missing one from a wrong one', () => {
    const token = newToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(token);
    expect(checkToken({ cookie: token }, token)).toBeUndefined();
    expect(checkToken({ header: token }, token)).toBeUndefined();
    expect(checkToken({}, token)?.code).toBe(RefusalCode.MissingToken);
    expect(checkToken({ cookie: '' }, token)?.code).toBe(RefusalCode.MissingToken);
    expect(checkToken({ cookie: `${token}x` }, token)?.code).toBe(RefusalCode.WrongToken);
    expect(checkToken({ header: 'wrong', cookie: token }, token)?.code).toBe(RefusalCode.WrongToken);
  });

  it('keeps the secret in an HttpOnly, SameSite=Strict cookie of the dashboard path', () => {
    expect(tokenCookie('abc')).toBe(
      'taskq_dashboard_token=abc; HttpOnly; SameSite=Strict; Path=/_local/dashboard',
    );
    expect(cookieValue(['a=1', 'taskq_dashboard_token=abc'], 'taskq_dashboard_token')).toBe('abc');
    expect(cookieValue(['a=1'], 'taskq_dashboard_token')).toBeUndefined();
  });
});
