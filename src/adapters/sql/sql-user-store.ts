import type { Knex } from 'knex';
import type { UserStore } from '../../application/ports.js';
import { UserExists } from '../../domain/errors.js';
import { ROLES, leavesActiveSuperadmin } from '../../domain/user.js';
import type { Role, User, UserStatus } from '../../domain/user.js';
import { isSqlite, throughKnex } from './statements.js';
import type { Statements } from './statements.js';
import { guarded, isUniqueViolation } from './sql-errors.js';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from './timestamps.js';

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  password_hash: string;
  role: string;
  org_id: string;
  status: string;
  created_at: unknown;
  last_login_at: unknown;
}

/**
 * The columns read, named: a prepared statement keeps its result shape, so a column a
 * later migration adds must not change what it returns (PostgreSQL refuses that).
 */
const USER_COLUMNS = ['id', 'email', 'display_name', 'password_hash', 'role', 'org_id', 'status', 'created_at', 'last_login_at'] as const;

/** Users in pico-auth's `users` table (SQLite or PostgreSQL); the hot reads are prepared. */
export class SqlUserStore implements UserStore {
  readonly #byId;
  readonly #byEmail;
  readonly #recordLogin: (id: string, at: string, passwordHash: string) => Promise<boolean>;

  constructor(
    private readonly db: Knex,
    statements: Statements = throughKnex,
  ) {
    this.#byId = statements.row<UserRow>((arg) => db('users').select(USER_COLUMNS).where({ id: arg(0) }));
    this.#byEmail = statements.row<UserRow>((arg) => db('users').select(USER_COLUMNS).where({ email: arg(0) }));
    this.#recordLogin = loginRecorder(db, statements);
  }

  create(user: User): Promise<void> {
    return guarded(async () => {
      try {
        await this.db('users').insert(toRow(user));
      } catch (error) {
        if (isUniqueViolation(error)) throw new UserExists();
        throw error;
      }
    });
  }

  findById(id: string): Promise<User | undefined> {
    if (holdsNul(id)) return Promise.resolve(undefined);
    return guarded(async () => fromRow(await this.#byId(id)));
  }

  findByEmail(email: string): Promise<User | undefined> {
    if (holdsNul(email)) return Promise.resolve(undefined);
    return guarded(async () => fromRow(await this.#byEmail(email)));
  }

  list(page: { limit: number; offset: number; orgId?: string | undefined }): Promise<{ users: User[]; total: number }> {
    return guarded(async () => {
      const scope = (query: Knex.QueryBuilder) => (page.orgId === undefined ? query : query.where({ org_id: page.orgId }));
      const rows: UserRow[] = await scope(this.db('users'))
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .limit(page.limit)
        .offset(page.offset);
      const [counted] = await scope(this.db('users')).count({ total: '*' });
      return { users: rows.map((row) => fromRow(row) as User), total: Number(counted?.total ?? 0) };
    });
  }

  countActive(role: Role): Promise<number> {
    return guarded(async () => {
      const [counted] = await this.db('users').where({ role, status: 'active' }).count({ total: '*' });
      return Number(counted?.total ?? 0);
    });
  }

  updateRole(id: string, role: Role, expected?: Role): Promise<boolean> {
    return guarded(() =>
      this.db.transaction(async (trx) => {
        // Lock every superadmin row (PostgreSQL; SQLite serializes writers anyway), so
        // two concurrent demotions cannot both see "another active superadmin is left".
        const superadmins: { id: string; status: UserStatus }[] = await trx('users').where({ role: 'superadmin' }).select('id', 'status').forUpdate();
        const demotes = role !== 'superadmin' && superadmins.some((superadmin) => superadmin.id === id);
        if (demotes && !leavesActiveSuperadmin(superadmins, id)) return false;
        const changed = await trx('users').where(expected === undefined ? { id } : { id, role: expected }).update({ role });
        return changed === 1;
      }),
    );
  }

  updatePasswordHash(id: string, passwordHash: string, replacing: string): Promise<boolean> {
    return guarded(async () => {
      const changed = await this.db('users').where({ id, password_hash: replacing }).update({ password_hash: passwordHash });
      return changed === 1;
    });
  }

  recordLogin(id: string, at: Date, passwordHash: string): Promise<boolean> {
    return guarded(() => this.#recordLogin(id, toDbTime(at), passwordHash));
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await this.db.raw('select 1');
    });
  }
}

function toRow(user: User): UserRow {
  return {
    id: user.id,
    email: user.email,
    display_name: user.displayName,
    password_hash: user.passwordHash,
    role: user.role,
    org_id: user.orgId,
    status: user.status,
    created_at: toDbTime(user.createdAt),
    last_login_at: user.lastLoginAt ? toDbTime(user.lastLoginAt) : null,
  };
}

/**
 * Every login writes its time, if the hash it verified is still the user's (one statement,
 * the compare and the write together): on SQLite a prepared update, committed with the
 * others of its tick.
 */
function loginRecorder(db: Knex, statements: Statements) {
  const build = (id: string, at: string, passwordHash: string) => db('users').where({ id, password_hash: passwordHash }).update({ last_login_at: at });
  if (!isSqlite(statements)) return async (id: string, at: string, passwordHash: string) => (await build(id, at, passwordHash)) === 1;
  const update = statements.write((arg) => build(arg(0), arg(1), arg(2)));
  return (id: string, at: string, passwordHash: string) => statements.transaction(() => update(id, at, passwordHash) === 1);
}

function fromRow(row: UserRow | undefined): User | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    // Unknown values from a hand-edited database are treated as the least privilege.
    role: ROLES.find((role) => role === row.role) ?? 'viewer',
    orgId: row.org_id,
    status: (row.status === 'active' ? 'active' : 'suspended') as UserStatus,
    createdAt: fromDbTime(row.created_at),
    lastLoginAt: fromDbTimeOrNull(row.last_login_at),
  };
}

/** PostgreSQL's text holds no NUL, so no stored id or email has one (and asking would be its error, a 500). */
function holdsNul(value: string): boolean {
  return value.includes('\u0000');
}
