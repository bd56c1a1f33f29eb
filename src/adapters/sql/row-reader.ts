import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import type { DatabaseTarget } from './database.js';

/** Stands for the query's `index`-th argument while it is built. */
export type Arg = (index: number) => string;

/** Single-row SELECTs built once with Knex, then run with fresh arguments. */
export interface RowReader {
  prepare<T>(build: (arg: Arg) => Knex.QueryBuilder): (...args: string[]) => Promise<T | undefined>;
  close(): void;
}

/** Builds and runs each query through Knex's pool, like every other query. */
export const throughKnex: RowReader = {
  prepare:
    <T>(build: (arg: Arg) => Knex.QueryBuilder) =>
    async (...args: string[]) =>
      (await build((index) => args[index] ?? '').first()) as T | undefined,
  close: () => {},
};

/**
 * The hot reads (a user per bearer call, a token per refresh). On SQLite they run on a
 * read-only connection of their own as prepared statements compiled once: WAL readers
 * never wait for the writer and each read takes microseconds, where building the query
 * and going through Knex's pool and runner cost about half of `GET /me`. Every other
 * database reads through Knex.
 */
export function openRowReader(target: DatabaseTarget): RowReader {
  // An in-memory database is private to its connection: a second one would see nothing.
  if (target.dialect !== 'sqlite' || target.filename === ':memory:') return throughKnex;
  const connection = new Database(target.filename, { readonly: true, fileMustExist: true });
  connection.pragma('busy_timeout = 1000');
  return {
    prepare: <T>(build: (arg: Arg) => Knex.QueryBuilder) => {
      const { sql, bindings } = build(placeholder).first().toSQL().toNative();
      const statement = connection.prepare(sql);
      return async (...args: string[]) => statement.get(...bindings.map((value) => argumentFor(value, args))) as T | undefined;
    },
    close: () => connection.close(),
  };
}

const PLACEHOLDER = '\u0000pico-auth-argument-';

function placeholder(index: number): string {
  return `${PLACEHOLDER}${index}`;
}

function argumentFor(value: unknown, args: string[]): unknown {
  return typeof value === 'string' && value.startsWith(PLACEHOLDER) ? args[Number(value.slice(PLACEHOLDER.length))] : value;
}
