import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, login, loginAdmin, me, NO_IP_LIMIT, PASSWORD, registerUser } from '../support/flows.js';
import type { Reply, Session } from '../support/flows.js';
import { get, send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';

// Hostile request bodies, emails and passwords (SPEC §3, §4 "Email", "Bodies", §6).

let server: TestServer;
let api: string;
let admin: Session;

beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
  api = server.api;
  admin = await loginAdmin(api);
});
afterAll(() => server?.stop());

const JSON_TYPE = { 'content-type': 'application/json' };

function postRaw(path: string, text: string, headers: Record<string, string> = JSON_TYPE): Promise<Reply> {
  return call(`${api}${path}`, { method: 'POST', headers, body: text });
}

/** The user as the admin list shows it, or undefined. */
async function listed(email: string): Promise<any> {
  const reply = await get(`${api}/users?limit=500`, admin.accessToken);
  expect(reply.status).toBe(200);
  return reply.body.users.find((user: { email: string }) => user.email === email);
}

/** The stored user is a plain active viewer of the default org, seen through /me and the admin list. */
async function expectPlainViewer(email: string, password: string): Promise<void> {
  const tokens = await login(api, email, password);
  expect(await me(api, tokens.accessToken)).toMatchObject({ email, role: 'viewer', status: 'active', org_id: 'default' });
  expect(await listed(email)).toMatchObject({ email, role: 'viewer', status: 'active', org_id: 'default' });
}

async function expectNotRegistered(email: string): Promise<void> {
  expect(await listed(email)).toBeUndefined();
}

describe('bodies', () => {
  it('answers a body over 16 KiB with 413, declared or chunked, and stores nothing', async () => {
    const email = uniqueEmail();
    const text = JSON.stringify({ email, password: PASSWORD, padding: 'x'.repeat(16 * 1024) });
    expectError(await postRaw('/register', text), 413, 'payload_too_large');

    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    });
    const reply = await call(`${api}/register`, { method: 'POST', headers: JSON_TYPE, body: chunked, duplex: 'half' } as RequestInit);
    expectError(reply, 413, 'payload_too_large');
    await expectNotRegistered(email);
  });

  it.each([
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['XML', 'application/xml'],
  ])('answers a JSON body sent as %s with 415 (no CSRF by simple request)', async (_case, contentType) => {
    const email = uniqueEmail();
    const reply = await postRaw('/register', JSON.stringify({ email, password: PASSWORD }), { 'content-type': contentType });
    expectError(reply, 415, 'unsupported_media_type');
    await expectNotRegistered(email);
  });

  it.each(['{', '{"email": "a@b.io", }', "{'email': 'a@b.io'}", '{"email": "a@b.io"} trailing', '\u0000', 'NaN'])(
    'answers malformed JSON %j with 400 invalid_request',
    async (text) => {
      expectError(await postRaw('/login', text), 400, 'invalid_request');
    },
  );

  it.each([
    ['email: []', { email: [] }],
    ['email: {"$ne": null}', { email: { $ne: null } }],
    ['email: 42', { email: 42 }],
    ['password: {"$gt": ""}', { password: { $gt: '' } }],
    ['password: true', { password: true }],
    ['password: ["x"]', { password: ['a-long-enough-password'] }],
  ])('answers a field of the wrong type (%s) with 400 on register and login', async (_case, body) => {
    const email = uniqueEmail();
    const account = await registerUser(api);
    const registerBody = { email, password: PASSWORD, ...body };
    const loginBody = { email: account.email, password: account.password, ...body };

    expectError(await send(`${api}/register`, registerBody), 400, 'invalid_request');
    expectError(await send(`${api}/login`, loginBody), 400, 'invalid_request');
    await expectNotRegistered(email);
  });

  it('ignores role, status and org_id on register, and never stores them', async () => {
    const email = uniqueEmail();
    const reply = await send(`${api}/register`, { email, password: PASSWORD, role: 'superadmin', status: 'suspended', org_id: 'evil-org', is_admin: true });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ role: 'viewer', status: 'active' });
    await expectPlainViewer(email, PASSWORD);
  });

  it('stores nothing from __proto__ or constructor keys, and pollutes no prototype', async () => {
    const email = uniqueEmail();
    const text = `{"email": ${JSON.stringify(email)}, "password": ${JSON.stringify(PASSWORD)},
      "__proto__": {"role": "superadmin", "status": "suspended", "org_id": "evil-org", "isAdmin": true},
      "constructor": {"prototype": {"role": "superadmin", "isAdmin": true}}}`;
    const reply = await postRaw('/register', text);
    expect([201, 400]).toContain(reply.status);
    if (reply.status === 201) await expectPlainViewer(email, PASSWORD);
    else await expectNotRegistered(email);

    // The server runs in this process: its global prototypes are ours.
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const later = await registerUser(api);
    await expectPlainViewer(later.email, later.password);
  });

  it('reads credentials only from the body itself, never from a __proto__ key', async () => {
    const account = await registerUser(api);
    const text = `{"__proto__": {"email": ${JSON.stringify(account.email)}, "password": ${JSON.stringify(account.password)}}}`;
    expectError(await postRaw('/login', text), 400, 'invalid_request');
  });
});

describe('emails', () => {
  it.each([
    ['a 10 KB email', `${'a'.repeat(10 * 1024)}@x.io`],
    ['a ReDoS-shaped email', `${'a'.repeat(5000)}@${'a.'.repeat(2000)}`],
    ['a ReDoS-shaped domain that ends well', `a@${'a.'.repeat(3000)}io`],
    ['255 characters', `${'a'.repeat(64)}@${'b'.repeat(187)}.io`],
  ])('answers %s with 400 on register and login', async (_case, email) => {
    expectError(await send(`${api}/register`, { email, password: PASSWORD }), 400, 'invalid_request');
    expectError(await send(`${api}/login`, { email, password: PASSWORD }), 400, 'invalid_request');
  });

  it.each([
    ['a NUL', 'a\u0000b@x.io'],
    ['a right-to-left override', 'a\u202eb@x.io'],
    ['a line break', 'a\nb@x.io'],
  ])('refuses to register an email with %s (400), and answers a login with it as an unknown email (401)', async (_case, email) => {
    expectError(await send(`${api}/register`, { email, password: PASSWORD }), 400, 'invalid_request');
    expectError(await send(`${api}/login`, { email, password: PASSWORD }), 401, 'invalid_credentials');
  });

  it('treats Alice@X.io and alice@x.io as one account', async () => {
    const id = randomUUID();
    expect((await send(`${api}/register`, { email: `Alice-${id}@X.io`, password: PASSWORD })).status).toBe(201);

    expectError(await send(`${api}/register`, { email: `alice-${id}@x.io`, password: 'another-Pass-4471' }), 409, 'user_exists');
    const tokens = await login(api, `alice-${id}@x.io`, PASSWORD);
    expect((await me(api, tokens.accessToken)).email).toBe(`alice-${id}@x.io`);
  });

  it.each([
    ['NFC first, then NFD', 'NFC', 'NFD'],
    ['NFD first, then NFC', 'NFD', 'NFC'],
  ] as const)('treats the NFC and NFD spellings of jürgen@x.io as one account (%s)', async (_case, first, second) => {
    const base = `jürgen-${randomUUID()}@x.io`;
    const registered = await send(`${api}/register`, { email: base.normalize(first), password: PASSWORD });
    expect(registered.status).toBe(201);
    expect(registered.body.email).toBe(base.normalize('NFC'));

    expectError(await send(`${api}/register`, { email: base.normalize(second), password: 'another-Pass-4471' }), 409, 'user_exists');
    await login(api, base.normalize(second), PASSWORD);
    await login(api, base.normalize(first), PASSWORD);
  });
});

describe('passwords', () => {
  it('needs at least 8 characters', async () => {
    expectError(await send(`${api}/register`, { email: uniqueEmail(), password: 'Zq7#xK2' }), 400, 'weak_password');
    expect((await send(`${api}/register`, { email: uniqueEmail(), password: 'Zq7#xK2m' })).status).toBe(201);
  });

  it('takes at most 1024 characters; a 2,000-character one is 400 on register, login and password change', async () => {
    const long = 'Lp9-'.repeat(500);
    const account = await registerUser(api);
    const tokens = await login(api, account.email, account.password);

    expectError(await send(`${api}/register`, { email: uniqueEmail(), password: 'x'.repeat(1025) }), 400, 'weak_password');
    expectError(await send(`${api}/register`, { email: uniqueEmail(), password: long }), 400, 'weak_password');
    expect((await send(`${api}/login`, { email: account.email, password: long })).status).toBe(400);
    expect((await send(`${api}/me/password`, { old_password: long, new_password: 'brand-New-Pass-993' }, { token: tokens.accessToken })).status).toBe(400);
    expectError(await send(`${api}/me/password`, { old_password: account.password, new_password: long }, { token: tokens.accessToken }), 400, 'weak_password');
    await login(api, account.email, account.password);
  });

  it.each(['password1', 'iloveyou', 'qwerty123', 'Password1', 'PASSWORD1', 'ILoveYou'])('refuses the common password %j with weak_password', async (password) => {
    const email = uniqueEmail();
    expectError(await send(`${api}/register`, { email, password }), 400, 'weak_password');
    await expectNotRegistered(email);
  });

  it('refuses a common password as a new password too', async () => {
    const account = await registerUser(api);
    const tokens = await login(api, account.email, account.password);
    expectError(await send(`${api}/me/password`, { old_password: account.password, new_password: 'Password1' }, { token: tokens.accessToken }), 400, 'weak_password');
  });

  it('never truncates: a 100-byte password does not log in with its first 72 bytes', async () => {
    const password = `${'Tr7-'.repeat(18)}${'x'.repeat(28)}`;
    expect(Buffer.byteLength(password)).toBe(100);
    const account = await registerUser(api, { password });

    expectError(await send(`${api}/login`, { email: account.email, password: password.slice(0, 72) }), 401, 'invalid_credentials');
    await login(api, account.email, password);
  });
});
