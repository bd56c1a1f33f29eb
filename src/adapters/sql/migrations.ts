import type { Knex } from 'knex';
import { canonicalEmail } from '../../domain/email.js';

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
  /** `transaction: false` runs the migration outside a transaction (Knex's own option). */
  config?: { transaction: boolean };
}

/**
 * Versioned migrations, one code path for SQLite and PostgreSQL. They create a fresh
 * schema, or upgrade a Python pico-auth 0.1 database in place (SPEC §5b).
 */
export const MIGRATIONS: Migration[] = [
  {
    // pico-auth's `users` table, created only if it is not there already.
    name: '001_users',
    async up(db) {
      if (await db.schema.hasTable('users')) return;
      await db.schema.createTable('users', (table) => {
        table.string('id', 36).primary();
        table.string('email', 255).notNullable().unique({ indexName: 'ix_users_email' });
        table.string('display_name', 255).notNullable();
        table.string('password_hash', 255).notNullable();
        table.string('role', 50).notNullable();
        table.string('org_id', 100).notNullable();
        table.string('status', 50).notNullable();
        table.timestamp('created_at', { useTz: true }).notNullable();
        table.timestamp('last_login_at', { useTz: true }).nullable();
      });
    },
    async down(db) {
      await db.schema.dropTableIfExists('users');
    },
  },
  {
    // pico-auth stored emails as typed; lookups now use the canonical spelling.
    name: '002_canonical_emails',
    async up(db) {
      const rows: { id: string; email: string }[] = await db('users').select('id', 'email');
      const owners = new Map<string, string>();
      for (const { email } of rows) {
        const canonical = canonicalEmail(email);
        const other = owners.get(canonical);
        if (other !== undefined) {
          throw new Error(`Cannot migrate: users ${JSON.stringify(other)} and ${JSON.stringify(email)} differ only by case or spelling; merge or rename one, then start again`);
        }
        owners.set(canonical, email);
      }
      for (const { id, email } of rows) {
        if (canonicalEmail(email) !== email) await db('users').where({ id }).update({ email: canonicalEmail(email) });
      }
    },
    async down() {},
  },
  {
    // pico-auth's refresh tokens are plain SHA-256 with no families: dropped, so each
    // user logs in once more.
    name: '003_refresh_token_families',
    async up(db) {
      await db.schema.dropTableIfExists('refresh_tokens');
      await db.schema.createTable('refresh_tokens', (table) => {
        table.string('token_hash', 64).primary();
        table.string('family_id', 36).notNullable().index('ix_refresh_tokens_family_id');
        table.string('user_id', 36).notNullable().index('ix_refresh_tokens_user_id');
        table.timestamp('expires_at', { useTz: true }).notNullable();
        table.timestamp('created_at', { useTz: true }).notNullable();
        table.timestamp('consumed_at', { useTz: true }).nullable();
        table.timestamp('revoked_at', { useTz: true }).nullable();
      });
    },
    async down(db) {
      await db.schema.dropTableIfExists('refresh_tokens');
    },
  },
  {
    // Keeps the admin list and the last-superadmin check index-backed.
    name: '004_user_indexes',
    async up(db) {
      await db.schema.alterTable('users', (table) => {
        table.index(['org_id', 'created_at'], 'ix_users_org_id_created_at');
        table.index(['role'], 'ix_users_role');
        table.index(['created_at'], 'ix_users_created_at');
      });
    },
    async down(db) {
      await db.schema.alterTable('users', (table) => {
        table.dropIndex(['org_id', 'created_at'], 'ix_users_org_id_created_at');
        table.dropIndex(['role'], 'ix_users_role');
        table.dropIndex(['created_at'], 'ix_users_created_at');
      });
    },
  },
  {
    // "Is any token of this family revoked?" runs on every refresh. With family_id alone
    // it read the whole family, which grows by one token per rotation; with revoked_at
    // in the index it is one seek, however long the session has lived. On PostgreSQL the
    // index is built CONCURRENTLY, so a large token table stays writable meanwhile; that
    // cannot run inside a transaction, and a run cut short is simply run again.
    name: '005_family_revocation_index',
    config: { transaction: false },
    async up(db) {
      await replaceIndex(db, { drop: 'ix_refresh_tokens_family_id', create: 'ix_refresh_tokens_family_id_revoked_at', columns: 'family_id, revoked_at' });
    },
    async down(db) {
      await replaceIndex(db, { drop: 'ix_refresh_tokens_family_id_revoked_at', create: 'ix_refresh_tokens_family_id', columns: 'family_id' });
    },
  },
];

/** Builds `create` on refresh_tokens, then drops `drop`; a half-built `create` from an earlier try is rebuilt. */
async function replaceIndex(db: Knex, index: { drop: string; create: string; columns: string }): Promise<void> {
  const concurrently = (db.client as { dialect: string }).dialect === 'postgresql' ? 'concurrently ' : '';
  await db.raw(`drop index ${concurrently}if exists ${index.create}`);
  await db.raw(`create index ${concurrently}${index.create} on refresh_tokens (${index.columns})`);
  await db.raw(`drop index ${concurrently}if exists ${index.drop}`);
}
