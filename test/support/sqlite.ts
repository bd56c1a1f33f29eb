import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';

/** A migrated SQLite database in a fresh temp directory, removed again by `close`. */
export async function freshSqlite(): Promise<{ db: Knex; path: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-sqlite-'));
  const path = join(dir, 'auth.db');
  const db = openDatabase({ dialect: 'sqlite', filename: path });
  await migrate(db);
  return {
    db,
    path,
    close: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
