import { randomUUID } from 'node:crypto';
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
  updateUserRow,
  userWithRole,
} from '../support/flows.js';
import type { Session } from '../support/flows.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';

// The business rules of SPEC §3–§4 that answer with their own error code.

let server: TestServer;
let api: string;
let admin: Session;

beforeAll(async () => {
  // Nobody in this file is ever made superadmin: the last-superadmin test relies on it.
  server = await startTestServer(NO_IP_LIMIT);
  api = server.api;
  admin = await loginAdmin(api);
});
afterAll(() => server?.stop());

function register(email: string, password: string) {
  return send(`${api}/register`, { email, password });
}

describe('weak_password', () => {
  it.each([
    ['shorter than 8 characters', 'Zq7-xy!'],
    ['longer than 1024 characters', 'Zq7-'.repeat(256) + 'x'],
    ['common (password123)', 'password123'],
    ['common (qwertyuiop)', 'qwertyuiop'],
  ])('refuses a password %s with 400 weak_password and creates no user', async (_case, password) => {
    const email = uniqueEmail();
    expectError(await register(email, password), 400, 'weak_password');
    expectError(await send(`${api}/login`, { email, password: PASSWORD }), 401, 'invalid_credentials');
    expect((await register(email, PASSWORD)).status).toBe(201);
  });

  it('follows AUTH_PASSWORD_MIN_LENGTH: registration and password changes', async () => {
    const strict = await startTestServer({ ...NO_IP_LIMIT, AUTH_PASSWORD_MIN_LENGTH: '12' });
    try {
      const email = uniqueEmail();
      expectError(await send(`${strict.api}/register`, { email, password: 'Zq7-xy!k-ab' }), 400, 'weak_password');
      expect((await send(`${strict.api}/register`, { email, password: 'Zq7-xy!k-abc' })).status).toBe(201);
      const session = await login(strict.api, email, 'Zq7-xy!k-abc');
      const change = (newPassword: string) =>
        send(`${strict.api}/me/password`, { old_password: 'Zq7-xy!k-abc', new_password: newPassword }, { token: session.accessToken });
      expectError(await change('Zq7-xy!k-ab'), 400, 'weak_password');
      expect((await change('Zq7-xy!k-abcd')).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });

  it('accepts 8 and 1024 characters, and never truncates a long password', async () => {
    expect((await register(uniqueEmail(), 'Zq7-xy!k')).status).toBe(201);

    const long = 'Zq7-'.repeat(256);
    const account = await registerUser(api, { password: long });
    expect((await send(`${api}/login`, { email: account.email, password: long })).status).toBe(200);
    const truncated = long.slice(0, 72);
    expectError(await send(`${api}/login`, { email: account.email, password: truncated }), 401, 'invalid_credentials');
  });
});

describe('user_exists', () => {
  it('refuses an email already registered, in any casing or padding, with 409', async () => {
    const email = uniqueEmail();
    const first = await registerUser(api, { email });

    for (const again of [email, email.toUpperCase(), `  ${email} `]) {
      expectError(await register(again, 'e2e-Different-Pass-1'), 409, 'user_exists');
    }
    // The first account is untouched: its own password still logs in.
    const tokens = await login(api, email, first.password);
    expect((await me(api, tokens.accessToken)).id).toBe(first.id);
  });
});

describe('last_superadmin', () => {
  it('refuses to let the only superadmin demote itself: 409, and it stays superadmin', async () => {
    expectError(await send(`${api}/users/${admin.id}/role`, { role: 'viewer' }, { method: 'PUT', token: admin.accessToken }), 409, 'last_superadmin');
    expectError(await send(`${api}/users/${admin.id}/role`, 'org_admin', { method: 'PUT', token: admin.accessToken }), 409, 'last_superadmin');
    expect((await me(api, admin.accessToken)).role).toBe('superadmin');
  });

  it('lets the only superadmin "assign" itself superadmin again', async () => {
    const reply = await send(`${api}/users/${admin.id}/role`, { role: 'superadmin' }, { method: 'PUT', token: admin.accessToken });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ id: admin.id, email: ADMIN_EMAIL, role: 'superadmin' });
  });
});

describe('last_superadmin under a race', () => {
  let own: TestServer;
  beforeAll(async () => {
    own = await startTestServer(NO_IP_LIMIT);
  });
  afterAll(() => own?.stop());

  it('keeps one superadmin when two demote each other at once', async () => {
    const first = await loginAdmin(own.api);
    const second = await userWithRole(own.api, first.accessToken, 'superadmin');

    const replies = await Promise.all([
      send(`${own.api}/users/${second.id}/role`, { role: 'viewer' }, { method: 'PUT', token: first.accessToken }),
      send(`${own.api}/users/${first.id}/role`, { role: 'viewer' }, { method: 'PUT', token: second.accessToken }),
    ]);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    const refused = replies.find((r) => r.status !== 200)!;
    expect([409, 403]).toContain(refused.status);

    const roles = await Promise.all([first, second].map(async (s) => (await me(own.api, s.accessToken)).role));
    expect(roles.sort()).toEqual(['superadmin', 'viewer']);
  });
});

describe('user_suspended (suspension has no endpoint: the row is edited)', () => {
  it('answers every bearer call of a suspended user with 403', async () => {
    const session = await userWithRole(api, admin.accessToken, 'org_admin');
    await updateUserRow(server, session.id, { status: 'suspended' });

    expectError(await get(`${api}/me`, session.accessToken), 403, 'user_suspended');
    expectError(await get(`${api}/users`, session.accessToken), 403, 'user_suspended');
    const change = await send(`${api}/me/password`, { old_password: session.password, new_password: 'e2e-New-Pass-4711' }, { token: session.accessToken });
    expectError(change, 403, 'user_suspended');
  });

  it('answers login 403 only after a correct password; a wrong one stays 401 invalid_credentials', async () => {
    const account = await registerUser(api);
    await updateUserRow(server, account.id, { status: 'suspended' });

    expectError(await send(`${api}/login`, { email: account.email, password: account.password }), 403, 'user_suspended');
    expectUnauthorized(await send(`${api}/login`, { email: account.email, password: 'not-the-password-9' }), 'invalid_credentials', {
      bearerRefused: false,
    });
  });

  it('answers a refresh of a suspended user with 403', async () => {
    const session = await registerAndLogin(api);
    await updateUserRow(server, session.id, { status: 'suspended' });

    expectError(await refreshWith(api, session.refreshToken), 403, 'user_suspended');
  });

  it('lets the user back in once the row is active again', async () => {
    const session = await registerAndLogin(api);
    await updateUserRow(server, session.id, { status: 'suspended' });
    expectError(await get(`${api}/me`, session.accessToken), 403, 'user_suspended');

    await updateUserRow(server, session.id, { status: 'active' });
    expect((await me(api, session.accessToken)).status).toBe('active');
  });
});

describe('registration_disabled', () => {
  let closed: TestServer;
  beforeAll(async () => {
    closed = await startTestServer({ ...NO_IP_LIMIT, AUTH_REGISTRATION_ENABLED: 'false' });
  });
  afterAll(() => closed?.stop());

  it('answers register with 403 registration_disabled and creates no user', async () => {
    const email = uniqueEmail();
    expectError(await send(`${closed.api}/register`, { email, password: PASSWORD }), 403, 'registration_disabled');
    expectError(await send(`${closed.api}/login`, { email, password: PASSWORD }), 401, 'invalid_credentials');
  });

  it('still lets existing users log in', async () => {
    expect((await send(`${closed.api}/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(200);
  });

  it.each([
    ['an empty object', {}, {}],
    ['malformed JSON', '{"email":', { 'content-type': 'application/json' }],
    ['a body that is not JSON', 'email=a@example.com', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('answers 403 registration_disabled to %s too: the door is closed whatever is sent', async (_case, body, headers) => {
    expectError(await send(`${closed.api}/register`, body, { headers }), 403, 'registration_disabled');
  });
});

describe('forbidden', () => {
  it('refuses a role above one\'s own, even to a user of one\'s own org', async () => {
    const org = `org-${randomUUID()}`;
    const orgAdmin = await userWithRole(api, admin.accessToken, 'org_admin');
    const member = await registerAndLogin(api);
    await updateUserRow(server, orgAdmin.id, { org_id: org });
    await updateUserRow(server, member.id, { org_id: org });

    const reply = await send(`${api}/users/${member.id}/role`, { role: 'superadmin' }, { method: 'PUT', token: orgAdmin.accessToken });
    expectError(reply, 403, 'forbidden');
    expect((await me(api, member.accessToken)).role).toBe('viewer');
  });
});
