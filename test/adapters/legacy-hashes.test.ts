import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { legacyBcryptCosts } from '../../src/adapters/sql/legacy-hashes.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { postgresIntegration } from '../support/integration.js';
import { freshPostgres } from '../support/postgres.js';
import { freshSqlite } from '../support/sqlite.js';

const postgres = await postgresIntegration();

const TAIL = 'abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234';

async function withUsers(db: Knex, hashes: string[]): Promise<void> {
  const users = new SqlUserStore(db);
  for (const passwordHash of hashes) {
    const id = randomUUID();
    await users.create({ id, email: `${id}@example.com`, displayName: 'u', passwordHash, role: 'viewer', orgId: 'default', status: 'active', createdAt: new Date(), lastLoginAt: null });
  }
}

const databases = [
  ['sqlite', freshSqlite],
  ...(postgres.available ? [['postgres', () => freshPostgres(postgres, 2)] as const] : []),
] as const;

describe.each(databases)('legacyBcryptCosts on %s', (_name, fresh) => {
  it('finds none among argon2id hashes, or in an empty table', async () => {
    const { db, close } = await fresh();
    try {
      expect(await legacyBcryptCosts(db)).toEqual([]);
      await withUsers(db, ['$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA']);
      expect(await legacyBcryptCosts(db)).toEqual([]);
    } finally {
      await close();
    }
  });

  it("lists each cost of pico-auth's bcrypt hashes once, in every spelling", async () => {
    const { db, close } = await fresh();
    try {
      await withUsers(db, [`$2b$12$${TAIL}`, `$2a$12$${TAIL}`, `$2y$10$${TAIL}`, `$2b$16$${TAIL}`, '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA']);
      expect(await legacyBcryptCosts(db)).toEqual([10, 12, 16]);
    } finally {
      await close();
    }
  });
});
