import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { base64url, calculateJwkThumbprint, decodeJwt, exportJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  deleteUserRow,
  expectError,
  loginAdmin,
  NO_IP_LIMIT,
  refreshWith,
  registerAndLogin,
  setRole,
  updateUserRow,
  userWithRole,
} from '../support/flows.js';
import type { Session } from '../support/flows.js';
import { get, send, startTestServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { expectRefusedBearer, PLAIN_CHALLENGE } from './support.js';

// RFC 8725 (JWT best current practice) over HTTP: the server accepts its own tokens and nothing else.

const ISSUER = 'http://localhost:8100';
const AUDIENCE = 'pico-bot';

let server: TestServer;
let api: string;
let serverKey: KeyObject;
let publicPem: string;
let serverJwk: JWK;
let kid: string;
let session: Session;

beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
  api = server.api;
  serverKey = createPrivateKey(readFileSync(join(server.dir, 'keys', 'private.pem')));
  publicPem = readFileSync(join(server.dir, 'keys', 'public.pem'), 'utf8');
  const jwks = await get(`${api}/jwks`);
  serverJwk = jwks.body.keys[0];
  kid = serverJwk.kid ?? '';
  session = await registerAndLogin(api);
});
afterAll(() => server?.stop());

/** Claims of a valid access token for `session`, issued now. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: session.id,
    email: session.email,
    role: 'viewer',
    org_id: 'default',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    ...overrides,
  };
}

function without(payload: Record<string, unknown>, name: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(payload).filter(([key]) => key !== name));
}

/** Signed like the server signs (RS256, its kid), unless `header` or `key` say otherwise. */
function forge(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: KeyObject | Uint8Array = serverKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid, ...header }).sign(key);
}

const encodePart = (value: object) => base64url.encode(JSON.stringify(value));

function me(token: string) {
  return get(`${api}/me`, token);
}

it('sanity: a token forged with the server key and valid claims is accepted, so every refusal below is about one defect', async () => {
  const reply = await me(await forge(claims()));
  expect(reply.status).toBe(200);
  expect(reply.body.id).toBe(session.id);
});

describe('refuses with 401 invalid_token and error="invalid_token"', () => {
  it('alg "none", with or without a signature part', async () => {
    const unsigned = `${encodePart({ alg: 'none', typ: 'JWT', kid })}.${encodePart(claims())}`;
    expectRefusedBearer(await me(`${unsigned}.`));
    expectRefusedBearer(await me(`${unsigned}.${session.accessToken.split('.')[2]}`));
    expectRefusedBearer(await me(`${encodePart({ alg: 'None', typ: 'JWT', kid })}.${encodePart(claims())}.`));
  });

  it('HS256 keyed with the public key, as PEM (with and without its final newline) and as JWK', async () => {
    const secrets = {
      pem: publicPem,
      'pem, trimmed': publicPem.trim(),
      jwk: JSON.stringify(serverJwk),
      'jwk, public members only': JSON.stringify({ kty: serverJwk.kty, n: serverJwk.n, e: serverJwk.e }),
    };
    for (const [form, secret] of Object.entries(secrets)) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const token = await forge(claims(), { alg }, new TextEncoder().encode(secret));
        const reply = await me(token);
        expect({ form, alg, status: reply.status }).toEqual({ form, alg, status: 401 });
        expectRefusedBearer(reply);
      }
    }
  });

  it('a token carrying its own key in a "jwk" header, signed with that key', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = await exportJWK(attacker.publicKey);
    const attackerKid = await calculateJwkThumbprint(jwk);
    expectRefusedBearer(await me(await forge(claims(), { jwk, kid: attackerKid }, attacker.privateKey)));
    // Naming the server's kid does not help: the signature is still checked against the server key.
    expectRefusedBearer(await me(await forge(claims(), { jwk, kid }, attacker.privateKey)));
  });

  describe('"jku" and "x5u" pointing at a key server, which is never contacted', () => {
    let keyServer: Server;
    let keyServerUrl: string;
    const fetched: string[] = [];
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let attackerJwk: JWK;

    beforeAll(async () => {
      attackerJwk = { ...(await exportJWK(attacker.publicKey)), use: 'sig', alg: 'RS256' };
      attackerJwk.kid = await calculateJwkThumbprint(attackerJwk);
      keyServer = createServer((request, response) => {
        fetched.push(request.url ?? '');
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ keys: [attackerJwk] }));
      });
      await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
      keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => keyServer.close(() => resolve())));

    it.each(['jku', 'x5u'])('%s', async (parameter) => {
      for (const headerKid of [attackerJwk.kid, kid]) {
        const token = await forge(claims(), { [parameter]: `${keyServerUrl}/keys`, kid: headerKid }, attacker.privateKey);
        expectRefusedBearer(await me(token));
      }
      expect(fetched).toEqual([]);
    });
  });

  it.each([
    ['path traversal', '../../../../../../dev/null'],
    ['path traversal to its own public key', '../keys/public.pem'],
    ['SQL', "' OR '1'='1' --"],
    ['SQL, stacked', "x'; DROP TABLE users; --"],
    ['10 KB', 'k'.repeat(10 * 1024)],
    ['empty', ''],
  ])('a kid that is not the server key (%s), even with a valid signature', async (_case, oddKid) => {
    expectRefusedBearer(await me(await forge(claims(), { kid: oddKid })));
  });

  it.each([
    ['at+jwt', { typ: 'at+jwt' }],
    ['none at all', { typ: undefined }],
  ])('a typ header other than JWT (%s), even with a valid signature (RFC 8725 §3.11)', async (_case, header) => {
    expectRefusedBearer(await me(await forge(claims(), header)));
  });

  it('a token without kid, even with a valid signature', async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(serverKey);
    expectRefusedBearer(await me(token));
  });

  it('no exp', async () => {
    expectRefusedBearer(await me(await forge(without(claims(), 'exp'))));
  });

  it.each([
    ['wrong iss', { iss: 'https://evil.example' }],
    ['iss with a trailing slash', { iss: `${ISSUER}/` }],
    ['wrong aud', { aud: 'someone-else' }],
    ['aud of another service listed first', { aud: ['someone-else'] }],
  ])('%s', async (_case, overrides) => {
    expectRefusedBearer(await me(await forge(claims(overrides))));
  });

  it('no iss or no aud', async () => {
    expectRefusedBearer(await me(await forge(without(claims(), 'iss'))));
    expectRefusedBearer(await me(await forge(without(claims(), 'aud'))));
  });

  it('nbf or iat in the future beyond the 30 s clock tolerance, while 10 s ahead is tolerated', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await me(await forge(claims({ nbf: now + 10 })))).status).toBe(200);
    expect((await me(await forge(claims({ iat: now + 10 })))).status).toBe(200);

    expectRefusedBearer(await me(await forge(claims({ nbf: now + 90 }))));
    expectRefusedBearer(await me(await forge(claims({ iat: now + 90, exp: now + 600 }))));
  });

  it('a real token with its payload tampered (role raised) or its signature altered', async () => {
    const [header = '', payload = '', signature = ''] = session.accessToken.split('.');
    const raised = encodePart({ ...decodeJwt(session.accessToken), role: 'superadmin' });
    expectRefusedBearer(await me(`${header}.${raised}.${signature}`));

    // Flip a character in the middle (the last one may only carry padding bits).
    const middle = Math.floor(signature.length / 2);
    const flipped = signature.slice(0, middle) + (signature[middle] === 'A' ? 'B' : 'A') + signature.slice(middle + 1);
    expectRefusedBearer(await me(`${header}.${payload}.${flipped}`));
    expectRefusedBearer(await me(`${header}.${payload}.`));
    expectRefusedBearer(await me(`${header}.${payload}`));
  });

  it('a refresh token presented as a bearer token', async () => {
    const fresh = await registerAndLogin(api);
    expectRefusedBearer(await me(fresh.refreshToken));
    // And the refresh token is untouched by the attempt: it still refreshes.
    expect((await refreshWith(api, fresh.refreshToken)).status).toBe(200);
  });
});

it('stops accepting a token once past exp + 30 s, though it was accepted (and may be remembered) before', async () => {
  // Inside the tolerance for 2–3 more seconds only (`now` is rounded down).
  const now = Math.floor(Date.now() / 1000);
  const token = await forge(claims({ iat: now - 60, exp: now - 27 }));
  expect((await me(token)).status).toBe(200);

  await sleep(4_000);
  expectRefusedBearer(await me(token), 'token_expired');
});

it('ignores a token in ?access_token=: 401 unauthenticated, with no error= in the challenge', async () => {
  for (const path of ['/me', '/users']) {
    const reply = await call(`${api}${path}?access_token=${encodeURIComponent(session.accessToken)}`);
    expectError(reply, 401, 'unauthenticated');
    expect(reply.headers.get('www-authenticate')).toBe(PLAIN_CHALLENGE);
  }
});

describe('tokens of users whose account changed stop working at once', () => {
  it("a suspended user's access token: 403 user_suspended", async () => {
    const user = await registerAndLogin(api);
    expect((await me(user.accessToken)).status).toBe(200);
    await updateUserRow(server, user.id, { status: 'suspended' });

    expectError(await me(user.accessToken), 403, 'user_suspended');
  });

  it("a deleted user's access token: 401 invalid_token", async () => {
    const user = await registerAndLogin(api);
    expect((await me(user.accessToken)).status).toBe(200);
    await deleteUserRow(server, user.id);

    expectRefusedBearer(await me(user.accessToken));
  });

  it("a demoted admin's old token (still saying org_admin) gets 403 on admin routes", async () => {
    const admin = await loginAdmin(api);
    const orgAdmin = await userWithRole(api, admin.accessToken, 'org_admin');
    const victim = await registerAndLogin(api);
    expect((await get(`${api}/users`, orgAdmin.accessToken)).status).toBe(200);

    await setRole(api, admin.accessToken, orgAdmin.id, 'viewer');

    expect(decodeJwt(orgAdmin.accessToken).role).toBe('org_admin');
    expectError(await get(`${api}/users`, orgAdmin.accessToken), 403, 'forbidden');
    expectError(await send(`${api}/users/${victim.id}/role`, { role: 'operator' }, { method: 'PUT', token: orgAdmin.accessToken }), 403, 'forbidden');
  });
});

it('marks token responses Cache-Control: no-store and Pragma: no-cache, as RFC 6749 §5.1 asks (login and refresh)', async () => {
  const user = await registerAndLogin(api);
  const loggedIn = await send(`${api}/login`, { email: user.email, password: user.password });
  expect(loggedIn.status).toBe(200);
  expect(loggedIn.headers.get('cache-control')).toBe('no-store');
  expect(loggedIn.headers.get('pragma')).toBe('no-cache');

  const refreshed = await refreshWith(api, loggedIn.body.refresh_token);
  expect(refreshed.status).toBe(200);
  expect(refreshed.headers.get('cache-control')).toBe('no-store');
  expect(refreshed.headers.get('pragma')).toBe('no-cache');
});
