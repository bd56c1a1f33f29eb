import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, NO_IP_LIMIT, refreshWith, registerAndLogin, updateUserRow } from '../support/flows.js';
import type { Reply } from '../support/flows.js';
import { send, startTestServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { outcome } from './support.js';

// Refresh-token rotation and reuse detection (RFC 9700 §4.14.2, SPEC §5).

/** Rotates `count` times from `first`: [first, t1, …, t<count>]. */
async function rotateChain(api: string, first: string, count: number): Promise<string[]> {
  const chain = [first];
  for (let i = 0; i < count; i++) {
    const reply = await refreshWith(api, chain[chain.length - 1] ?? '');
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    chain.push(reply.body.refresh_token);
  }
  return chain;
}

function expectReused(reply: Reply): void {
  expectError(reply, 401, 'token_reused');
}

/** A token of a revoked family: refused, whatever the precise code (invalid_token, or token_reused if consumed). */
function expectDead(reply: Reply): void {
  expect(reply.status).toBe(401);
  expect(['invalid_token', 'token_reused']).toContain(reply.body?.code);
}

describe('without retry grace (AUTH_REFRESH_REUSE_GRACE_SECONDS=0)', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer(NO_IP_LIMIT);
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('rotated three times, a replay of the first token answers token_reused and kills every token of the family, the newest included', async () => {
    const session = await registerAndLogin(api);
    const [first = '', second = '', third = '', newest = ''] = await rotateChain(api, session.refreshToken, 3);

    expectReused(await refreshWith(api, first));

    expectError(await refreshWith(api, newest), 401, 'invalid_token');
    expectReused(await refreshWith(api, second));
    expectReused(await refreshWith(api, third));
    // Still dead when asked again (the failed attempts revived nothing).
    expectError(await refreshWith(api, newest), 401, 'invalid_token');
  });

  it('leaves other sessions of the same user alive when one family is revoked', async () => {
    const session = await registerAndLogin(api);
    const other = await send(`${api}/login`, { email: session.email, password: session.password });
    await rotateChain(api, session.refreshToken, 1);
    expectReused(await refreshWith(api, session.refreshToken));

    expect((await refreshWith(api, other.body.refresh_token)).status).toBe(200);
  });

  it.each([
    ['an empty string field', { refresh_token: '' }],
    ['an empty bare string', ''],
    ['null', { refresh_token: null }],
    ['a number', { refresh_token: 12345 }],
    ['an array', { refresh_token: ['x'] }],
    ['an object', { refresh_token: { $ne: null } }],
    ['an empty object', {}],
    ['JSON null', null],
    ['garbage', { refresh_token: 'garbage' }],
    ['garbage, bare', 'not-a-refresh-token'],
    ['the right length, wrong value', { refresh_token: 'A'.repeat(43) }],
    ['control characters', { refresh_token: '\u0000\u0001\n\r' }],
    ['a JWT', { refresh_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }],
    ['SQL', { refresh_token: "' OR '1'='1" }],
  ])('answers %s with 400 or 401, never 500', async (_case, body) => {
    const reply = await send(`${api}/refresh`, body);
    expect([
      { status: 400, code: 'invalid_request' },
      { status: 401, code: 'invalid_token' },
    ]).toContainEqual(outcome(reply));
  });

  it('answers a 10 KB token precisely with 401 invalid_token', async () => {
    expectError(await send(`${api}/refresh`, { refresh_token: 'r'.repeat(10 * 1024) }), 401, 'invalid_token');
  });

  it('answers a 1 MB body with 413 payload_too_large (SPEC 16 KiB limit)', async () => {
    const session = await registerAndLogin(api);
    const reply = await call(`${api}/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refreshToken, padding: 'p'.repeat(1024 * 1024) }),
    });
    expectError(reply, 413, 'payload_too_large');
    // The token inside was never used.
    expect((await refreshWith(api, session.refreshToken)).status).toBe(200);
  });
});

describe('with a retry grace window of 10 s', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_IP_LIMIT, AUTH_REFRESH_REUSE_GRACE_SECONDS: '10' });
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('answers a replay of the just-rotated token with the identical successor and a fresh access token', async () => {
    const session = await registerAndLogin(api);
    const rotated = await refreshWith(api, session.refreshToken);
    expect(rotated.status).toBe(200);

    const replayed = await refreshWith(api, session.refreshToken);
    expect(replayed.status).toBe(200);
    expect(replayed.body.refresh_token).toBe(rotated.body.refresh_token);
    expect(replayed.body.access_token).not.toBe(rotated.body.access_token);

    // The successor is the family's one live token, and it still rotates.
    expect((await refreshWith(api, rotated.body.refresh_token)).status).toBe(200);
  });

  it('gives two tabs refreshing the same token at once both 200 and the same refresh token', async () => {
    const session = await registerAndLogin(api);
    const [a, b] = await Promise.all([refreshWith(api, session.refreshToken), refreshWith(api, session.refreshToken)]);

    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).toBe(b.body.refresh_token);
    expect((await refreshWith(api, a.body.refresh_token)).status).toBe(200);
  });

  it('revokes the family when the token is replayed after its successor was used: the successor\'s successor is dead too', async () => {
    const session = await registerAndLogin(api);
    const [first = '', successor = '', next = ''] = await rotateChain(api, session.refreshToken, 2);

    expectReused(await refreshWith(api, first));

    expectDead(await refreshWith(api, next));
    expectDead(await refreshWith(api, successor));
  });

  it('revokes the family on a replay of an older (grandparent) token inside the window', async () => {
    const session = await registerAndLogin(api);
    const [, grandparent = '', parent = '', newest = ''] = await rotateChain(api, session.refreshToken, 3);

    expectReused(await refreshWith(api, grandparent));

    expectDead(await refreshWith(api, newest));
    // The parent would have been a legal retry a moment ago (its successor was unused); not any more.
    expectDead(await refreshWith(api, parent));
  });

  it('does not hand out a successor that was logged out: a replay answers token_reused', async () => {
    const session = await registerAndLogin(api);
    const rotated = await refreshWith(api, session.refreshToken);
    expect((await send(`${api}/logout`, { refresh_token: rotated.body.refresh_token })).status).toBe(204);

    expectReused(await refreshWith(api, session.refreshToken));
    expectDead(await refreshWith(api, rotated.body.refresh_token));
  });

  it('re-reads the user on a replay: a user suspended inside the window gets 403', async () => {
    const session = await registerAndLogin(api);
    expect((await refreshWith(api, session.refreshToken)).status).toBe(200);
    await updateUserRow(server, session.id, { status: 'suspended' });

    expectError(await refreshWith(api, session.refreshToken), 403, 'user_suspended');
  });
});

describe('with a retry grace window of 1 s', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_IP_LIMIT, AUTH_REFRESH_REUSE_GRACE_SECONDS: '1' });
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('revokes the family on a replay after the window, though the successor was never used', async () => {
    const session = await registerAndLogin(api);
    const rotated = await refreshWith(api, session.refreshToken);
    expect(rotated.status).toBe(200);
    await sleep(1_300);

    expectReused(await refreshWith(api, session.refreshToken));
    expectDead(await refreshWith(api, rotated.body.refresh_token));
  });
});

describe('with a retry grace window longer than the family lives (10 s window, 3 s family)', () => {
  let server: TestServer;
  let api: string;
  beforeAll(async () => {
    // 0.000035 days = 3.024 s.
    server = await startTestServer({ ...NO_IP_LIMIT, AUTH_REFRESH_REUSE_GRACE_SECONDS: '10', AUTH_REFRESH_TOKEN_EXPIRE_DAYS: '0.000035' });
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('does not hand out an expired successor inside the window', async () => {
    const session = await registerAndLogin(api);
    const rotated = await refreshWith(api, session.refreshToken);
    expect(rotated.status).toBe(200);
    await sleep(3_300);

    const replayed = await refreshWith(api, session.refreshToken);
    expect(replayed.status).toBe(401);
    expect(replayed.body.refresh_token).toBeUndefined();
    expect(['token_reused', 'token_expired']).toContain(replayed.body.code);
  });
});
