import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  expectError,
  login,
  loginAdmin,
  me,
  NO_IP_LIMIT,
  PASSWORD,
  registerAndLogin,
  registerUser,
  setRole,
  updateUserRow,
  userWithRole,
} from '../support/flows.js';
import type { Account, Session } from '../support/flows.js';
import { get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { PLAIN_CHALLENGE } from './support.js';

// Who may do what (SPEC §4 "Roles"): privilege is never taken from a request, only granted downwards.

let server: TestServer;
let api: string;
let admin: Session;

beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
  api = server.api;
  admin = await loginAdmin(api);
});
afterAll(() => server?.stop());

function putRole(userId: string, role: unknown, token: string) {
  return send(`${api}/users/${userId}/role`, { role }, { method: 'PUT', token });
}

/** The role the server holds for `userId`, read through the superadmin's list. */
async function roleOf(userId: string): Promise<string> {
  const reply = await get(`${api}/users?limit=500`, admin.accessToken);
  expect(reply.status).toBe(200);
  const user = reply.body.users.find((u: { id: string }) => u.id === userId);
  expect(user, `user ${userId} in the list`).toBeDefined();
  return user.role;
}

it('takes no role, status or org_id from the register body: the new user cannot administer anything', async () => {
  const email = uniqueEmail();
  const reply = await send(`${api}/register`, { email, password: PASSWORD, role: 'superadmin', status: 'active', org_id: 'default' });
  expect(reply.status).toBe(201);
  const tokens = await login(api, email, PASSWORD);

  expect(await me(api, tokens.accessToken)).toMatchObject({ role: 'viewer', org_id: 'default' });
  expectError(await get(`${api}/users`, tokens.accessToken), 403, 'forbidden');
  expectError(await putRole(reply.body.id, 'superadmin', tokens.accessToken), 403, 'forbidden');
});

describe.each(['viewer', 'operator'])('a %s on the admin routes', (role) => {
  it('gets 403 forbidden, also towards itself, and changes nothing', async () => {
    const actor = await userWithRole(api, admin.accessToken, role);
    const other = await registerUser(api);

    expectError(await get(`${api}/users`, actor.accessToken), 403, 'forbidden');
    expectError(await putRole(other.id, 'operator', actor.accessToken), 403, 'forbidden');
    expectError(await putRole(actor.id, 'superadmin', actor.accessToken), 403, 'forbidden');
    expect(await roleOf(other.id)).toBe('viewer');
    expect(await roleOf(actor.id)).toBe(role);
  });
});

it('answers the admin routes without a token with 401 unauthenticated', async () => {
  const other = await registerUser(api);
  for (const reply of [
    await call(`${api}/users`),
    await call(`${api}/users/${other.id}/role`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"role":"superadmin"}' }),
  ]) {
    expectError(reply, 401, 'unauthenticated');
    expect(reply.headers.get('www-authenticate')).toBe(PLAIN_CHALLENGE);
  }
  expect(await roleOf(other.id)).toBe('viewer');
});

describe('an org_admin', () => {
  let org: string;
  let orgAdmin: Session;
  let member: Account;
  let outsider: Account;

  /** A fresh user moved into `orgId` (the API has no way to do that). */
  async function userIn(orgId: string): Promise<Account> {
    const account = await registerUser(api);
    await updateUserRow(server, account.id, { org_id: orgId });
    return account;
  }

  beforeAll(async () => {
    org = `org-${randomUUID()}`;
    orgAdmin = await userWithRole(api, admin.accessToken, 'org_admin');
    await updateUserRow(server, orgAdmin.id, { org_id: org });
    member = await userIn(org);
    outsider = await userIn(`other-${randomUUID()}`);
  });

  it('may assign roles up to its own inside its org (the rules below are not a blanket refusal)', async () => {
    const colleague = await userIn(org);
    expect((await putRole(colleague.id, 'operator', orgAdmin.accessToken)).status).toBe(200);
    expect((await putRole(colleague.id, 'org_admin', orgAdmin.accessToken)).status).toBe(200);
    expect(await roleOf(colleague.id)).toBe('org_admin');
  });

  it('cannot grant superadmin to a member of its org, nor to itself', async () => {
    expectError(await putRole(member.id, 'superadmin', orgAdmin.accessToken), 403, 'forbidden');
    expectError(await putRole(orgAdmin.id, 'superadmin', orgAdmin.accessToken), 403, 'forbidden');
    expect(await roleOf(member.id)).toBe('viewer');
    expect(await roleOf(orgAdmin.id)).toBe('org_admin');
  });

  it('cannot touch a superadmin, even one of its own org (403)', async () => {
    const boss = await registerUser(api);
    await setRole(api, admin.accessToken, boss.id, 'superadmin');
    await updateUserRow(server, boss.id, { org_id: org });

    for (const role of ['viewer', 'operator', 'org_admin', 'superadmin']) {
      expectError(await putRole(boss.id, role, orgAdmin.accessToken), 403, 'forbidden');
    }
    expect(await roleOf(boss.id)).toBe('superadmin');
    await setRole(api, admin.accessToken, boss.id, 'viewer'); // leave one superadmin for the other tests
  });

  it("gets 404 for another org's users, whose role stays as it was", async () => {
    for (const role of ['viewer', 'operator', 'org_admin']) {
      expectError(await putRole(outsider.id, role, orgAdmin.accessToken), 404, 'not_found');
    }
    // The bootstrap superadmin lives in another org too: 404, not 403, so nothing is revealed.
    expectError(await putRole(admin.id, 'viewer', orgAdmin.accessToken), 404, 'not_found');
    expect(await roleOf(outsider.id)).toBe('viewer');
  });

  it('lists only the users of its own org', async () => {
    const reply = await get(`${api}/users?limit=500`, orgAdmin.accessToken);
    expect(reply.status).toBe(200);
    const ids = reply.body.users.map((u: { id: string }) => u.id);
    expect(new Set(reply.body.users.map((u: { org_id: string }) => u.org_id))).toEqual(new Set([org]));
    expect(ids).toEqual(expect.arrayContaining([orgAdmin.id, member.id]));
    expect(ids).not.toContain(outsider.id);
    expect(ids).not.toContain(admin.id);
    expect(reply.body.total).toBe(ids.length);
  });
});

it.each(['Superadmin', 'SUPERADMIN', 'admin', 'root', ' viewer', 'viewer ', 'org-admin', 'orgadmin', 'viewer\u0000', 'superadmin\u200b'])(
  'refuses the role %j with 400 invalid_role and changes nothing',
  async (role) => {
    const target = await registerUser(api);
    expectError(await putRole(target.id, role, admin.accessToken), 400, 'invalid_role');
    expect(await roleOf(target.id)).toBe('viewer');
  },
);

it.each([
  ['a number', 1],
  ['an array', ['superadmin']],
  ['an object', { $ne: null }],
  ['null', null],
])('refuses a role that is %s with 400, changing nothing', async (_case, role) => {
  const target = await registerUser(api);
  const reply = await putRole(target.id, role, admin.accessToken);
  expect(reply.status).toBe(400);
  expect(['invalid_request', 'invalid_role']).toContain(reply.body.code);
  expect(await roleOf(target.id)).toBe('viewer');
});

it('never lists password or token hashes', async () => {
  const session = await registerAndLogin(api);
  await send(`${api}/refresh`, { refresh_token: session.refreshToken });

  const replies = [
    await get(`${api}/users?limit=500`, admin.accessToken),
    await get(`${api}/me`, session.accessToken),
    await putRole(session.id, 'operator', admin.accessToken),
  ];
  const fields: string[] = [];
  const values: string[] = [];
  collect(replies.map((reply) => reply.body), fields, values);

  expect(replies[0]?.body.users.length).toBeGreaterThan(1);
  expect(fields.filter((name) => /hash/i.test(name))).toEqual([]);
  expect(values.filter((value) => value.startsWith('$argon2') || value.startsWith('$2'))).toEqual([]);
});

/** Every key and string value anywhere in `value`. */
function collect(value: unknown, fields: string[], values: string[]): void {
  if (typeof value === 'string') values.push(value);
  else if (Array.isArray(value)) for (const item of value) collect(item, fields, values);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      fields.push(key);
      collect(item, fields, values);
    }
  }
}

describe('the last superadmin', () => {
  let lone: TestServer;
  beforeAll(async () => {
    lone = await startTestServer(NO_IP_LIMIT);
  });
  afterAll(() => lone?.stop());

  it('cannot be demoted (409 last_superadmin), but a second one can step down', async () => {
    const root = await loginAdmin(lone.api);
    const demote = (userId: string, token: string) => send(`${lone.api}/users/${userId}/role`, { role: 'org_admin' }, { method: 'PUT', token });

    expectError(await demote(root.id, root.accessToken), 409, 'last_superadmin');
    expect((await get(`${lone.api}/users`, root.accessToken)).status).toBe(200);

    const second = await registerUser(lone.api);
    await setRole(lone.api, root.accessToken, second.id, 'superadmin');
    const secondTokens = await login(lone.api, second.email, second.password);
    expect((await demote(root.id, secondTokens.accessToken)).status).toBe(200);

    // Now `second` is the last one.
    expectError(await demote(second.id, secondTokens.accessToken), 409, 'last_superadmin');
    expect(await me(lone.api, secondTokens.accessToken)).toMatchObject({ role: 'superadmin' });
  });
});
