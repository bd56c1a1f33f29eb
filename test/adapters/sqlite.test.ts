import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';
import { sqliteStatements } from '../../src/adapters/sql/statements.js';
import { SqlTokenStore } from '../../src/adapters/sql/sql-token-store.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { describeUserStoreContract } from '../contracts/user-store.contract.js';
import { freshSqlite } from '../support/sqlite.js';
import { familyQueryPlans } from '../support/token-query-plans.js';
import type { Explain } from '../support/token-query-plans.js';

/** The stores as the server wires them on SQLite: the hot queries prepared, reads on a read-only connection. */
async function preparedSqlite() {
  const { db, path, close } = await freshSqlite();
  const statements = sqliteStatements(db, path);
  return {
    db,
    path,
    statements,
    close: async () => {
      statements.close();
      await close();
    },
  };
}

describeUserStoreContract('sqlite', async () => {
  const { db, statements, close } = await preparedSqlite();
  return { store: new SqlUserStore(db, statements), close };
});

describeTokenStoreContract('sqlite', async () => {
  const { db, statements, close } = await preparedSqlite();
  return { store: new SqlTokenStore(db, statements), close };
});

// Rotation has a second implementation, as a Knex transaction (PostgreSQL's): it must keep the same contract.
describeTokenStoreContract('sqlite through Knex', async () => {
  const { db, close } = await freshSqlite();
  return { store: new SqlTokenStore(db), close };
});

describe('refresh-token queries on SQLite', () => {
  const explain: Explain = async (db, sql, bindings) =>
    ((await db.raw(`explain query plan ${sql}`, bindings as Knex.RawBinding[])) as { detail: string }[]).map((row) => row.detail);

  it('checks a family for revocation with one index seek, not a read of the whole family', async () => {
    const { db, close } = await freshSqlite();
    try {
      const plans = await familyQueryPlans(db, explain);
      expect(plans).toHaveLength(2);
      for (const plan of plans) {
        expect(plan).toContainEqual(expect.stringMatching(/^SEARCH r USING COVERING INDEX ix_refresh_tokens_family_id_revoked_at \(family_id=\? AND revoked_at/));
      }
    } finally {
      await close();
    }
  });
});

describe('prepared statements on SQLite', () => {
  // SQLite re-plans a statement whose bound LIMIT may change: `.first()` re-parsed every read.
  it('bind only their arguments, so a statement is parsed once, not on every run', async () => {
    const { db, statements, close } = await preparedSqlite();
    try {
      expect(() => statements.row((arg) => db('users').where({ id: arg(0) }).first())).toThrow(/binds only its arguments/);
      expect(() => statements.row((arg) => db('users').where({ id: arg(0), status: 'active' }))).toThrow(/binds only its arguments/);
      const byId = statements.row<{ id: string }>((arg) => db('users').select('id').where({ id: arg(0) }));
      await expect(byId('nobody')).resolves.toBeUndefined();
    } finally {
      await close();
    }
  });

  it('commit the transactions of one tick together, each with its own outcome, reported once committed', async () => {
    const { db, path, statements, close } = await preparedSqlite();
    const observer = new Database(path, { readonly: true });
    try {
      await db.schema.createTable('keys', (table) => table.string('k').primary());
      const insert = statements.write((arg) => db('keys').insert({ k: arg(0) }));
      const byKey = statements.row<{ k: string }>((arg) => db('keys').select('k').where({ k: arg(0) }));
      const outcomes = await Promise.allSettled([
        statements.transaction(() => insert('a')).then(() => byKey('a')),
        statements.transaction(() => {
          insert('b');
          insert('a'); // taken: this transaction fails, and its 'b' goes with it
        }),
        statements.transaction(() => {
          // One transaction: the first one's row is not committed yet, so no other connection sees it.
          expect(observer.prepare('select k from keys where k = ?').get('a')).toBeUndefined();
          return insert('c');
        }),
        statements.transaction(() => {
          insert('d');
          throw new Error('refused by its own code');
        }),
      ]);
      // The first one's outcome came after the commit: the read-only connection saw its row.
      expect(outcomes[0]).toEqual({ status: 'fulfilled', value: { k: 'a' } });
      expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' } });
      expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 1 });
      expect(outcomes[3]).toMatchObject({ status: 'rejected', reason: { message: 'refused by its own code' } });
      expect(await db('keys').orderBy('k').pluck('k')).toEqual(['a', 'c']);
    } finally {
      observer.close();
      await close();
    }
  });

  it("wait for another process's write lock without stopping the event loop, and give up as busy in the end", async () => {
    const { db, path, close } = await freshSqlite();
    const statements = sqliteStatements(db, path, { lockWaitMs: 1_000 });
    // Another process's writer, holding the write lock.
    const other = new Database(path);
    try {
      await db.schema.createTable('keys', (table) => table.string('k').primary());
      const insert = statements.write((arg) => db('keys').insert({ k: arg(0) }));
      other.prepare('begin immediate').run();
      const pending = statements.transaction(() => insert('a'));
      // SQLite's own busy wait would sleep with the event loop stopped, and this timer
      // (the other writer finishing) could not fire until it gave up.
      await new Promise((r) => setTimeout(r, 100));
      other.prepare('commit').run();
      await expect(pending).resolves.toBe(1);

      other.prepare('begin immediate').run();
      const started = Date.now();
      await expect(statements.transaction(() => insert('b'))).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      other.prepare('rollback').run();
      expect(await db('keys').orderBy('k').pluck('k')).toEqual(['a']);
      // Knex's own queries on that connection still wait for the lock as configured.
      expect(await db.raw('pragma busy_timeout')).toEqual([{ timeout: 5000 }]);
    } finally {
      other.close();
      statements.close();
      await close();
    }
  });

  it('fail the whole batch, committing nothing, on any SQLite error other than a constraint', async () => {
    const { db, statements, close } = await preparedSqlite();
    try {
      await db.schema.createTable('keys', (table) => table.string('k').primary());
      const insert = statements.write((arg) => db('keys').insert({ k: arg(0) }));
      const broken = statements.write((arg) => db('no_such_table').insert({ k: arg(0) }));
      const outcomes = await Promise.allSettled([
        statements.transaction(() => insert('a')),
        statements.transaction(() => broken('b')),
        statements.transaction(() => insert('c')),
      ]);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_ERROR' } });
      expect(await db('keys').pluck('k')).toEqual([]);
      // The connection is left clean: the next batch commits.
      await expect(statements.transaction(() => insert('d'))).resolves.toBe(1);
      expect(await db('keys').pluck('k')).toEqual(['d']);
    } finally {
      await close();
    }
  });
});

describe('the SQLite file', () => {
  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it('is created readable by its owner alone, and so are its -wal and -shm files (they hold password hashes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pico-auth-mode-'));
    const path = join(dir, 'auth.db');
    const db = openDatabase({ dialect: 'sqlite', filename: path });
    try {
      await migrate(db);
      await db('users').count({ total: '*' });
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(modeOf(file), file).toBe(0o600);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for another process that holds the file while it switches it to WAL, rather than fail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pico-auth-busy-'));
    const path = join(dir, 'auth.db');
    new Database(path).close();
    // Another process (a second instance starting) holds an exclusive lock for 500 ms.
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 500);
    `]);
    const db = openDatabase({ dialect: 'sqlite', filename: path });
    try {
      await new Promise((locked) => holder.stdout.once('data', locked));
      expect(await db.raw('pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    } finally {
      holder.kill();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the mode an existing file already has', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pico-auth-mode-'));
    const path = join(dir, 'auth.db');
    writeFileSync(path, '');
    chmodSync(path, 0o640);
    const db = openDatabase({ dialect: 'sqlite', filename: path });
    try {
      await migrate(db);
      expect(modeOf(path)).toBe(0o640);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
