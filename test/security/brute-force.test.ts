import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectThrottled, failedLoginVia, NO_IP_LIMIT, registerUser } from '../support/flows.js';
import type { Reply } from '../support/flows.js';
import { redisIntegration } from '../support/integration.js';
import { send, startTestServer, uniqueEmail } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { startInProcess } from './support.js';

// Password guessing and account enumeration (SPEC §4 "Throttling", "Client IP").

const WRONG = 'wrong-password-0000';

describe('per-account lockout (AUTH_LOCKOUT_THRESHOLD=3)', () => {
  const THRESHOLD = 3;
  let server: TestServer;
  const attempt = (email: string, password: string) => send(`${server.api}/login`, { email, password });
  /** `count` wrong passwords, each a plain 401. */
  async function fail(email: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) expectError(await attempt(email, WRONG), 401, 'invalid_credentials');
  }

  beforeAll(async () => {
    server = await startTestServer({ ...NO_IP_LIMIT, AUTH_LOCKOUT_THRESHOLD: String(THRESHOLD) });
  });
  afterAll(() => server?.stop());

  it('keys the counter on the normalized email: Victim@X.io and victim@x.io share it', async () => {
    const id = randomUUID();
    const account = await registerUser(server.api, { email: `victim-${id}@x.io` });
    const spellings = [`Victim-${id}@X.io`, `  VICTIM-${id}@x.IO `, `victim-${id}@x.io`];
    for (const spelling of spellings) expectError(await attempt(spelling, WRONG), 401, 'invalid_credentials');

    // Three failures under three spellings locked the one account, for the right password too.
    expectThrottled(await attempt(account.email, account.password));
  });

  it('locks for 1 s after the threshold, then doubles to 2 s, and a success resets the count', async () => {
    const account = await registerUser(server.api);
    await fail(account.email, THRESHOLD);
    expect(expectThrottled(await attempt(account.email, WRONG))).toBe(1);

    await sleep(1_100);
    await fail(account.email, 1);
    expect(expectThrottled(await attempt(account.email, WRONG))).toBe(2);

    await sleep(2_100);
    expect((await attempt(account.email, account.password)).status).toBe(200);
    // Reset: THRESHOLD - 1 failures lock nothing (without the reset, the first of them would lock for 4 s).
    await fail(account.email, THRESHOLD - 1);
    expect((await attempt(account.email, account.password)).status).toBe(200);
  });

  it('answers a locked account alike for the right and a wrong password: 429, same body, same Retry-After', async () => {
    const account = await registerUser(server.api);
    await fail(account.email, THRESHOLD);
    await sleep(1_100);
    await fail(account.email, 1); // now locked for 2 s

    const right = await attempt(account.email, account.password);
    const wrong = await attempt(account.email, WRONG);
    expect(expectThrottled(right)).toBe(expectThrottled(wrong));
    expect(right.body).toEqual(wrong.body);
    expect(headerNames(right)).toEqual(headerNames(wrong));
  });

  it('locks an email that does not exist exactly like one that does', async () => {
    const ghost = uniqueEmail('ghost');
    const account = await registerUser(server.api);
    await fail(ghost, THRESHOLD);
    await fail(account.email, THRESHOLD);

    const ghostLocked = await attempt(ghost, WRONG);
    const realLocked = await attempt(account.email, WRONG);
    expect(expectThrottled(ghostLocked)).toBe(1);
    expect(expectThrottled(realLocked)).toBe(1);
    expect(ghostLocked.body).toEqual(realLocked.body);
    expect(headerNames(ghostLocked)).toEqual(headerNames(realLocked));
  });

  it('answers an unknown email and a wrong password identically: status, body and header names', async () => {
    const account = await registerUser(server.api);
    const unknown = await attempt(uniqueEmail('nobody'), WRONG);
    const wrong = await attempt(account.email, WRONG);

    expectError(unknown, 401, 'invalid_credentials');
    expect({ status: wrong.status, body: wrong.body }).toEqual({ status: unknown.status, body: unknown.body });
    expect(headerNames(wrong)).toEqual(headerNames(unknown));
    // Values too, except those that differ per request by nature.
    expect(headerValues(wrong)).toEqual(headerValues(unknown));
  });
});

const redis = await redisIntegration();
const counterStores = [
  { name: 'in memory', start: async () => startTestServer({ ...NO_IP_LIMIT, AUTH_LOCKOUT_THRESHOLD: '5' }) },
  ...(redis.available
    ? [
        {
          name: 'in Redis',
          start: async () => {
            const keys = await redis.fresh();
            const server = await startInProcess({ ...NO_IP_LIMIT, AUTH_LOCKOUT_THRESHOLD: '5', REDIS_URL: keys.url, REDIS_PREFIX: keys.prefix });
            return {
              api: server.api,
              stop: async () => {
                await server.stop();
                await keys.close();
              },
            };
          },
        },
      ]
    : []),
];

describe.each(counterStores)('per-account lockout under 50 concurrent guesses (AUTH_LOCKOUT_THRESHOLD=5, counters $name)', ({ start }) => {
  let server: { api: string; stop(): Promise<void> };
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server?.stop());

  it('counts every one: at most 5 reach a 401, the rest get 429', async () => {
    const account = await registerUser(server.api);
    const replies = await Promise.all(Array.from({ length: 50 }, () => send(`${server.api}/login`, { email: account.email, password: WRONG })));

    const statuses = replies.map((reply) => reply.status);
    const unauthorized = statuses.filter((status) => status === 401).length;
    expect(unauthorized).toBeGreaterThanOrEqual(1);
    expect(unauthorized).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50 - unauthorized);
    for (const reply of replies.filter((r) => r.status === 429)) expectThrottled(reply);
  });
});

describe('per client IP, with no proxy trusted (AUTH_IP_RATE_LIMIT=3)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUTH_IP_RATE_LIMIT: '3', AUTH_LOCKOUT_THRESHOLD: '0' });
  });
  afterAll(() => server?.stop());

  it('ignores X-Forwarded-For entirely: a new value each time gets no fresh bucket', async () => {
    const login = (forwardedFor: string) => failedLoginVia(server.api, forwardedFor);
    for (let i = 1; i <= 3; i++) expectError(await login(`203.0.113.${i}`), 401, 'invalid_credentials');

    expect(expectThrottled(await login('203.0.113.4'))).toBeLessThanOrEqual(20);
    expectThrottled(await login('198.51.100.200, 203.0.113.5'));
    expectThrottled(await send(`${server.api}/register`, { email: uniqueEmail(), password: 'not-common-pass-4411' }, { headers: { 'x-forwarded-for': '192.0.2.1' } }));
  });
});

/** Header names, sorted: a difference in the set would tell the two cases apart. */
function headerNames(reply: Reply): string[] {
  return [...reply.headers.keys()].sort();
}

function headerValues(reply: Reply): Record<string, string> {
  const perRequest = new Set(['date', 'x-request-id']);
  return Object.fromEntries([...reply.headers.entries()].filter(([name]) => !perRequest.has(name)));
}
