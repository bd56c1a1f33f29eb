import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
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
  registerUser,
  setRole,
} from '../support/flows.js';
import type { Session } from '../support/flows.js';
import { get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';

let server: TestServer;
let api: string;
let admin: Session;

beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
  api = server.api;
  admin = await loginAdmin(api);
});
afterAll(() => server?.stop());

describe('POST /register', () => {
  it('creates an active viewer in the default org and answers 201 {id, email, role, status}', async () => {
    const email = uniqueEmail();
    const reply = await send(`${api}/register`, { email, password: PASSWORD, display_name: 'Ada Lovelace' });

    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ id: expect.any(String), email, role: 'viewer', status: 'active' });
    const tokens = await login(api, email, PASSWORD);
    expect(await me(api, tokens.accessToken)).toMatchObject({
      id: reply.body.id,
      email,
      display_name: 'Ada Lovelace',
      role: 'viewer',
      org_id: 'default',
      status: 'active',
    });
  });

  it('takes no role, status or org_id from the body', async () => {
    const email = uniqueEmail();
    const reply = await send(`${api}/register`, { email, password: PASSWORD, role: 'superadmin', status: 'suspended', org_id: 'evil' });

    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ role: 'viewer', status: 'active' });
    const tokens = await login(api, email, PASSWORD);
    expect(await me(api, tokens.accessToken)).toMatchObject({ role: 'viewer', status: 'active', org_id: 'default' });
    expectError(await get(`${api}/users`, tokens.accessToken), 403, 'forbidden');
  });

  it('stores the email trimmed and lower-cased, and logs in with any casing of it', async () => {
    const local = `Mixed-${randomUUID()}`;
    const reply = await send(`${api}/register`, { email: `  ${local}@Example.COM `, password: PASSWORD });

    expect(reply.status).toBe(201);
    expect(reply.body.email).toBe(`${local.toLowerCase()}@example.com`);
    const tokens = await login(api, `${local.toUpperCase()}@EXAMPLE.com`, PASSWORD);
    expect((await me(api, tokens.accessToken)).email).toBe(`${local.toLowerCase()}@example.com`);
  });
  it('NFC-normalizes the email, so composed and decomposed spellings are one account', async () => {
    const id = randomUUID();
    const decomposed = `jose\u0301-${id}@example.com`;
    const composed = `jos\u00e9-${id}@example.com`;
    const reply = await send(`${api}/register`, { email: decomposed, password: PASSWORD });

    expect(reply.status).toBe(201);
    expect(reply.body.email).toBe(composed);
    expect((await send(`${api}/login`, { email: composed, password: PASSWORD })).status).toBe(200);
    expectError(await send(`${api}/register`, { email: composed, password: PASSWORD }), 409, 'user_exists');
  });

  it('accepts an email of 254 characters and refuses one of 255', async () => {
    const tag = randomUUID().replaceAll('-', ''); // 32 characters
    const longest = `${tag}${'l'.repeat(32)}@${'x'.repeat(61)}.${'y'.repeat(61)}.${'z'.repeat(61)}.com`;
    const tooLong = `${tag}${'l'.repeat(31)}@${'x'.repeat(62)}.${'y'.repeat(62)}.${'z'.repeat(61)}.com`;
    expect([longest.length, tooLong.length]).toEqual([254, 255]);

    expect((await send(`${api}/register`, { email: longest, password: PASSWORD })).status).toBe(201);
    expectError(await send(`${api}/register`, { email: tooLong, password: PASSWORD }), 400, 'invalid_request');
  });

  it('accepts application/json with a charset parameter', async () => {
    const reply = await send(`${api}/register`, JSON.stringify({ email: uniqueEmail(), password: PASSWORD }), {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(reply.status).toBe(201);
  });
});

describe('POST /login', () => {
  it('answers {access_token, refresh_token, token_type: "Bearer", expires_in} with Cache-Control: no-store', async () => {
    const account = await registerUser(api);
    const reply = await send(`${api}/login`, { email: account.email, password: account.password });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/), // ≥ 256 bits, URL-safe
      token_type: 'Bearer',
      expires_in: 900,
    });
    expect(reply.headers.get('cache-control')).toContain('no-store');
  });

  it('signs an RS256 JWT with a kid, carrying exactly the claims of SPEC §5', async () => {
    const account = await registerUser(api);
    const before = Math.floor(Date.now() / 1000);
    const { accessToken } = await login(api, account.email, account.password);

    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    const claims = decodeJwt(accessToken);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'email', 'exp', 'iat', 'iss', 'jti', 'org_id', 'role', 'sub']);
    expect(claims).toMatchObject({
      sub: account.id,
      email: account.email,
      role: 'viewer',
      org_id: 'default',
      iss: 'http://localhost:8100',
      aud: 'pico-bot',
      jti: expect.any(String),
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
    expect(claims.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('gives every access token its own jti', async () => {
    const account = await registerUser(api);
    const first = await login(api, account.email, account.password);
    const second = await login(api, account.email, account.password);

    expect(decodeJwt(first.accessToken).jti).not.toBe(decodeJwt(second.accessToken).jti);
    expect(first.refreshToken).not.toBe(second.refreshToken);
  });

  it('records last_login_at', async () => {
    const account = await registerUser(api);
    const before = Date.now();
    const { accessToken } = await login(api, account.email, account.password);

    const lastLogin = Date.parse((await me(api, accessToken)).last_login_at);
    expect(lastLogin).toBeGreaterThanOrEqual(before - 1_000);
    expect(lastLogin).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('answers an unknown email and a wrong password alike: 401 invalid_credentials, no error= in the challenge', async () => {
    const account = await registerUser(api);
    const wrongPassword = await send(`${api}/login`, { email: account.email, password: 'not-the-password-1' });
    const unknownEmail = await send(`${api}/login`, { email: uniqueEmail('ghost'), password: account.password });

    expectUnauthorized(wrongPassword, 'invalid_credentials', { bearerRefused: false });
    expectUnauthorized(unknownEmail, 'invalid_credentials', { bearerRefused: false });
    expect(unknownEmail.body).toEqual(wrongPassword.body);
  });
});

describe('POST /refresh', () => {
  it('rotates an {refresh_token} body: a new pair, and the old refresh token is dead', async () => {
    const session = await registerAndLogin(api);
    const reply = await refreshWith(api, session.refreshToken);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer', expires_in: 900 });
    expect(reply.headers.get('cache-control')).toContain('no-store');
    expect(reply.body.refresh_token).not.toBe(session.refreshToken);
    expect((await me(api, reply.body.access_token)).id).toBe(session.id);
    const replay = await refreshWith(api, session.refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('token_reused');
  });

  it('accepts the bare JSON string that pico-auth clients send', async () => {
    const session = await registerAndLogin(api);
    const reply = await send(`${api}/refresh`, session.refreshToken);

    expect(reply.status).toBe(200);
    expect(decodeJwt(reply.body.access_token).sub).toBe(session.id);
    expect((await send(`${api}/refresh`, reply.body.refresh_token)).status).toBe(200);
  });

  it('re-reads the user, so the new access token carries the current role', async () => {
    const session = await registerAndLogin(api);
    await setRole(api, admin.accessToken, session.id, 'operator');

    const reply = await refreshWith(api, session.refreshToken);
    expect(reply.status).toBe(200);
    expect(decodeJwt(reply.body.access_token).role).toBe('operator');
  });

  it('answers an unknown refresh token 401 invalid_token, without error= in the challenge', async () => {
    expectUnauthorized(await refreshWith(api, 'x'.repeat(43)), 'invalid_token', { bearerRefused: false });
    expectUnauthorized(await refreshWith(api, 'x'.repeat(10_000)), 'invalid_token', { bearerRefused: false });
  });
});

describe('POST /logout', () => {
  it('answers 204 to {refresh_token} and ends that session', async () => {
    const session = await registerAndLogin(api);
    const reply = await send(`${api}/logout`, { refresh_token: session.refreshToken });

    expect(reply.status).toBe(204);
    expect(reply.body).toBeUndefined();
    expectUnauthorized(await refreshWith(api, session.refreshToken), 'invalid_token', { bearerRefused: false });
  });

  it('accepts a bare JSON string', async () => {
    const session = await registerAndLogin(api);
    expect((await send(`${api}/logout`, session.refreshToken)).status).toBe(204);
    expectError(await refreshWith(api, session.refreshToken), 401, 'invalid_token');
  });

  it('revokes the whole family, also when given a consumed older token', async () => {
    const session = await registerAndLogin(api);
    const rotated = await refreshWith(api, session.refreshToken);
    expect(rotated.status).toBe(200);

    expect((await send(`${api}/logout`, { refresh_token: session.refreshToken })).status).toBe(204);
    expectError(await refreshWith(api, rotated.body.refresh_token), 401, 'invalid_token');
  });

  it('leaves the other sessions of the user alive', async () => {
    const session = await registerAndLogin(api);
    const other = await login(api, session.email, session.password);

    expect((await send(`${api}/logout`, { refresh_token: session.refreshToken })).status).toBe(204);
    expect((await refreshWith(api, other.refreshToken)).status).toBe(200);
  });

  it('answers 204 for an unknown token too', async () => {
    expect((await send(`${api}/logout`, { refresh_token: 'y'.repeat(43) })).status).toBe(204);
  });
});
