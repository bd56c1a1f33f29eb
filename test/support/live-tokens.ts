import { Redis } from 'ioredis';
import type { Knex } from 'knex';

/**
 * Families holding more than one live refresh token, read straight from the store: the
 * invariant "a family never has more than one live token" says this is always empty.
 */
export async function familiesWithSeveralLiveTokens(store: { db: Knex } | { redisUrl: string; prefix: string }): Promise<string[]> {
  return 'db' in store ? fromSql(store.db) : fromRedis(store.redisUrl, store.prefix);
}

async function fromSql(db: Knex): Promise<string[]> {
  const rows: { family_id: string }[] = await db('refresh_tokens as t')
    .whereNull('t.consumed_at')
    .whereNull('t.revoked_at')
    .whereNotExists(db('refresh_tokens as r').select(db.raw('1')).whereRaw('r.family_id = t.family_id').whereNotNull('r.revoked_at'))
    .groupBy('t.family_id')
    .havingRaw('count(*) > 1')
    .select('t.family_id');
  return rows.map((row) => row.family_id);
}

async function fromRedis(url: string, prefix: string): Promise<string[]> {
  const client = new Redis(url);
  try {
    const live = new Map<string, number>();
    for await (const keys of client.scanStream({ match: `${prefix}rt:*`, count: 500 })) {
      for (const key of keys as string[]) {
        const [family, consumed, revoked] = await client.hmget(key, 'family', 'consumed', 'revoked');
        const familyRevoked = await client.hget(`${prefix}fam:${family}`, 'revoked');
        if (family && !consumed && !revoked && familyRevoked === '') live.set(family, (live.get(family) ?? 0) + 1);
      }
    }
    return [...live].filter(([, count]) => count > 1).map(([family]) => family);
  } finally {
    client.disconnect();
  }
}
