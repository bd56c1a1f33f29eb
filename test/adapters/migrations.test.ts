import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';
import { freshSqlite } from '../support/sqlite.js';

describe('migrate', () => {
  it("waits while another instance holds Knex's migration lock, then finishes", async () => {
    const { db, path, close } = await freshSqlite();
    const second = openDatabase({ dialect: 'sqlite', filename: path });
    try {
      await db('knex_migrations_lock').update({ is_locked: 1 });
      let settled = false;
      const migrating = migrate(second, 5_000).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Still waiting: a migrate that ignored the lock would have finished (or failed) by now.
      expect(settled).toBe(false);
      await db('knex_migrations_lock').update({ is_locked: 0 });
      await expect(migrating).resolves.toBeUndefined();
    } finally {
      await second.destroy();
      await close();
    }
  });

  it('gives up with the lock error once the wait is over', async () => {
    const { db, path, close } = await freshSqlite();
    const second = openDatabase({ dialect: 'sqlite', filename: path });
    try {
      await db('knex_migrations_lock').update({ is_locked: 1 });
      await expect(migrate(second, 300)).rejects.toMatchObject({ name: 'MigrationLocked' });
    } finally {
      await second.destroy();
      await close();
    }
  });
});
