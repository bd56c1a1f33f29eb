import type { Knex } from 'knex';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';
import type { Integration } from './integration.js';

/** A migrated database of its own on the test PostgreSQL, dropped again by `close`. */
export async function freshPostgres(postgres: Integration<{ url: string }>, poolSize = 4): Promise<{ db: Knex; close: () => Promise<void> }> {
  const database = await postgres.fresh();
  const db = openDatabase({ dialect: 'postgres', url: database.url }, { max: poolSize });
  await migrate(db);
  return {
    db,
    close: async () => {
      await db.destroy();
      await database.close();
    },
  };
}
