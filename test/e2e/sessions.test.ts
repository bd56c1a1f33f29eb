import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectError,
  expectUnauthorized,
  login,
  loginAdmin,
  me,
  NO_IP_LIMIT,
  PASSWORD,
  refreshWith,
  registerAndLogin,
} from '../support/flows.js';
import { familiesWithSeveralLiveTokens } from '../support/live-tokens.js';
import { get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';

// Refresh-token families (SPEC §5): rotation, reuse, retry grace, expiry, races.

describe('with no retry grace (the default)', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer(NO_IP_LIMIT);
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('answers token_reused rather than invalid_token for a consumed token whose family was logged out', async () => {
    const session = await registerAndLogin(api);
    const rotated = await refreshWith(api, session.refreshToken);
    expect((await send(`${api}/logout`, rotated.body.refresh_token)).status).toBe(204);

    expectError(await refreshWith(api, session.refreshToken), 401, 'token_reused');
  });

  it('lets exactly one of 50 concurrent refreshes of one token succeed, and leaves no family with two live tokens', async () => {
    const session = await registerAndLogin(api);
    const replies = await Promise.all(Array.from({ length: 50 }, () => refreshWith(api, session.refreshToken)));

    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array<number>(49).fill(401)]);
    for (const reply of replies.filter((r) => r.status === 401)) {
      expect(['token_reused', 'invalid_token']).toContain(reply.body.code);
    }
    expect(await familiesWithSeveralLiveTokens(server.tokenStore)).toEqual([]);
  });

  it('creates exactly one user from 20 concurrent registrations of one email', async () => {
    const email = uniqueEmail();
    const replies = await Promise.all(Array.from({ length: 20 }, () => send(`${api}/register`, { email, password: PASSWORD })));

    expect(replies.map((r) => r.status).sort()).toEqual([201, ...Array<number>(19).fill(409)]);
    for (const reply of replies.filter((r) => r.status === 409)) expect(reply.body.code).toBe('user_exists');

    const created = replies.find((r) => r.status === 201)!.body;
    const tokens = await login(api, email, PASSWORD);
    expect((await me(api, tokens.accessToken)).id).toBe(created.id);
    const admin = await loginAdmin(api);
    const listed = (await get(`${api}/users?limit=500`, admin.accessToken)).body.users.filter((u: { email: string }) => u.email === email);
    expect(listed).toHaveLength(1);
  });
});

describe('with a retry grace of 3 s', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_IP_LIMIT, AUTH_REFRESH_REUSE_GRACE_SECONDS: '3' });
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('lets 50 concurrent refreshes of one token (tabs, retries) all succeed with the same successor', async () => {
    const session = await registerAndLogin(api);
    const replies = await Promise.all(Array.from({ length: 50 }, () => refreshWith(api, session.refreshToken)));

    expect(replies.map((r) => r.status)).toEqual(Array<number>(50).fill(200));
    expect(new Set(replies.map((r) => r.body.refresh_token)).size).toBe(1);
    expect(await familiesWithSeveralLiveTokens(server.tokenStore)).toEqual([]);
    expect((await refreshWith(api, replies[0]!.body.refresh_token)).status).toBe(200);
  });

});

describe('with short lifetimes: access 3 s, refresh 2.6 s', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer({
      ...NO_IP_LIMIT,
      AUTH_ACCESS_TOKEN_EXPIRE_MINUTES: '0.05', // 3 s
      AUTH_REFRESH_TOKEN_EXPIRE_DAYS: '0.00003', // 2.592 s
    });
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('takes fractional minutes for the access token lifetime', async () => {
    const session = await registerAndLogin(api);
    const reply = await refreshWith(api, session.refreshToken);
    expect(reply.body.expires_in).toBe(3);
    const claims = decodeJwt(reply.body.access_token);
    expect(claims.exp! - claims.iat!).toBe(3);
  });

  it('answers 401 token_expired past the lifetime counted from login, which rotation does not extend', async () => {
    const session = await registerAndLogin(api);
    const untouched = await login(api, session.email, session.password);
    await sleep(1_000);
    const rotated = await refreshWith(api, session.refreshToken);
    expect(rotated.status).toBe(200);

    await sleep(2_000); // about 3 s after login, 2 s after the rotation
    expectUnauthorized(await refreshWith(api, untouched.refreshToken), 'token_expired', { bearerRefused: false });
    expectUnauthorized(await refreshWith(api, rotated.body.refresh_token), 'token_expired', { bearerRefused: false });
    // The access token lives on its own clock (3 s + 30 s tolerance).
    expect((await get(`${api}/me`, rotated.body.access_token)).status).toBe(200);
  });
});
