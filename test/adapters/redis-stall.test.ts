import { afterEach, describe, expect, it, vi } from 'vitest';
import { guardedRedis, openRedis, pingRedis } from '../../src/adapters/redis/connection.js';
import { Unavailable } from '../../src/domain/errors.js';
import { redisIntegration } from '../support/integration.js';
import { freePort } from '../support/process.js';
import { stallingProxy } from '../support/stalling-proxy.js';
import { start as startProxy } from '../support/tcp-proxy.js';

const redis = await redisIntegration();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A connected client of a key prefix of its own, reaching Redis through the proxy `proxyTo` starts. */
async function clientThrough<P extends { port: number; close(): Promise<void> }>(proxyTo: (target: URL) => Promise<P>) {
  const { url, prefix, close } = await redis.fresh();
  cleanups.push(close);
  const proxy = await proxyTo(new URL(url));
  cleanups.push(proxy.close);
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  const client = openRedis(proxied.toString());
  cleanups.push(async () => client.disconnect());
  await client.connect();
  return { client, proxy, key: `${prefix}counter` };
}

describe.skipIf(!redis.available)('Redis that goes away', () => {
  it('answers Unavailable within the command timeout, serves again on a new connection, and never runs the failed command later', async () => {
    const { client, proxy, key } = await clientThrough((target) => stallingProxy(target));
    expect(await guardedRedis(() => client.ping())).toBe('PONG');

    proxy.stall();
    await expect(guardedRedis(() => client.incr(key))).rejects.toBeInstanceOf(Unavailable);
    // The silent connection is dropped rather than kept until TCP gives up (minutes).
    await vi.waitFor(() => guardedRedis(() => client.ping()), { timeout: 6_000, interval: 250 });
    // The caller of the INCR was told it failed: it must not run behind its back on the new connection.
    expect(await client.get(key)).toBeNull();
  });

  it('fails a command at once while its connection is down, and does not send it once Redis is back', async () => {
    const { client, proxy, key } = await clientThrough((target) => startProxy(target.hostname, Number(target.port || 6379)));

    proxy.pause();
    await vi.waitFor(() => expect(client.status).not.toBe('ready'));
    const incr = guardedRedis(() => client.incr(key));
    // Back before Redis is asked again: a queued INCR would be sent on reconnection and succeed.
    proxy.resume();
    await expect(incr).rejects.toBeInstanceOf(Unavailable);
    await vi.waitFor(() => guardedRedis(() => client.ping()), { timeout: 6_000, interval: 250 });
    expect(await client.get(key)).toBeNull();
  });

  it('says why it has no connection (here: refused), not only that it has none', async () => {
    const client = openRedis(`redis://127.0.0.1:${await freePort()}`);
    cleanups.push(async () => client.disconnect());
    await vi.waitFor(() => expect(pingRedis(client)).rejects.toThrow(/ECONNREFUSED/), { timeout: 3_000, interval: 100 });
  });
});
