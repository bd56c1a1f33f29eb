import { describe, it } from 'vitest';
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

if (redis.available) {
  describeTokenStoreContract('redis', async () => {
    const { client, prefix, close } = await freshClient();
    return { store: new RedisTokenStore(client, prefix), close };
  });
  describeRateLimiterContract('redis', async () => {
    const { client, prefix, close } = await freshClient();
    return { limiter: new RedisRateLimiter(client, prefix), close };
  });
} else {
  describe.skip('redis contracts (no Redis available)', () => it('needs TEST_REDIS_URL or Docker', () => {}));
}
