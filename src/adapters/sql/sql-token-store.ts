import type { Knex } from 'knex';
import type { TokenStore } from '../../application/ports.js';
import type { RefreshToken } from '../../domain/refresh-token.js';
import { isSqlite, throughKnex } from './statements.js';
import type { SqliteStatements, Statements } from './statements.js';
import { guarded } from './sql-errors.js';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from './timestamps.js';

interface TokenRow {
  token_hash: string;
  family_id: string;
  user_id: string;
  expires_at: unknown;
  created_at: unknown;
  consumed_at: unknown;
  revoked_at: unknown;
}

/** Named, not `*`: a prepared statement keeps its result shape (see sql-user-store). */
const COLUMNS = ['token_hash', 'family_id', 'user_id', 'expires_at', 'created_at', 'consumed_at', 'revoked_at'] as const;

/** Refresh tokens (keyed hashes only) in the `refresh_tokens` table. */
export class SqlTokenStore implements TokenStore {
  readonly #byHash;
  readonly #insert: (token: RefreshToken) => Promise<void>;
  readonly #rotate: (parentHash: string, successor: RefreshToken, now: Date) => Promise<boolean>;

  constructor(
    private readonly db: Knex,
    statements: Statements = throughKnex,
  ) {
    this.#byHash = statements.row<TokenRow & { family_revoked_at: unknown }>((arg) =>
      db('refresh_tokens as t').where('t.token_hash', arg(0)).select(...COLUMNS.map((column) => `t.${column}`), familyRevokedAt(db)),
    );
    this.#insert = insertion(db, statements);
    this.#rotate = rotation(db, statements);
  }

  create(token: RefreshToken): Promise<void> {
    return guarded(() => this.#insert(token));
  }

  /**
   * A family is revoked as a whole, so a token counts as revoked when any token of its
   * family is: a successor inserted while a revocation was running (PostgreSQL's
   * snapshot would miss it) is still refused.
   */
  findByHash(hash: string): Promise<RefreshToken | undefined> {
    return guarded(async () => {
      const row = await this.#byHash(hash);
      return row && fromRow({ ...row, revoked_at: row.revoked_at ?? row.family_revoked_at });
    });
  }

  rotate(parentHash: string, successor: RefreshToken, now: Date): Promise<boolean> {
    return guarded(() => this.#rotate(parentHash, successor, now));
  }

  revokeFamily(familyId: string, now: Date): Promise<void> {
    return guarded(async () => {
      await this.db('refresh_tokens').where({ family_id: familyId, revoked_at: null }).update({ revoked_at: toDbTime(now) });
    });
  }

  revokeAllForUser(userId: string, now: Date): Promise<void> {
    return guarded(async () => {
      await this.db('refresh_tokens').where({ user_id: userId, revoked_at: null }).update({ revoked_at: toDbTime(now) });
    });
  }

  deleteExpired(before: Date): Promise<void> {
    return guarded(async () => {
      await this.db('refresh_tokens').where('expires_at', '<', toDbTime(before)).delete();
    });
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await this.db.raw('select 1');
    });
  }
}

/**
 * Consumes a live token of a family with no revoked token. The conditional update is the
 * lock: of concurrent rotations exactly one sees a row change.
 */
function consumeLive(db: Knex, parentHash: string, now: string): Knex.QueryBuilder {
  return db('refresh_tokens')
    .where({ token_hash: parentHash, consumed_at: null, revoked_at: null })
    .where('expires_at', '>', now)
    .whereNotExists(
      db('refresh_tokens as r').select(db.raw('1')).whereRaw('r.family_id = refresh_tokens.family_id').whereNotNull('r.revoked_at'),
    )
    .update({ consumed_at: now });
}

/** A new family's first token: on SQLite a prepared insert, committed with the others of its tick. */
function insertion(db: Knex, statements: Statements) {
  if (!isSqlite(statements)) {
    return async (token: RefreshToken) => {
      await db('refresh_tokens').insert(toRow(token));
    };
  }
  const insert = preparedInsert(db, statements);
  return (token: RefreshToken) => statements.transaction(() => void insert(token));
}

/** Each store's fastest atomic rotation: the Knex transaction is left for SQLite without prepared statements. */
function rotation(db: Knex, statements: Statements) {
  if (isSqlite(statements)) return preparedRotation(db, statements);
  if (db.client.config.client === 'pg') return postgresRotation(db);
  return knexRotation(db);
}

/**
 * Consume and insert as one statement on PostgreSQL: the insert reads the consumed row
 * from a data-modifying CTE, so both happen or neither, in one round trip rather than
 * the four of a transaction (BEGIN, UPDATE, INSERT, COMMIT).
 */
function postgresRotation(db: Knex) {
  const insertColumns = COLUMNS.join(', ');
  // A bare parameter in a SELECT list is text: timestamps need their type spelled out.
  const insertValues = COLUMNS.map((column) => (column.endsWith('_at') ? '?::timestamptz' : '?')).join(', ');
  return async (parentHash: string, successor: RefreshToken, now: Date) => {
    const consume = consumeLive(db, parentHash, toDbTime(now)).returning('token_hash').toSQL();
    const row = toRow(successor);
    const result = (await db.raw(`with consumed as (${consume.sql}) insert into refresh_tokens (${insertColumns}) select ${insertValues} from consumed`, [
      ...consume.bindings,
      ...COLUMNS.map((column) => row[column] as Knex.Value),
    ])) as { rowCount: number };
    return result.rowCount === 1;
  };
}

/** Consume and insert as a Knex transaction (SQLite without prepared statements). */
function knexRotation(db: Knex) {
  return (parentHash: string, successor: RefreshToken, now: Date) =>
    db.transaction(async (trx) => {
      if ((await consumeLive(trx, parentHash, toDbTime(now))) !== 1) return false;
      await trx('refresh_tokens').insert(toRow(successor));
      return true;
    });
}

/** Consume and insert as prepared statements in one synchronous SQLite transaction. */
function preparedRotation(db: Knex, statements: SqliteStatements) {
  const consume = statements.write((arg) => consumeLive(db, arg(0), arg(1)));
  const insert = preparedInsert(db, statements);
  return (parentHash: string, successor: RefreshToken, now: Date) =>
    statements.transaction(() => {
      if (consume(parentHash, toDbTime(now)) !== 1) return false;
      insert(successor);
      return true;
    });
}

/** Inserts one token; runs only inside `statements.transaction`. */
function preparedInsert(db: Knex, statements: SqliteStatements): (token: RefreshToken) => number {
  const insert = statements.write((arg) => db('refresh_tokens').insert(Object.fromEntries(COLUMNS.map((column, i) => [column, arg(i)]))));
  return (token) => {
    const row = toRow(token);
    return insert(...COLUMNS.map((column) => row[column] as string | null));
  };
}

/** The first revocation time of any token in `t`'s family: one seek in (family_id, revoked_at). */
function familyRevokedAt(db: Knex): Knex.Raw {
  return db.raw('(select min(r.revoked_at) from refresh_tokens r where r.family_id = t.family_id and r.revoked_at is not null) as family_revoked_at');
}

function toRow(token: RefreshToken): TokenRow {
  return {
    token_hash: token.hash,
    family_id: token.familyId,
    user_id: token.userId,
    expires_at: toDbTime(token.expiresAt),
    created_at: toDbTime(token.createdAt),
    consumed_at: token.consumedAt ? toDbTime(token.consumedAt) : null,
    revoked_at: token.revokedAt ? toDbTime(token.revokedAt) : null,
  };
}

function fromRow(row: TokenRow): RefreshToken {
  return {
    hash: row.token_hash,
    familyId: row.family_id,
    userId: row.user_id,
    expiresAt: fromDbTime(row.expires_at),
    createdAt: fromDbTime(row.created_at),
    consumedAt: fromDbTimeOrNull(row.consumed_at),
    revokedAt: fromDbTimeOrNull(row.revoked_at),
  };
}
