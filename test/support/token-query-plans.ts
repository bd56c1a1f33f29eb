import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { SqlTokenStore } from '../../src/adapters/sql/sql-token-store.js';

export type Explain = (db: Knex, sql: string, bindings: readonly unknown[]) => Promise<string[]>;

/**
 * The plans of the queries that look into a token's family when the SQL token store
 * finds a token and rotates it: the revocation checks every refresh pays for.
 */
export async function familyQueryPlans(db: Knex, explain: Explain): Promise<string[][]> {
  const store = new SqlTokenStore(db);
  const now = new Date();
  const token = { hash: 'a'.repeat(64), familyId: randomUUID(), userId: 'user-1', expiresAt: new Date(now.getTime() + 60_000), createdAt: now, consumedAt: null, revokedAt: null };
  await store.create(token);
  const queries: { sql: string; bindings: readonly unknown[] }[] = [];
  const record = (query: { sql: string; bindings?: readonly unknown[] }) => queries.push({ sql: query.sql, bindings: query.bindings ?? [] });
  db.on('query', record);
  try {
    await store.findByHash(token.hash);
    if (!(await store.rotate(token.hash, { ...token, hash: 'b'.repeat(64) }, now))) throw new Error('rotation failed');
  } finally {
    db.off('query', record);
  }
  const familyQueries = queries.filter(({ sql }) => sql.includes('r.family_id'));
  return Promise.all(familyQueries.map(({ sql, bindings }) => explain(db, sql, bindings)));
}
