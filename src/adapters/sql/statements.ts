import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { SQLITE_BUSY_TIMEOUT_MS } from './database.js';

/** Stands for the query's `index`-th argument while it is built. */
export type Arg = (index: number) => string;
export type Build = (arg: Arg) => Knex.QueryBuilder;
export type Value = string | number | null;

/**
 * The reads on every request's path (a user per bearer call; a token and its owner per
 * refresh), built once with Knex and then run with fresh arguments.
 */
export interface Statements {
  /** A SELECT by a unique key: its first row, if any. */
  row<T>(build: Build): (...args: Value[]) => Promise<T | undefined>;
}

/** On SQLite the hot writes are prepared too, and run in a transaction of their own. */
export interface SqliteStatements extends Statements {
  close(): void;
  /** A write statement: run inside `transaction`, it returns the number of rows it changed. */
  write(build: Build): (...args: Value[]) => number;
  /** Runs `work` (which must not await) atomically: all of it or none. Those asked for in one tick commit together. */
  transaction<T>(work: () => T): Promise<T>;
}

export function isSqlite(statements: Statements): statements is SqliteStatements {
  return 'transaction' in statements;
}

/** Builds and runs each query through Knex, like every other query. */
export const throughKnex: Statements = {
  row:
    <T>(build: Build) =>
    async (...args: Value[]) =>
      (await build((index) => args[index] as string).first()) as T | undefined,
};

interface KnexPool<Connection> {
  acquireConnection(): Promise<Connection>;
  releaseConnection(connection: Connection): Promise<void>;
}

interface PgClient {
  query(query: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * On PostgreSQL the hot reads are named prepared statements on a connection from Knex's
 * pool: parsed and planned once per connection, with no query building per call. Going
 * through Knex's builder and runner cost 40–80 µs more main-thread CPU per `GET /me`.
 */
export function postgresStatements(db: Knex): Statements {
  const pool = db.client as KnexPool<PgClient>;
  return {
    row: <T>(build: Build) => {
      const { sql, bind } = compile(build(placeholder));
      // Named by the SQL itself: one text, one name, on every connection.
      const name = `pico_auth_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      return async (...args: Value[]) => {
        const client = await pool.acquireConnection();
        try {
          const { rows } = await client.query({ name, text: sql, values: bind(args) });
          return rows[0] as T | undefined;
        } finally {
          await pool.releaseConnection(client);
        }
      };
    },
  };
}

/**
 * Prepared statements. Building a query and going through Knex's runner cost more than
 * the SQLite work itself: a refresh was four round trips through it (BEGIN, UPDATE,
 * INSERT, COMMIT), now it is one call.
 *
 * Reads run on a read-only connection of their own: a WAL reader never waits for the
 * writer, and a read needs no turn of Knex's pool. Writes run on Knex's own connection,
 * taken from its pool for one synchronous transaction, so no Knex query or transaction
 * interleaves and no second writer waits on this one.
 */
export function sqliteStatements(db: Knex, filename: string, options: { lockWaitMs?: number } = {}): SqliteStatements {
  const lockWaitMs = options.lockWaitMs ?? SQLITE_BUSY_TIMEOUT_MS;
  const pool = db.client as KnexPool<Database.Database>;
  // An in-memory database is private to its connection: reads then share Knex's.
  const reader = filename === ':memory:' ? undefined : new Database(filename, { readonly: true, fileMustExist: true });
  reader?.pragma('busy_timeout = 1000');
  // Statements belong to a connection: should Knex ever replace its own, they are prepared anew.
  const prepared = new WeakMap<Database.Database, Map<string, Database.Statement>>();
  let transactionConnection: Database.Database | undefined;

  const statementOn = (connection: Database.Database, sql: string) => {
    let bySql = prepared.get(connection);
    if (!bySql) prepared.set(connection, (bySql = new Map()));
    let statement = bySql.get(sql);
    if (!statement) bySql.set(sql, (statement = connection.prepare(sql)));
    return statement;
  };

  const onKnexConnection = async <T>(work: (connection: Database.Database) => T): Promise<T> => {
    const connection = await pool.acquireConnection();
    try {
      return work(connection);
    } finally {
      await pool.releaseConnection(connection);
    }
  };

  /**
   * Group commit: the transactions asked for in one turn of the event loop run as
   * savepoints of one SQLite transaction, so they share its BEGIN, COMMIT and WAL write.
   * Each one's refusal (a constraint, an error of its own) rolls back its savepoint
   * alone; any other SQLite error fails the batch. Outcomes are reported only once the
   * whole has committed.
   *
   * Another process (a second worker) may hold the write lock. SQLite's busy timeout
   * would wait for it by sleeping, with the whole event loop stopped; so `BEGIN
   * IMMEDIATE` is tried without waiting, and a batch that finds the lock taken is tried
   * again a millisecond later, serving other requests meanwhile, until `lockWaitMs` has
   * passed (then it fails as busy: 503).
   */
  const queued: Queued[] = [];
  const commit = (batch: Queued[], deadline: number) => {
    onKnexConnection((connection) => {
      transactionConnection = connection;
      try {
        return runBatch(connection, batch, deadline);
      } finally {
        transactionConnection = undefined;
      }
    }).then(
      (outcomes) => {
        if (outcomes === LOCKED) return void setTimeout(() => commit(batch, deadline), 1);
        outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]?.resolve(outcome.value) : batch[i]?.reject(outcome.error)));
      },
      (error: unknown) => batch.forEach((item) => item.reject(error)),
    );
  };

  /**
   * A connection's batch transaction, made once: better-sqlite3 builds a dozen closures for
   * each `transaction()`, which cost a batch of one write about a fifth of its time.
   */
  const batchTransactions = new WeakMap<Database.Database, BatchTransaction>();
  const batchTransactionOn = (connection: Database.Database) => {
    let transaction = batchTransactions.get(connection);
    if (!transaction) {
      const savepoint = connection.transaction((work: () => unknown) => work());
      transaction = connection.transaction((batch: Queued[], attempt: { began: boolean }) => {
        attempt.began = true;
        return batch.map(({ work }) => runSavepoint(connection, savepoint, work));
      });
      batchTransactions.set(connection, transaction);
    }
    return transaction;
  };

  /** The batch as one transaction of savepoints, or LOCKED if another process holds the write lock (until `deadline`). */
  const runBatch = (connection: Database.Database, batch: Queued[], deadline: number): Outcome[] | typeof LOCKED => {
    // A transaction left open on the connection would turn this one into a savepoint.
    if (connection.inTransaction) throw new Error('Knex returned its SQLite connection inside a transaction');
    // Kept per connection. SQLite marks a PRAGMA's program run-once, so each run still
    // re-parses it (about 1–2 µs); `pragma()` would also build a new statement object (8 µs).
    statementOn(connection, 'pragma busy_timeout = 0').get();
    const attempt = { began: false };
    try {
      return batchTransactionOn(connection).immediate(batch, attempt);
    } catch (error) {
      if (!attempt.began && isBusy(error) && Date.now() < deadline) return LOCKED;
      throw error;
    } finally {
      // What openDatabase gives every connection, for Knex's own queries to wait with.
      statementOn(connection, `pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`).get();
    }
  };
  const commitQueued = () => {
    const batch = queued.splice(0, MAX_BATCH);
    if (queued.length > 0) setImmediate(commitQueued);
    commit(batch, Date.now() + lockWaitMs);
  };

  return {
    row: <T>(build: Build) => {
      const { sql, bind } = compile(build(placeholder));
      if (reader) {
        // The reader is ours alone, never replaced: its statement is prepared once, here.
        const statement = reader.prepare(sql);
        return async (...args: Value[]) => statement.get(...bind(args)) as T | undefined;
      }
      return (...args: Value[]) => onKnexConnection((connection) => statementOn(connection, sql).get(...bind(args)) as T | undefined);
    },
    write: (build: Build) => {
      const { sql, bind } = compile(build(placeholder));
      return (...args: Value[]) => {
        if (!transactionConnection) throw new Error('a prepared write runs only inside transaction()');
        return statementOn(transactionConnection, sql).run(...bind(args)).changes;
      };
    },
    transaction: <T>(work: () => T) =>
      new Promise<T>((resolve, reject) => {
        if (queued.push({ work, resolve, reject } as Queued) === 1) setImmediate(commitQueued);
      }),
    close: () => reader?.close(),
  };
}

interface Queued {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
type Savepoint = Database.Transaction<(work: () => unknown) => unknown>;
type BatchTransaction = Database.Transaction<(batch: Queued[], attempt: { began: boolean }) => Outcome[]>;

/** Bounds how long one batch holds the event loop and the write lock. */
const MAX_BATCH = 256;
/** A batch that could not begin: the write lock was taken. */
const LOCKED = Symbol('locked');

function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `work` as a savepoint of the open transaction. Only its own refusal is its alone:
 * any other SQLite error (I/O, full disk, a failed rollback to the savepoint) may have
 * left the savepoint or the whole transaction behind, so it fails the batch.
 */
function runSavepoint(connection: Database.Database, savepoint: Savepoint, work: () => unknown): Outcome {
  try {
    return { ok: true, value: savepoint(work) };
  } catch (error) {
    const refusal = !(error instanceof Database.SqliteError) || error.code.startsWith('SQLITE_CONSTRAINT');
    if (!refusal || !connection.inTransaction) throw error;
    return { ok: false, error };
  }
}

const PLACEHOLDER = '\u0000pico-auth-argument-';

function placeholder(index: number): string {
  return `${PLACEHOLDER}${index}`;
}

/**
 * The query's SQL, and how to turn a call's arguments into its bindings. Every binding
 * must be an argument: SQLite re-plans a statement on each run when a bound value can
 * change its plan (a bound `LIMIT`, as Knex's `.first()` writes, re-parsed the SQL on
 * every call), so constants belong in the SQL and a unique key makes `LIMIT 1` needless.
 */
function compile(query: Knex.QueryBuilder): { sql: string; bind: (args: Value[]) => Value[] } {
  const { sql, bindings } = query.toSQL().toNative();
  const positions = bindings.map((value) => {
    if (typeof value !== 'string' || !value.startsWith(PLACEHOLDER)) throw new Error(`a prepared statement binds only its arguments: ${sql}`);
    return Number(value.slice(PLACEHOLDER.length));
  });
  // Arguments in their own order (the usual case) are bound as they are, with no copy.
  if (positions.every((position, i) => position === i)) return { sql, bind: (args) => args };
  return { sql, bind: (args) => positions.map((position) => args[position] as Value) };
}
