import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, PASSWORD, refreshWith, registerAndLogin } from '../support/flows.js';
import type { Reply } from '../support/flows.js';
import { postgresIntegration, redisIntegration } from '../support/integration.js';
import { get, send } from '../support/server.js';
import { start as startProxy } from '../support/tcp-proxy.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { outcome, startInProcess } from './support.js';
import type { InProcessServer } from './support.js';

// A store that stops answering (SPEC §4): the endpoints that need it answer 503
// `unavailable` (fail closed), /ready says which store is missing, and service comes back
// by itself. The stores are taken away through a TCP proxy; the machine's own PostgreSQL
// and Redis are never touched.

const postgres = await postgresIntegration();
const redis = await redisIntegration();

/** `url` with its host and port replaced by the proxy's. */
function through(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}

function hostAndPort(url: string, defaultPort: number): [string, number] {
  const { hostname, port } = new URL(url);
  return [hostname, port ? Number(port) : defaultPort];
}

function expectUnavailable(reply: Reply): void {
  expectError(reply, 503, 'unavailable');
}

/** Polls login until it answers 200, for at most ~10 s; then the server must be ready. */
async function expectRecovery(server: InProcessServer, email: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last: Reply | undefined;
  while (Date.now() < deadline) {
    last = await send(`${server.api}/login`, { email, password: PASSWORD });
    if (last.status === 200) break;
    await sleep(250);
  }
  expect({ status: last?.status, body: last?.status === 200 ? undefined : last?.body }).toEqual({ status: 200, body: undefined });
  expect((await get(`${server.baseUrl}/ready`)).status).toBe(200);
}

describe.skipIf(!(postgres.available && redis.available))('a store outage (PostgreSQL and Redis behind TCP proxies)', () => {
  let server: InProcessServer;
  let api: string;
  let databaseProxy: TcpProxy;
  let redisProxy: TcpProxy;
  const releases: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    const [database, keys] = await Promise.all([postgres.fresh(), redis.fresh()]);
    releases.push(database.close, keys.close);
    databaseProxy = await startProxy(...hostAndPort(database.url, 5432));
    redisProxy = await startProxy(...hostAndPort(keys.url, 6379));
    releases.push(databaseProxy.close, redisProxy.close);
    server = await startInProcess({
      DATABASE_URL: through(database.url, databaseProxy),
      REDIS_URL: through(keys.url, redisProxy),
      REDIS_PREFIX: keys.prefix,
      AUTH_IP_RATE_LIMIT: '0',
    });
    api = server.api;
  });
  afterAll(async () => {
    databaseProxy?.resume();
    redisProxy?.resume();
    await server?.stop();
    for (const release of releases.reverse()) await release();
  });

  const loginAs = (email: string, password = PASSWORD) => send(`${api}/login`, { email, password });

  async function expectNotReady(missing: 'database' | 'redis'): Promise<void> {
    const ready = await get(`${server.baseUrl}/ready`);
    const present = missing === 'database' ? 'redis' : 'database';
    expect({ status: ready.status, body: ready.body }).toEqual({
      status: 503,
      body: { status: 'unavailable', checks: { [missing]: 'unavailable', [present]: 'ok' } },
    });
    // The process itself lives on.
    expect((await get(`${server.baseUrl}/health`)).status).toBe(200);
  }

  it('Redis down: login and refresh answer 503 unavailable, /ready names redis; back without a restart', async () => {
    const session = await registerAndLogin(api);

    redisProxy.pause();
    try {
      expectUnavailable(await loginAs(session.email));
      expectUnavailable(await refreshWith(api, session.refreshToken));
      await expectNotReady('redis');
    } finally {
      redisProxy.resume();
    }

    await expectRecovery(server, session.email);
    // The refresh refused during the outage consumed nothing: the session lives on.
    expect((await refreshWith(api, session.refreshToken)).status).toBe(200);
  });

  it('database down: login, refresh and bearer calls answer 503 unavailable, /ready names the database; back without a restart', async () => {
    const session = await registerAndLogin(api);

    databaseProxy.pause();
    try {
      expectUnavailable(await loginAs(session.email));
      expectUnavailable(await refreshWith(api, session.refreshToken));
      expectUnavailable(await get(`${api}/me`, session.accessToken));
      await expectNotReady('database');
    } finally {
      databaseProxy.resume();
    }

    await expectRecovery(server, session.email);
    expect((await refreshWith(api, session.refreshToken)).status).toBe(200);
    expect((await get(`${api}/me`, session.accessToken)).status).toBe(200);
  });

  it('does not count logins refused for an outage as failures: no lock during it, none after it', async () => {
    const session = await registerAndLogin(api);

    // More than AUTH_LOCKOUT_THRESHOLD (5) attempts with the right password, none of which could be checked.
    const duringOutage: unknown[] = [];
    databaseProxy.pause();
    try {
      for (let i = 0; i < 7; i++) duringOutage.push(outcome(await loginAs(session.email)));
    } finally {
      databaseProxy.resume();
    }
    await waitUntilReady();
    const afterRecovery = outcome(await loginAs(session.email));

    expect({ duringOutage, afterRecovery }).toEqual({
      duringOutage: Array.from({ length: 7 }, () => ({ status: 503, code: 'unavailable' })),
      afterRecovery: { status: 200, code: undefined },
    });
  });

  async function waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await call(`${server.baseUrl}/ready`)).status !== 200) await sleep(250);
  }
});

// Without Redis the refresh tokens live in PostgreSQL too: its outage must fail closed and lose nothing.
describe.skipIf(!postgres.available)('a PostgreSQL outage with no Redis (refresh tokens in SQL)', () => {
  let server: InProcessServer;
  let proxy: TcpProxy;
  const releases: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    const database = await postgres.fresh();
    releases.push(database.close);
    proxy = await startProxy(...hostAndPort(database.url, 5432));
    releases.push(proxy.close);
    server = await startInProcess({ DATABASE_URL: through(database.url, proxy), AUTH_IP_RATE_LIMIT: '0' });
  });
  afterAll(async () => {
    proxy?.resume();
    await server?.stop();
    for (const release of releases.reverse()) await release();
  });

  it('answers refresh and bearer calls with 503 while it lasts, consumes nothing, and serves again without a restart', async () => {
    const session = await registerAndLogin(server.api);

    proxy.pause();
    try {
      expectUnavailable(await refreshWith(server.api, session.refreshToken));
      expectUnavailable(await get(`${server.api}/me`, session.accessToken));
    } finally {
      proxy.resume();
    }

    await expectRecovery(server, session.email);
    expect((await refreshWith(server.api, session.refreshToken)).status).toBe(200);
    expect((await get(`${server.api}/me`, session.accessToken)).status).toBe(200);
  });
});
