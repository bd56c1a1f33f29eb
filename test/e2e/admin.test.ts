import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectError,
  expectUnauthorized,
  login,
  loginAdmin,
  me,
  NO_IP_LIMIT,
  registerAndLogin,
  registerUser,
  setRole,
  updateUserRow,
  userWithRole,
} from '../support/flows.js';
import type { Session } from '../support/flows.js';
import { get, send, startTestServer } from '../support/server.js';
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

const USER_FIELDS = ['display_name', 'email', 'id', 'org_id', 'role', 'status'];

function listUsers(token: string, query = '') {
  return get(`${api}/users${query}`, token);
}

function putRole(token: string, userId: string, body: unknown) {
  return send(`${api}/users/${userId}/role`, body, { method: 'PUT', token });
}

/** A session of a fresh user moved into `org` (the API has no org assignment, so the row is edited). */
async function userInOrg(org: string, role?: string): Promise<Session> {
  const session = await registerAndLogin(api);
  if (role) await setRole(api, admin.accessToken, session.id, role);
  await updateUserRow(server, session.id, { org_id: org });
  return session;
}

describe('GET /users', () => {
  it('lists every user with the total, and never a password hash', async () => {
    const first = await registerUser(api);
    const second = await registerUser(api);

    const reply = await listUsers(admin.accessToken, '?limit=500');
    expect(reply.status).toBe(200);
    expect(reply.body.total).toBe(reply.body.users.length);
    const ids = reply.body.users.map((u: { id: string }) => u.id);
    expect(ids).toEqual(expect.arrayContaining([admin.id, first.id, second.id]));
    for (const user of reply.body.users) expect(Object.keys(user).sort()).toEqual(USER_FIELDS);
    expect(reply.body.users.find((u: { id: string }) => u.id === first.id)).toEqual({
      id: first.id,
      email: first.email,
      display_name: '',
      role: 'viewer',
      org_id: 'default',
      status: 'active',
    });
    expect(JSON.stringify(reply.body)).not.toMatch(/password|\$argon2/);
  });

  it('pages with limit and offset, the total staying that of the whole list', async () => {
    await Promise.all([registerUser(api), registerUser(api), registerUser(api)]);
    const all = await listUsers(admin.accessToken, '?limit=500');
    const total: number = all.body.total;
    expect(total).toBeGreaterThanOrEqual(4);

    const pages = [];
    for (let offset = 0; offset < total; offset += 2) {
      const page = await listUsers(admin.accessToken, `?limit=2&offset=${offset}`);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(total);
      expect(page.body.users).toHaveLength(Math.min(2, total - offset));
      pages.push(...page.body.users);
    }
    expect(pages).toEqual(all.body.users);
    expect((await listUsers(admin.accessToken, `?offset=${total}`)).body).toEqual({ users: [], total });
  });

  it('is forbidden to viewers and operators', async () => {
    const viewer = await registerAndLogin(api);
    const operator = await userWithRole(api, admin.accessToken, 'operator');

    expectError(await listUsers(viewer.accessToken), 403, 'forbidden');
    expectError(await listUsers(operator.accessToken), 403, 'forbidden');
  });

  it('checks the current role, not the one in the token', async () => {
    const session = await registerAndLogin(api); // its token says "viewer"
    await setRole(api, admin.accessToken, session.id, 'org_admin');
    expect((await listUsers(session.accessToken)).status).toBe(200);

    const promoted = await login(api, session.email, session.password); // this one says "org_admin"
    await setRole(api, admin.accessToken, session.id, 'viewer');
    expectError(await listUsers(promoted.accessToken), 403, 'forbidden');
  });

  it('needs a bearer token', async () => {
    expectUnauthorized(await get(`${api}/users`), 'unauthenticated', { bearerRefused: false });
  });
});

describe('PUT /users/{id}/role', () => {
  it('sets the role from {role} and answers {id, email, role}', async () => {
    const target = await registerAndLogin(api);
    const reply = await putRole(admin.accessToken, target.id, { role: 'operator' });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ id: target.id, email: target.email, role: 'operator' });
    expect((await me(api, target.accessToken)).role).toBe('operator');
  });

  it('accepts the role as a bare JSON string', async () => {
    const target = await registerAndLogin(api);
    const reply = await putRole(admin.accessToken, target.id, 'org_admin');

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ id: target.id, email: target.email, role: 'org_admin' });
    expect((await me(api, target.accessToken)).role).toBe('org_admin');
  });

  it('refuses a role that is not one of the four exact names with 400 invalid_role', async () => {
    const target = await registerAndLogin(api);
    for (const role of ['admin', 'Viewer', 'SUPERADMIN', ' operator', 'org-admin']) {
      expectError(await putRole(admin.accessToken, target.id, { role }), 400, 'invalid_role');
    }
    expect((await me(api, target.accessToken)).role).toBe('viewer');
  });

  it('answers 404 not_found for an unknown user id', async () => {
    expectError(await putRole(admin.accessToken, randomUUID(), { role: 'viewer' }), 404, 'not_found');
    // No stored id holds a NUL (PostgreSQL's text cannot): asking for one was a 500 there.
    expectError(await putRole(admin.accessToken, 'a%00b', { role: 'viewer' }), 404, 'not_found');
  });

  it('is forbidden to viewers and operators, even towards themselves', async () => {
    const viewer = await registerAndLogin(api);
    const operator = await userWithRole(api, admin.accessToken, 'operator');

    expectError(await putRole(viewer.accessToken, viewer.id, { role: 'operator' }), 403, 'forbidden');
    expectError(await putRole(operator.accessToken, viewer.id, { role: 'viewer' }), 403, 'forbidden');
    expect((await me(api, viewer.accessToken)).role).toBe('viewer');
  });

  it('lets a superadmin make another superadmin, who may then step down', async () => {
    const second = await registerAndLogin(api);
    expect((await putRole(admin.accessToken, second.id, { role: 'superadmin' })).status).toBe(200);
    expect((await me(api, second.accessToken)).role).toBe('superadmin');

    // Two superadmins now, so neither is the last one.
    const reply = await putRole(second.accessToken, second.id, { role: 'viewer' });
    expect(reply.status).toBe(200);
    expect((await me(api, second.accessToken)).role).toBe('viewer');
    expect((await me(api, admin.accessToken)).role).toBe('superadmin');
  });
});

describe('as an org_admin', () => {
  it('lists only the users of its own org', async () => {
    const org = `org-${randomUUID()}`;
    const orgAdmin = await userInOrg(org, 'org_admin');
    const member = await userInOrg(org);
    const outsider = await registerUser(api);

    const reply = await listUsers(orgAdmin.accessToken, '?limit=500');
    expect(reply.status).toBe(200);
    expect(reply.body.total).toBe(2);
    expect(reply.body.users.map((u: { id: string }) => u.id).sort()).toEqual([orgAdmin.id, member.id].sort());
    expect(reply.body.users.every((u: { org_id: string }) => u.org_id === org)).toBe(true);

    // The superadmin still sees everyone, whatever their org.
    const everyone = (await listUsers(admin.accessToken, '?limit=500')).body.users.map((u: { id: string }) => u.id);
    expect(everyone).toEqual(expect.arrayContaining([orgAdmin.id, member.id, outsider.id]));
  });

  it('gets 404 not_found for a user of another org, whose role stays as it was', async () => {
    const orgAdmin = await userInOrg(`org-${randomUUID()}`, 'org_admin');
    const outsider = await registerAndLogin(api);

    expectError(await putRole(orgAdmin.accessToken, outsider.id, { role: 'operator' }), 404, 'not_found');
    expect((await me(api, outsider.accessToken)).role).toBe('viewer');
  });

  it('assigns roles up to its own inside its org, but never superadmin', async () => {
    const org = `org-${randomUUID()}`;
    const orgAdmin = await userInOrg(org, 'org_admin');
    const member = await userInOrg(org);

    expect((await putRole(orgAdmin.accessToken, member.id, 'operator')).body).toEqual({ id: member.id, email: member.email, role: 'operator' });
    expect((await putRole(orgAdmin.accessToken, member.id, { role: 'org_admin' })).status).toBe(200);
    expect((await me(api, member.accessToken)).role).toBe('org_admin');

    expectError(await putRole(orgAdmin.accessToken, member.id, { role: 'superadmin' }), 403, 'forbidden');
    expectError(await putRole(orgAdmin.accessToken, orgAdmin.id, { role: 'superadmin' }), 403, 'forbidden');
    expect((await me(api, member.accessToken)).role).toBe('org_admin');
    expect((await me(api, orgAdmin.accessToken)).role).toBe('org_admin');
  });

  it('may not touch a superadmin, even in its own org', async () => {
    const orgAdmin = await userWithRole(api, admin.accessToken, 'org_admin'); // org "default", as the admin

    expectError(await putRole(orgAdmin.accessToken, admin.id, { role: 'viewer' }), 403, 'forbidden');
    expectError(await putRole(orgAdmin.accessToken, admin.id, { role: 'org_admin' }), 403, 'forbidden');
    expect((await me(api, admin.accessToken)).role).toBe('superadmin');
  });
});
