import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, NO_IP_LIMIT, registerAndLogin } from '../support/flows.js';
import { startTestServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';

let plain: TestServer;
let secure: TestServer;

beforeAll(async () => {
  [plain, secure] = await Promise.all([startTestServer(NO_IP_LIMIT), startTestServer({ ...NO_IP_LIMIT, AUTH_ISSUER: 'https://auth.example.com' })]);
});
afterAll(() => Promise.all([plain?.stop(), secure?.stop()]));

/** One answer of each kind: Koa's routes (success, refusal, not found, health) and the documents answered ahead of Koa (200, 304, HEAD). */
async function answersOf(server: TestServer): Promise<[string, Headers][]> {
  const session = await registerAndLogin(server.api);
  const jwks = await fetch(`${server.api}/jwks`);
  const etag = jwks.headers.get('etag')!;
  const answers: [string, Response][] = [
    ['me', await fetch(`${server.api}/me`, { headers: { authorization: `Bearer ${session.accessToken}` } })],
    ['refused login', await fetch(`${server.api}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"x@example.com","password":"wrong-password-1"}' })],
    ['unknown path', await fetch(`${server.baseUrl}/nowhere`)],
    ['health', await fetch(`${server.baseUrl}/health`)],
    ['jwks', jwks],
    ['jwks revalidated', await fetch(`${server.api}/jwks`, { headers: { 'if-none-match': etag } })],
    ['discovery HEAD', await fetch(`${server.baseUrl}/.well-known/openid-configuration`, { method: 'HEAD' })],
  ];
  expect(answers.map(([, answer]) => answer.status)).toEqual([200, 401, 404, 200, 200, 304, 200]);
  return answers.map(([kind, answer]) => [kind, answer.headers]);
}

describe('headers every answer carries', () => {
  it('forbid sniffing and framing, whatever the route and status', async () => {
    for (const [kind, headers] of await answersOf(plain)) {
      expect(headers.get('x-content-type-options'), kind).toBe('nosniff');
      expect(headers.get('x-frame-options'), kind).toBe('DENY');
      expect(headers.get('content-security-policy'), kind).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(headers.get('x-request-id'), kind).toBeTruthy();
    }
  });

  it('include HSTS when the issuer is https, and only then', async () => {
    for (const [kind, headers] of await answersOf(secure)) expect(headers.get('strict-transport-security'), kind).toBe('max-age=31536000');
    for (const [kind, headers] of await answersOf(plain)) expect(headers.get('strict-transport-security'), kind).toBeNull();
  });

  it('keep their own caching: no-store for the API, public for the key documents', async () => {
    const reply = await call(`${plain.baseUrl}/health`);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${plain.api}/jwks`)).headers.get('cache-control')).toBe('public, max-age=300');
  });
});
