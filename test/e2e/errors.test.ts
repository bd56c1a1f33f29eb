import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { base64url, decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDbTime } from '../../src/adapters/sql/timestamps.js';
import {
  call,
  deleteUserRow,
  expectError,
  expectUnauthorized,
  login,
  loginAdmin,
  me,
  NO_IP_LIMIT,
  PASSWORD,
  registerAndLogin,
} from '../support/flows.js';
import type { Session } from '../support/flows.js';
import { exchangeRaw, get, send, startTestServer, uniqueEmail } from '../support/server.js';
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

const JSON_TYPE = { 'content-type': 'application/json' };

/** Sends `text` as the raw body, with `headers` (JSON content type unless overridden). */
function sendRaw(url: string, text: string, headers: Record<string, string> = JSON_TYPE, method = 'POST') {
  return send(url, text, { method, headers: { ...JSON_TYPE, ...headers }, token: admin.accessToken });
}

async function registrationStillFree(email: string): Promise<void> {
  expect((await send(`${api}/register`, { email, password: PASSWORD })).status).toBe(201);
}

describe('request bodies', () => {
  it('answers a body over 16 KiB with 413 payload_too_large, and creates nothing', async () => {
    const email = uniqueEmail();
    const reply = await send(`${api}/register`, { email, password: PASSWORD, padding: 'x'.repeat(17 * 1024) });

    expectError(reply, 413, 'payload_too_large');
    await registrationStillFree(email);
  });

  it('answers 413 for an oversized chunked body that declares no length', async () => {
    const chunk = new TextEncoder().encode(`{"padding": "${'x'.repeat(20 * 1024)}"}`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const reply = await call(`${api}/login`, { method: 'POST', headers: JSON_TYPE, body, duplex: 'half' } as RequestInit);
    expectError(reply, 413, 'payload_too_large');
  });

  it('ignores unknown fields in a body just under the limit', async () => {
    const email = uniqueEmail();
    const reply = await send(`${api}/register`, { email, password: PASSWORD, padding: 'x'.repeat(15 * 1024) });
    expect(reply.status).toBe(201);
  });

  it.each([
    ['text/plain', 'email=a@example.com'],
    ['application/x-www-form-urlencoded', 'email=a%40example.com&password=whatever-123'],
  ])('answers a %s body with 415 unsupported_media_type', async (type, text) => {
    expectError(await sendRaw(`${api}/login`, text, { 'content-type': type }), 415, 'unsupported_media_type');
  });

  it('reads a body in the charset it declares, so a Latin-1 password is the same password', async () => {
    const email = uniqueEmail();
    const password = 'mot de passe déjà vu';
    const latin1 = Buffer.from(JSON.stringify({ email, password }), 'latin1');
    const registered = await call(`${api}/register`, { method: 'POST', headers: { 'content-type': 'application/json; charset=ISO-8859-1' }, body: latin1 });
    expect(registered.status).toBe(201);
    expect((await send(`${api}/login`, { email, password })).status).toBe(200);
  });

  it.each(['x-klingon', 'base64', 'utf-7', 'hex'])('answers a body declared as %s with 415, undecoded', async (charset) => {
    const reply = await sendRaw(`${api}/login`, JSON.stringify({ email: 'a@example.com', password: 'whatever-123' }), { 'content-type': `application/json; charset=${charset}` });
    expectError(reply, 415, 'unsupported_media_type');
  });

  it('answers a body without a content type with 415', async () => {
    const body = new Blob([JSON.stringify({ email: uniqueEmail(), password: PASSWORD })]);
    expectError(await call(`${api}/register`, { method: 'POST', body }), 415, 'unsupported_media_type');
  });

  it.each([
    ['/register', 'POST'],
    ['/login', 'POST'],
    ['/refresh', 'POST'],
    ['/logout', 'POST'],
    ['/me/password', 'POST'],
  ])('answers malformed or empty JSON on %s with 400 invalid_request', async (path, method) => {
    for (const text of ['{"email": "a@example.com", ', "{'single': 'quotes'}", '']) {
      expectError(await sendRaw(`${api}${path}`, text, JSON_TYPE, method), 400, 'invalid_request');
    }
  });

  it('answers malformed JSON on PUT /users/{id}/role with 400 invalid_request', async () => {
    expectError(await sendRaw(`${api}/users/${admin.id}/role`, '{"role": ', JSON_TYPE, 'PUT'), 400, 'invalid_request');
  });

  const email = 'someone@example.com';
  it.each([
    ['no fields', {}],
    ['no password', { email }],
    ['no email', { password: PASSWORD }],
    ['an empty email', { email: '', password: PASSWORD }],
    ['an empty password', { email, password: '' }],
    ['a numeric email', { email: 42, password: PASSWORD }],
    ['a numeric password', { email, password: 12345678 }],
    ['an array email', { email: [email], password: PASSWORD }],
    ['a null password', { email, password: null }],
    ['an email over 254 characters', { email: `${'x'.repeat(60)}@${'d'.repeat(200)}.com`, password: PASSWORD }],
    ['an array body', [email, PASSWORD]],
    ['a string body', email],
    ['a null body', null],
  ])('answers register and login with %s: 400 invalid_request', async (_case, body) => {
    expectError(await send(`${api}/register`, body), 400, 'invalid_request');
    expectError(await send(`${api}/login`, body), 400, 'invalid_request');
  });

  it.each([
    ['a malformed email', 'not-an-email'],
    ['an email without a domain dot', 'a@b'],
    ['an email with a space', 'a b@example.com'],
  ])('refuses to register %s (400), and answers a login with it as an unknown email (401)', async (_case, malformed) => {
    expectError(await send(`${api}/register`, { email: malformed, password: PASSWORD }), 400, 'invalid_request');
    expectError(await send(`${api}/login`, { email: malformed, password: PASSWORD }), 401, 'invalid_credentials');
  });

  it('keeps a right-to-left display_name as it was sent', async () => {
    const email = uniqueEmail();
    const reply = await send(`${api}/register`, { email, password: PASSWORD, display_name: '\u05e2\u05d3\u05d4 \u200fAda' });
    expect(reply.status).toBe(201);
    const { accessToken } = await login(api, email, PASSWORD);
    expect((await me(api, accessToken)).display_name).toBe('\u05e2\u05d3\u05d4 \u200fAda');
  });

  it('answers a display_name of the wrong type with 400 invalid_request', async () => {
    const email = uniqueEmail();
    expectError(await send(`${api}/register`, { email, password: PASSWORD, display_name: 42 }), 400, 'invalid_request');
    await registrationStillFree(email);
  });

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a bell', 'a\u0007b'],
    ['a newline', 'Ada\nLovelace'],
    ['a C1 control', 'a\u009bb'],
    ['a right-to-left override', 'Ada\u202Eecalevol'],
    ['a bidirectional isolate', '\u2067Ada\u2069'],
    ['a line separator', 'Ada\u2028Lovelace'],
  ])(
    // PostgreSQL cannot store NUL: that one was a 500 there.
    'answers a display_name with %s with 400 invalid_request',
    async (_case, displayName) => {
      const email = uniqueEmail();
      expectError(await send(`${api}/register`, { email, password: PASSWORD, display_name: displayName }), 400, 'invalid_request');
      await registrationStillFree(email);
    },
  );

  it.each([
    ['no field', {}],
    ['a numeric token', { refresh_token: 42 }],
    ['an empty token', { refresh_token: '' }],
    ['an empty bare string', ''],
    ['a bare number', 42],
    ['null', null],
    ['an array', ['token']],
  ])('answers refresh and logout with %s: 400 invalid_request', async (_case, body) => {
    expectError(await send(`${api}/refresh`, body), 400, 'invalid_request');
    expectError(await send(`${api}/logout`, body), 400, 'invalid_request');
  });

  it.each([
    ['no field', {}],
    ['a numeric role', { role: 3 }],
    ['an empty bare string', ''],
    ['an array', ['viewer']],
  ])('answers a role change with %s: 400 invalid_request', async (_case, body) => {
    const target = await registerAndLogin(api);
    expectError(await send(`${api}/users/${target.id}/role`, body, { method: 'PUT', token: admin.accessToken }), 400, 'invalid_request');
  });
});

describe('limit and offset', () => {
  it.each(['limit=-1', 'limit=-50', 'limit=abc', 'limit=10abc', 'offset=-1', 'offset=ten'])('answers ?%s with 400 invalid_request', async (query) => {
    expectError(await get(`${api}/users?${query}`, admin.accessToken), 400, 'invalid_request');
  });

  it('clamps a limit of 1000 to 500, and pages 50 users by default', async () => {
    await insertUsers(505, `bulk-${randomUUID()}`);

    const clamped = await get(`${api}/users?limit=1000`, admin.accessToken);
    expect(clamped.status).toBe(200);
    expect(clamped.body.total).toBeGreaterThan(505);
    expect(clamped.body.users).toHaveLength(500);
    expect((await get(`${api}/users?limit=500`, admin.accessToken)).body.users).toEqual(clamped.body.users);
    expect((await get(`${api}/users`, admin.accessToken)).body.users).toEqual(clamped.body.users.slice(0, 50));
  });

  it('clamps a limit of any length, and answers an offset past any database integer with an empty page', async () => {
    const huge = '9'.repeat(40);
    const clamped = await get(`${api}/users?limit=${huge}`, admin.accessToken);
    expect(clamped.status).toBe(200);
    expect(clamped.body.users).toHaveLength(Math.min(500, clamped.body.total));
    const beyond = await get(`${api}/users?offset=${huge}`, admin.accessToken);
    expect(beyond.status).toBe(200);
    expect(beyond.body.users).toEqual([]);
    expect(beyond.body.total).toBe(clamped.body.total);
  });
});

/** Registering 505 users through argon2 would take seconds; their rows are written directly. */
async function insertUsers(count: number, org: string): Promise<void> {
  const createdAt = toDbTime(new Date());
  const rows = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    email: `${org}-${i}@example.com`,
    display_name: '',
    password_hash: 'not-a-hash',
    role: 'viewer',
    org_id: org,
    status: 'active',
    created_at: createdAt,
    last_login_at: null,
  }));
  await server.db.batchInsert('users', rows, 100);
}

describe('requests Node refuses before any route runs', () => {
  it.each([
    ['headers over 16 KiB', `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a malformed request line', 'NOT HTTP AT ALL\r\n\r\n', 400],
  ])('answers %s in the API error shape, then closes', async (_case, request, status) => {
    const answer = await exchangeRaw(server.baseUrl, request);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(head.toLowerCase()).toContain('content-type: application/json');
    for (const header of ['x-content-type-options: nosniff', 'x-frame-options: deny', "content-security-policy: default-src 'none'; frame-ancestors 'none'"]) {
      expect(head.toLowerCase()).toContain(header);
    }
    expect(JSON.parse(body)).toEqual({ error: expect.any(String), code: 'invalid_request' });
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/api/v1/auth/nothing'],
    ['POST', '/api/v1/auth/nothing'],
    ['GET', '/nothing'],
    ['GET', '/api/v2/auth/me'],
  ])('answers %s %s with 404 not_found', async (method, path) => {
    const reply = await call(`${server.baseUrl}${path}`, { method, headers: JSON_TYPE, ...(method === 'POST' ? { body: '{}' } : {}) });
    expectError(reply, 404, 'not_found');
  });
});

describe('401 answers and the bearer challenge', () => {
  let serverKey: KeyObject;
  let session: Session;
  let kid: string;

  beforeAll(async () => {
    serverKey = createPrivateKey(readFileSync(join(server.dir, 'keys', 'private.pem')));
    session = await registerAndLogin(api);
    kid = decodeProtectedHeader(session.accessToken).kid!;
  });

  /** The claims of `session`'s real token, re-timed to now. */
  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return { ...decodeJwt(session.accessToken), iat: now, exp: now + 600, jti: randomUUID(), ...overrides };
  }

  function without(payload: Record<string, unknown>, name: string): Record<string, unknown> {
    return Object.fromEntries(Object.entries(payload).filter(([key]) => key !== name));
  }

  function sign(payload: Record<string, unknown>, options: { key?: KeyObject; kid?: string } = {}): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.kid ?? kid }).sign(options.key ?? serverKey);
  }

  it('sanity: a token signed with the server key and these claims is accepted', async () => {
    expect((await get(`${api}/me`, await sign(claims()))).status).toBe(200);
  });

  it.each([
    ['no Authorization header', {}],
    ['another scheme', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
    ['"Bearer" with nothing after it', { authorization: 'Bearer ' }],
  ])('answers %s with 401 unauthenticated, without error=', async (_case, headers) => {
    expectUnauthorized(await call(`${api}/me`, { headers }), 'unauthenticated', { bearerRefused: false });
  });

  it('ignores a token in the query string: 401 unauthenticated', async () => {
    const query = `?access_token=${encodeURIComponent(session.accessToken)}`;
    expectUnauthorized(await call(`${api}/me${query}`), 'unauthenticated', { bearerRefused: false });
    expectUnauthorized(await call(`${api}/users${query}`), 'unauthenticated', { bearerRefused: false });
  });

  it('reads the Bearer scheme case-insensitively (RFC 7235)', async () => {
    expect((await call(`${api}/me`, { headers: { authorization: `bearer ${session.accessToken}` } })).status).toBe(200);
  });

  it('refuses malformed, badly signed, foreign and mis-addressed tokens with 401 invalid_token and error="invalid_token"', async () => {
    const header = (h: object) => base64url.encode(JSON.stringify(h));
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const bad: Record<string, string> = {
      garbage: 'garbage',
      'three dots': 'a.b.c',
      'tampered payload': [header({ alg: 'RS256', typ: 'JWT', kid }), base64url.encode(JSON.stringify(claims({ role: 'superadmin' }))), session.accessToken.split('.')[2]].join('.'),
      'signed by another key': await sign(claims(), { key: otherKey }),
      'unknown kid': await sign(claims(), { kid: 'some-other-key' }),
      'alg none': `${header({ alg: 'none', typ: 'JWT', kid })}.${base64url.encode(JSON.stringify(claims()))}.`,
      'HS256 keyed with the public key': await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
        .sign(readFileSync(join(server.dir, 'keys', 'public.pem'))),
      'wrong iss': await sign(claims({ iss: 'https://evil.example' })),
      'wrong aud': await sign(claims({ aud: 'someone-else' })),
      'no exp': await sign(without(claims(), 'exp')),
      'no iss': await sign(without(claims(), 'iss')),
      'no aud': await sign(without(claims(), 'aud')),
    };
    for (const [name, token] of Object.entries(bad)) {
      const reply = await get(`${api}/me`, token);
      expect({ name, status: reply.status, code: reply.body?.code }).toEqual({ name, status: 401, code: 'invalid_token' });
      expectUnauthorized(reply, 'invalid_token', { bearerRefused: true });
    }
  });

  it('answers an access token past exp + 30 s with 401 token_expired and error="invalid_token"', async () => {
    const now = Math.floor(Date.now() / 1000);
    const reply = await get(`${api}/me`, await sign(claims({ iat: now - 100, exp: now - 40 })));
    expectUnauthorized(reply, 'token_expired', { bearerRefused: true });
  });

  it('tolerates 30 s of clock skew on exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await get(`${api}/me`, await sign(claims({ iat: now - 100, exp: now - 10 })))).status).toBe(200);
  });

  it("answers a deleted user's token with 401 invalid_token", async () => {
    const doomed = await registerAndLogin(api);
    await deleteUserRow(server, doomed.id);

    expectUnauthorized(await get(`${api}/me`, doomed.accessToken), 'invalid_token', { bearerRefused: true });
    expectUnauthorized(await send(`${api}/refresh`, doomed.refreshToken), 'invalid_token', { bearerRefused: false });
  });

  it('puts the challenge on the 401s of every protected route', async () => {
    const routes: [string, RequestInit][] = [
      ['/me', {}],
      ['/users', {}],
      ['/me/password', { method: 'POST', headers: JSON_TYPE, body: '{}' }],
      [`/users/${admin.id}/role`, { method: 'PUT', headers: JSON_TYPE, body: '"viewer"' }],
    ];
    for (const [path, init] of routes) {
      expectUnauthorized(await call(`${api}${path}`, init), 'unauthenticated', { bearerRefused: false });
      const refused = await call(`${api}${path}`, { ...init, headers: { ...init.headers, authorization: 'Bearer not.a.token' } });
      expectUnauthorized(refused, 'invalid_token', { bearerRefused: true });
    }
  });
});
