import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openRedis } from '../../src/adapters/redis/connection.js';
import { RedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.js';
import { RedisTokenStore } from '../../src/adapters/redis/redis-token-store.js';
import { describeRateLimiterContract } from '../contracts/rate-limiter.contract.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { redisIntegration } from '../support/integration.js';

const redis = await redisIntegration();

async function freshClient() {
  const { url, prefix, close } = await redis.fresh();
  const client = openRedis(url);
  await client.connect();
  return {
    client,
    prefix,
    close: async () => {
      client.disconnect();
      await close();
    },
  };
}

// Without Redis the harness has printed a loud line (or failed, in CI); the suites show as skipped.
describe.skipIf(!redis.available)('Redis adapters', () => {
  describeTokenStoreContract('redis', async () => {
    const { client, prefix, close } = await freshClient();
    return { store: new RedisTokenStore(client, prefix), close };
  });
  describeRateLimiterContract('redis', async () => {
    const { client, prefix, close } = await freshClient();
    return { limiter: new RedisRateLimiter(client, prefix), close };
  });
});

describe.skipIf(!redis.available)('RedisTokenStore when Redis evicts a family key', () => {
  it('fails closed: the family reads as revoked and cannot rotate', async () => {
    const { client, prefix, close } = await freshClient();
    try {
      const store = new RedisTokenStore(client, prefix);
      const now = new Date();
      const token = {
        hash: 'a'.repeat(64),
        familyId: 'family-1',
        userId: 'user-1',
        expiresAt: new Date(now.getTime() + 60_000),
        createdAt: now,
        consumedAt: null,
        revokedAt: null,
      };
      await store.create(token);
      await client.del(`${prefix}fam:family-1`);
      expect((await store.findByHash(token.hash))?.revokedAt).not.toBeNull();
      expect(await store.rotate(token.hash, { ...token, hash: 'b'.repeat(64) }, now)).toBe(false);
      expect(await store.findByHash('b'.repeat(64))).toBeUndefined();
    } finally {
      await close();
    }
  });
});

describe.skipIf(!redis.available)('Redis adapters sharing a server', () => {
  it('write every key under REDIS_PREFIX, none outside it', async () => {
    const { client, prefix, close } = await freshClient();
    try {
      // Keys carry their ids, so a marker in every id finds them wherever they were written.
      const marker = `marker${randomBytes(6).toString('hex')}`;
      const limiter = new RedisRateLimiter(client, prefix);
      const store = new RedisTokenStore(client, prefix);
      const now = new Date();
      await limiter.take(`ip-${marker}`, 60, now);
      await limiter.beginLoginAttempt(`counted-${marker}`, 5, now);
      await limiter.beginLoginAttempt(`reset-${marker}`, 5, now);
      await limiter.resetLoginFailures(`reset-${marker}`);
      const token = { hash: marker.padEnd(64, 'a'), familyId: `family-${marker}`, userId: `user-${marker}`, expiresAt: new Date(now.getTime() + 60_000), createdAt: now, consumedAt: null, revokedAt: null };
      await store.create(token);
      await store.rotate(token.hash, { ...token, hash: marker.padEnd(64, 'b') }, now);
      await store.revokeFamily(token.familyId, now);
      await store.revokeAllForUser(token.userId, now);

      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await client.scan(cursor, 'MATCH', `*${marker}*`, 'COUNT', 1000);
        keys.push(...found);
        cursor = next;
      } while (cursor !== '0');
      // The bucket, the counted attempt, both tokens, the family and the user's index.
      expect(keys.length).toBeGreaterThanOrEqual(6);
      expect(keys.filter((key) => !key.startsWith(prefix))).toEqual([]);
    } finally {
      await close();
    }
  });
});
