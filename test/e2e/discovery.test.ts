import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, NO_IP_LIMIT, registerAndLogin } from '../support/flows.js';
import { exchangeRaw, get, startTestServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
});
afterAll(() => server?.stop());

const CLAIMS = ['sub', 'email', 'role', 'org_id', 'iss', 'aud', 'iat', 'exp', 'jti'];

describe('JWKS', () => {
  it('is served at /api/v1/auth/jwks and /.well-known/jwks.json, every key with kty, kid, use "sig", alg', async () => {
    const [api, wellKnown] = await Promise.all([get(`${server.api}/jwks`), get(`${server.baseUrl}/.well-known/jwks.json`)]);

    expect(api.status).toBe(200);
    expect(wellKnown.status).toBe(200);
    expect(wellKnown.body).toEqual(api.body);
    for (const answer of [api, wellKnown]) expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(api.body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of api.body.keys as JWK[]) {
      expect(key).toMatchObject({ kty: 'RSA', kid: expect.any(String), use: 'sig', alg: 'RS256' });
      // A public key set: none of the private RSA members.
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    }
  });

  it('verifies a real access token, whose kid is the RFC 7638 thumbprint of the key', async () => {
    const session = await registerAndLogin(server.api);
    const jwks = (await get(`${server.api}/jwks`)).body as { keys: JWK[] };

    const { payload, protectedHeader } = await jwtVerify(session.accessToken, createLocalJWKSet(jwks), {
      issuer: 'http://localhost:8100',
      audience: 'pico-bot',
      algorithms: ['RS256'],
    });
    expect(payload.sub).toBe(session.id);
    const key = jwks.keys.find((k) => k.kid === protectedHeader.kid);
    expect(key).toBeDefined();
    expect(await calculateJwkThumbprint(key!, 'sha256')).toBe(protectedHeader.kid);
  });

  // Paths without parameters take a shortcut past @koa/router; every other form still goes through it.
  it('answers alike on its exact path, with a trailing slash, in other letter case and to HEAD; other methods get 404', async () => {
    const exact = await call(`${server.api}/jwks`);
    expect(exact.status).toBe(200);
    for (const variant of [`${server.api}/jwks/`, `${server.baseUrl}/API/V1/AUTH/JWKS`]) {
      const answer = await call(variant);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(exact.body);
      expect(answer.headers.get('cache-control')).toBe(exact.headers.get('cache-control'));
    }
    const head = await fetch(`${server.api}/jwks`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(exact.headers.get('etag'));
    expectError(await call(`${server.api}/jwks`, { method: 'POST' }), 404, 'not_found');
  });

  // The documents are answered ahead of Koa (src/adapters/http/public-documents.ts): they carry what every answer carries.
  it('carries the standing headers: nosniff, a request id (a sane one echoed), public caching, a length HEAD repeats', async () => {
    const paths = [`${server.api}/jwks`, `${server.baseUrl}/.well-known/jwks.json`, `${server.baseUrl}/.well-known/openid-configuration`];
    for (const url of paths) {
      const answer = await fetch(url, { headers: { 'x-request-id': 'trace-abc.123' } });
      const body = Buffer.from(await answer.arrayBuffer());
      expect(answer.status, url).toBe(200);
      expect(answer.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(answer.headers.get('x-request-id'), url).toBe('trace-abc.123');
      expect(answer.headers.get('cache-control'), url).toBe('public, max-age=300');
      expect(answer.headers.get('content-length'), url).toBe(String(body.length));
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.headers.get('content-length'), url).toBe(String(body.length));
      expect(head.headers.get('x-request-id'), url).toMatch(/^[0-9a-f-]{36}$/);
    }
    const hostile = await fetch(`${server.api}/jwks`, { headers: { 'x-request-id': 'x y\tz' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ignores a query string, and leaves paths that only start like a document to the API', async () => {
    const plain = await call(`${server.api}/jwks`);
    const queried = await call(`${server.api}/jwks?kid=any&format=pem`);
    expect(queried.status).toBe(200);
    expect(queried.body).toEqual(plain.body);
    expectError(await call(`${server.api}/jwks.json`), 404, 'not_found');
    expectError(await call(`${server.api}/jwks//`), 404, 'not_found');
    expectError(await call(`${server.baseUrl}/.well-known/jwks.json/keys`), 404, 'not_found');
  });

  // fetch drops the body of a HEAD or 304 answer whatever the server sends: only the raw bytes can tell.
  it('sends no body with HEAD or 304, and no length or type with a 304: the next answer on the connection follows at once', async () => {
    const etag = (await call(`${server.api}/jwks`)).headers.get('etag')!;
    const follow = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    for (const first of [`HEAD /api/v1/auth/jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, `GET /api/v1/auth/jwks HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: ${etag}\r\n\r\n`]) {
      const answer = await exchangeRaw(server.baseUrl, first + follow);
      const [head = '', afterHead = ''] = answer.split(/\r\n\r\n(.*)/s);
      expect(afterHead, first).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      if (first.startsWith('GET')) {
        expect(head).toMatch(/^HTTP\/1\.1 304 /);
        expect(head.toLowerCase()).not.toMatch(/content-(length|type):/);
      }
    }
  });

  it('takes a request target in absolute form or with a fragment, as it took them through Koa', async () => {
    for (const target of ['http://127.0.0.1/API/V1/AUTH/JWKS/?x=1', '/api/v1/auth/jwks#keys', 'http://127.0.0.1/.well-known/openid-configuration']) {
      const answer = await exchangeRaw(server.baseUrl, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer.toLowerCase(), target).toContain('cache-control: public, max-age=300');
    }
  });

  it('answers a 304 with the same validator and caching headers as the 200 it stands for', async () => {
    const first = await fetch(`${server.baseUrl}/.well-known/openid-configuration`);
    const etag = first.headers.get('etag')!;
    const revalidated = await fetch(`${server.baseUrl}/.well-known/openid-configuration`, { headers: { 'if-none-match': etag, 'x-request-id': 'revalidate-1' } });
    expect(revalidated.status).toBe(304);
    for (const header of ['etag', 'cache-control', 'x-content-type-options']) expect(revalidated.headers.get(header), header).toBe(first.headers.get(header));
    expect(revalidated.headers.get('x-request-id')).toBe('revalidate-1');
  });

  it('answers 304 to a matching If-None-Match, and 200 to a stale one', async () => {
    const first = await call(`${server.api}/jwks`);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();

    const revalidated = await fetch(`${server.api}/jwks`, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);
    const wellKnown = await fetch(`${server.baseUrl}/.well-known/jwks.json`, { headers: { 'if-none-match': etag! } });
    expect(wellKnown.status).toBe(304);

    const stale = await call(`${server.api}/jwks`, { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
    expect(stale.body).toEqual(first.body);
  });

  it('compares If-None-Match weakly, as caches send it: W/, a list of tags, or *', async () => {
    const etag = (await call(`${server.api}/jwks`)).headers.get('etag') ?? '';
    for (const header of [`W/${etag}`, `"old", ${etag}`, `"old",W/${etag}`, '*']) {
      expect((await fetch(`${server.api}/jwks`, { headers: { 'if-none-match': header } })).status, header).toBe(304);
    }
    for (const header of ['"old", W/"older"', `${etag.slice(0, -2)}"`]) {
      expect((await fetch(`${server.api}/jwks`, { headers: { 'if-none-match': header } })).status, header).toBe(200);
    }
  });
});

describe('GET /.well-known/openid-configuration', () => {
  it('describes the issuer and its endpoints as SPEC §4 lists them', async () => {
    const reply = await get(`${server.baseUrl}/.well-known/openid-configuration`);
    const issuer = 'http://localhost:8100';

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      issuer,
      jwks_uri: `${issuer}/api/v1/auth/jwks`,
      token_endpoint: `${issuer}/api/v1/auth/login`,
      userinfo_endpoint: `${issuer}/api/v1/auth/me`,
      revocation_endpoint: `${issuer}/api/v1/auth/logout`,
      grant_types_supported: ['password', 'refresh_token'],
      response_types_supported: expect.any(Array),
      subject_types_supported: expect.any(Array),
      id_token_signing_alg_values_supported: expect.arrayContaining(['RS256']),
    });
    expect([...reply.body.claims_supported].sort()).toEqual([...CLAIMS].sort());
  });

  it("names the tokens' iss as its issuer", async () => {
    const session = await registerAndLogin(server.api);
    const reply = await get(`${server.baseUrl}/.well-known/openid-configuration`);
    expect(decodeJwt(session.accessToken).iss).toBe(reply.body.issuer);
  });

  it('drops a trailing slash from AUTH_ISSUER, in discovery and in the tokens', async () => {
    const custom = await startTestServer({ ...NO_IP_LIMIT, AUTH_ISSUER: 'https://auth.example.test/', AUTH_AUDIENCE: 'svc' });
    try {
      const reply = await get(`${custom.baseUrl}/.well-known/openid-configuration`);
      expect(reply.body).toMatchObject({ issuer: 'https://auth.example.test', jwks_uri: 'https://auth.example.test/api/v1/auth/jwks' });

      const session = await registerAndLogin(custom.api);
      const jwks = (await get(`${custom.api}/jwks`)).body;
      const { payload } = await jwtVerify(session.accessToken, createLocalJWKSet(jwks), {
        issuer: 'https://auth.example.test',
        audience: 'svc',
      });
      expect(payload.aud).toBe('svc');
      // A key of another server is not this one's.
      expect(decodeProtectedHeader(session.accessToken).kid).not.toBe(decodeProtectedHeader((await registerAndLogin(server.api)).accessToken).kid);
    } finally {
      await custom.stop();
    }
  });
});

describe('health and readiness', () => {
  // SPEC §4 lists them as `/health` and `/ready`: served at the root and under the API prefix.
  it.each(['/health', '/api/v1/auth/health'])('answers %s 200 {"status": "ok"}', async (path) => {
    expect(await get(`${server.baseUrl}${path}`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it.each(['/ready', '/api/v1/auth/ready'])('answers %s 200 {"status": "ok"} while the stores answer', async (path) => {
    expect(await get(`${server.baseUrl}${path}`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('answers an unknown path 404 not_found', async () => {
    expectError(await get(`${server.baseUrl}/.well-known/nothing-here`), 404, 'not_found');
  });
});
