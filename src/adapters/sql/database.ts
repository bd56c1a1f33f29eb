import { closeSync, openSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import knex from 'knex';
import type { Knex } from 'knex';
import { MIGRATIONS } from './migrations.js';
import type { Migration } from './migrations.js';

export type DatabaseTarget = { dialect: 'sqlite'; filename: string } | { dialect: 'postgres'; url: string };

/**
 * Reads a database URL the way pico-auth (SQLAlchemy) does: `sqlite:<path>` as written,
 * `sqlite:///relative`, `sqlite:////absolute`, with any `+driver` suffix ignored.
 */
export function parseDatabaseUrl(url: string, cwd: string): DatabaseTarget {
  const match = /^(sqlite|postgres|postgresql)(\+[a-z0-9]+)?:(.*)$/i.exec(url.trim());
  if (!match) throw new Error('DATABASE_URL must start with sqlite: or postgres(ql)://');
  const [, scheme = '', , rest = ''] = match;
  if (scheme.toLowerCase() !== 'sqlite') return { dialect: 'postgres', url: `postgres:${rest}` };
  const path = rest.startsWith('////') ? rest.slice(3) : rest.startsWith('///') ? rest.slice(3) : rest;
  if (path === '') throw new Error('DATABASE_URL names no SQLite file');
  return { dialect: 'sqlite', filename: path === ':memory:' || isAbsolute(path) ? path : resolve(cwd, path) };
}

/**
 * Knex would print to stdout; every failure it reports is thrown as well, and logged by
 * the caller. `compileSqlOnError: false` keeps bound values (hashes, emails) out of
 * error messages, and so out of logs.
 */
const QUIET = { warn() {}, error() {}, deprecate() {}, debug() {} };

export interface PoolOptions {
  /** PostgreSQL connections per process. */
  max?: number;
  /** How long a PostgreSQL query may go unanswered before it fails as unavailable. */
  queryTimeoutMs?: number;
}

/**
 * A query's client-side limit, past the server's own `statement_timeout`: a server that
 * answers never reaches it, while a connection gone silent (a peer lost without a word)
 * would otherwise hold its request, and its place in the pool, for good.
 */
const QUERY_TIMEOUT_MS = 12_000;

export function openDatabase(target: DatabaseTarget, pool: PoolOptions = {}): Knex {
  if (target.dialect === 'sqlite') {
    if (target.filename !== ':memory:') createPrivately(target.filename);
    return knex({
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      compileSqlOnError: false,
      log: QUIET,
      pool: { min: 1, max: 1, afterCreate: configureSqlite },
    });
  }
  return knex({
    client: 'pg',
    connection: { connectionString: target.url, connectionTimeoutMillis: 5_000, statement_timeout: 10_000, query_timeout: pool.queryTimeoutMs ?? QUERY_TIMEOUT_MS, keepAlive: true },
    // A connection whose query timed out unanswered is still waiting for that answer, and
    // every query behind it would time out too: it is dropped, not handed out again.
    pool: { min: 0, max: pool.max ?? 10, acquireTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, validate: (client: { readyForQuery?: boolean }) => client.readyForQuery === true },
    acquireConnectionTimeout: 5_000,
    compileSqlOnError: false,
    log: QUIET,
  });
}

/**
 * A new database file is readable by its owner alone: it holds password hashes. SQLite
 * gives its -wal and -shm files the mode of the database file. An existing file keeps
 * the mode its operator gave it; a file that cannot be made here is left to SQLite to
 * report when it opens it.
 */
function createPrivately(filename: string): void {
  try {
    closeSync(openSync(filename, 'wx', 0o600));
  } catch {
    // Already there (the usual case), or SQLite will say why not.
  }
}

/** How long a write waits for another process's write lock before it fails as busy (503). */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * WAL lets readers run beside the writer; the busy timeout makes a second process wait
 * rather than fail. better-sqlite3 opens with a 5 s one already, so switching a file to
 * WAL, which takes a lock another process starting beside this one may hold, waits too;
 * it is set first here all the same, so that stays true whatever the driver's default.
 */
function configureSqlite(connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void): void {
  try {
    connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma('foreign_keys = ON');
    done(null, connection);
  } catch (error) {
    done(error as Error, connection);
  }
}

interface SqliteConnection {
  pragma(statement: string): unknown;
}

const MIGRATION_SOURCE: Knex.MigrationSource<Migration> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};

/**
 * Applies every pending migration, in order, each in its own transaction. Instances
 * starting together wait for the one holding Knex's migration lock instead of failing.
 */
export async function migrate(db: Knex, lockWaitMs = 30_000): Promise<void> {
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    try {
      await db.migrate.latest({ migrationSource: MIGRATION_SOURCE });
      return;
    } catch (error) {
      if ((error as Error).name !== 'MigrationLocked' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
