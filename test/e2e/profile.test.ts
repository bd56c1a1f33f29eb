import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectUnauthorized, login, NO_IP_LIMIT, refreshWith, registerAndLogin } from '../support/flows.js';
import type { Session } from '../support/flows.js';
import { get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';

let server: TestServer;
let api: string;

beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
  api = server.api;
});
afterAll(() => server?.stop());

const NEW_PASSWORD = 'e2e-Another-Battery-9922';

function changePassword(session: Session, body: unknown) {
  return send(`${api}/me/password`, body, { token: session.accessToken });
}

describe('GET /me', () => {
  it('answers the caller with exactly the fields of SPEC §4', async () => {
    const email = uniqueEmail();
    const registered = await send(`${api}/register`, { email, password: NEW_PASSWORD, display_name: 'Grace' });
    const { accessToken } = await login(api, email, NEW_PASSWORD);

    const reply = await get(`${api}/me`, accessToken);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      id: registered.body.id,
      email,
      display_name: 'Grace',
      role: 'viewer',
      org_id: 'default',
      status: 'active',
      created_at: expect.any(String),
      last_login_at: expect.any(String),
    });
    expect(Date.parse(reply.body.created_at)).not.toBeNaN();
    expect(Date.parse(reply.body.created_at)).toBeLessThanOrEqual(Date.parse(reply.body.last_login_at));
  });

  it('needs a bearer token', async () => {
    expectUnauthorized(await get(`${api}/me`), 'unauthenticated', { bearerRefused: false });
  });
});

describe('POST /me/password', () => {
  it('changes the password: the new one logs in, the old one no longer does', async () => {
    const session = await registerAndLogin(api);
    const reply = await changePassword(session, { old_password: session.password, new_password: NEW_PASSWORD });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ message: 'Password changed' });
    expect((await send(`${api}/login`, { email: session.email, password: NEW_PASSWORD })).status).toBe(200);
    expectError(await send(`${api}/login`, { email: session.email, password: session.password }), 401, 'invalid_credentials');
  });

  it('revokes every refresh token of the user', async () => {
    const session = await registerAndLogin(api);
    const otherDevice = await login(api, session.email, session.password);

    expect((await changePassword(session, { old_password: session.password, new_password: NEW_PASSWORD })).status).toBe(200);
    expectUnauthorized(await refreshWith(api, session.refreshToken), 'invalid_token', { bearerRefused: false });
    expectUnauthorized(await refreshWith(api, otherDevice.refreshToken), 'invalid_token', { bearerRefused: false });
  });

  it('answers a wrong old password 400 invalid_credentials and changes nothing', async () => {
    const session = await registerAndLogin(api);
    const reply = await changePassword(session, { old_password: 'not-my-password-1', new_password: NEW_PASSWORD });

    expectError(reply, 400, 'invalid_credentials');
    expect((await refreshWith(api, session.refreshToken)).status).toBe(200);
    expect((await send(`${api}/login`, { email: session.email, password: session.password })).status).toBe(200);
    expectError(await send(`${api}/login`, { email: session.email, password: NEW_PASSWORD }), 401, 'invalid_credentials');
  });

  it('refuses a weak new password with 400 weak_password and keeps the old one', async () => {
    const session = await registerAndLogin(api);

    for (const weak of ['short', 'password123', 'x'.repeat(1025)]) {
      expectError(await changePassword(session, { old_password: session.password, new_password: weak }), 400, 'weak_password');
    }
    expect((await send(`${api}/login`, { email: session.email, password: session.password })).status).toBe(200);
    expect((await refreshWith(api, session.refreshToken)).status).toBe(200);
  });

  it('needs both passwords as non-empty strings', async () => {
    const session = await registerAndLogin(api);
    const bodies = [
      { old_password: session.password },
      { new_password: NEW_PASSWORD },
      { old_password: '', new_password: NEW_PASSWORD },
      { old_password: session.password, new_password: 12345678901 },
      [session.password, NEW_PASSWORD],
    ];
    for (const body of bodies) expectError(await changePassword(session, body), 400, 'invalid_request');
    expect((await send(`${api}/login`, { email: session.email, password: session.password })).status).toBe(200);
  });

  it('needs a bearer token', async () => {
    const reply = await send(`${api}/me/password`, { old_password: 'whatever-123', new_password: NEW_PASSWORD });
    expectUnauthorized(reply, 'unauthenticated', { bearerRefused: false });
  });
});
