import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectThrottled, failedLoginVia, NO_IP_LIMIT, PASSWORD, refreshWith, registerUser } from '../support/flows.js';
import type { Reply } from '../support/flows.js';
import { get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';

// SPEC §4 "Throttling": per account (lockout) and per client IP (token bucket).

const WRONG = 'not-the-password-0';

describe('per-account lockout (AUTH_LOCKOUT_THRESHOLD=2)', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_IP_LIMIT, AUTH_LOCKOUT_THRESHOLD: '2' });
    api = server.api;
  });
  afterAll(() => server?.stop());

  const attempt = (email: string, password: string) => send(`${api}/login`, { email, password });

  /**
   * Failures 1 and 2 lock for 2^0 = 1 s; after it, failure 3 locks for 2^1 = 2 s, which
   * leaves the next requests a comfortable margin inside the lock.
   */
  async function lockForTwoSeconds(email: string): Promise<void> {
    expectError(await attempt(email, WRONG), 401, 'invalid_credentials');
    expectError(await attempt(email, WRONG), 401, 'invalid_credentials');
    await sleep(1_100);
    expectError(await attempt(email, WRONG), 401, 'invalid_credentials');
  }

  it('answers 429 with Retry-After during the lock whatever the password, and does not count those attempts', async () => {
    const account = await registerUser(api);
    await lockForTwoSeconds(account.email);

    const retryAfter = expectThrottled(await attempt(account.email, account.password), 2);
    expectThrottled(await attempt(account.email, WRONG), 2);

    // Had the locked attempts counted, the lock would now be 4 s or more.
    await sleep(retryAfter * 1_000 + 200);
    expect((await attempt(account.email, account.password)).status).toBe(200);
    // The success reset the count: one failure is a plain 401 again, and does not lock.
    expectError(await attempt(account.email, WRONG), 401, 'invalid_credentials');
    expect((await attempt(account.email, account.password)).status).toBe(200);
  });

  it('locks an unknown email the same way, so a lock reveals nothing', async () => {
    const ghost = uniqueEmail('ghost');
    await lockForTwoSeconds(ghost);
    expectThrottled(await attempt(ghost, WRONG), 2);
  });

  it('locks one account without touching another', async () => {
    const locked = await registerUser(api);
    const other = await registerUser(api);
    await lockForTwoSeconds(locked.email);

    expectThrottled(await attempt(locked.email, locked.password), 2);
    expect((await attempt(other.email, other.password)).status).toBe(200);
  });
});

describe('per-IP limit (AUTH_IP_RATE_LIMIT=4)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUTH_IP_RATE_LIMIT: '4', AUTH_LOCKOUT_THRESHOLD: '0' });
  });
  afterAll(() => server?.stop());

  it('shares one bucket between register, login, refresh and me/password, and leaves other routes alone', async () => {
    const api = server.api;
    const email = uniqueEmail();
    expect((await send(`${api}/register`, { email, password: PASSWORD })).status).toBe(201);
    const loggedIn = await send(`${api}/login`, { email, password: PASSWORD });
    expect(loggedIn.status).toBe(200);
    const refreshed = await refreshWith(api, loggedIn.body.refresh_token);
    expect(refreshed.status).toBe(200);
    const token = refreshed.body.access_token;
    expectError(await send(`${api}/me/password`, { old_password: 'wrong-old-pass-1', new_password: 'e2e-New-Pass-4711' }, { token }), 400, 'invalid_credentials');

    // 4 per minute: the next token comes in at most 15 s.
    expectThrottled(await send(`${api}/login`, { email, password: PASSWORD }), 15);
    expectThrottled(await send(`${api}/register`, { email: uniqueEmail(), password: PASSWORD }), 15);
    expectThrottled(await refreshWith(api, refreshed.body.refresh_token), 15);
    expectThrottled(await send(`${api}/me/password`, { old_password: PASSWORD, new_password: 'e2e-New-Pass-4711' }, { token }), 15);
    // A forged X-Forwarded-For is not believed without AUTH_TRUST_PROXY.
    expectThrottled(await send(`${api}/login`, { email, password: PASSWORD }, { headers: { 'x-forwarded-for': '203.0.113.9' } }), 15);

    expect((await get(`${api}/me`, token)).status).toBe(200);
    expect((await get(`${server.baseUrl}/health`)).status).toBe(200);
    expect((await send(`${api}/logout`, refreshed.body.refresh_token)).status).toBe(204); // logout is not throttled
  });
});

/**
 * A server behind `hops` trusted proxies, allowing 2 requests a minute per client, and a
 * failed login sent with the given X-Forwarded-For, as the proxies would forward it.
 */
function behindProxies(hops: number): (forwardedFor: string) => Promise<Reply> {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUTH_IP_RATE_LIMIT: '2', AUTH_LOCKOUT_THRESHOLD: '0', AUTH_TRUST_PROXY: String(hops) });
  });
  afterAll(() => server?.stop());
  return (forwardedFor) => failedLoginVia(server.api, forwardedFor);
}

describe('per-IP limit behind one trusted proxy (AUTH_TRUST_PROXY=1, AUTH_IP_RATE_LIMIT=2)', () => {
  /** The proxy appends the client's address on the right. */
  const loginVia = behindProxies(1);

  it('counts per client address, the right-most X-Forwarded-For entry, which a client cannot forge its way past', async () => {
    const client = '198.51.100.23';
    expectError(await loginVia(`10.0.0.1, ${client}`), 401, 'invalid_credentials');
    expectError(await loginVia(client), 401, 'invalid_credentials');
    expectThrottled(await loginVia(client), 30);
    // Entries further left were written by the client itself.
    for (const forged of ['203.0.113.77', '10.9.9.9', '127.0.0.1', '198.51.100.24', 'unknown']) {
      expectThrottled(await loginVia(`${forged}, ${client}`), 30);
    }

    // Another client behind the same proxy has its own bucket: the header is read, not ignored.
    expectError(await loginVia('198.51.100.99'), 401, 'invalid_credentials');
  });

  it('ignores the port a proxy adds to the address, so new connections share their client\'s bucket', async () => {
    expectError(await loginVia('198.51.100.31:50001'), 401, 'invalid_credentials');
    expectError(await loginVia('198.51.100.31:50002'), 401, 'invalid_credentials');
    expectThrottled(await loginVia('198.51.100.31:50003'), 30);
    expectThrottled(await loginVia('198.51.100.31'), 30);

    expectError(await loginVia('[2001:db8:31::1]:50001'), 401, 'invalid_credentials');
    expectError(await loginVia('[2001:db8:31::2]:50002'), 401, 'invalid_credentials');
    expectThrottled(await loginVia('2001:db8:31::3'), 30);
  });

  it('counts entries that are no address against the proxy itself, not one bucket per made-up value', async () => {
    expectError(await loginVia('not-an-address'), 401, 'invalid_credentials');
    expectError(await loginVia('unknown'), 401, 'invalid_credentials');
    expectThrottled(await loginVia('another-made-up-value'), 30);
  });
});

describe('per-IP limit behind two trusted proxies (AUTH_TRUST_PROXY=2, AUTH_IP_RATE_LIMIT=2)', () => {
  /** The outer proxy appends the client, the inner one the outer proxy: the client is second from the right. */
  const loginVia = behindProxies(2);

  it('counts per client, two entries from the right, whichever outer proxy it came through', async () => {
    expectError(await loginVia('198.51.100.7, 10.0.0.1'), 401, 'invalid_credentials');
    expectError(await loginVia('198.51.100.7, 10.0.0.2'), 401, 'invalid_credentials');
    expectThrottled(await loginVia('203.0.113.5, 198.51.100.7, 10.0.0.1'), 30);
    // Another client through the same proxies has its own bucket.
    expectError(await loginVia('198.51.100.8, 10.0.0.1'), 401, 'invalid_credentials');
  });
});
