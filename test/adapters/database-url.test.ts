import { describe, expect, it } from 'vitest';
import { openDatabase, parseDatabaseUrl } from '../../src/adapters/sql/database.js';
import { postgresIntegration } from '../support/integration.js';

// SPEC §2: every spelling of DATABASE_URL pico-auth (SQLAlchemy) users may have.
describe('parseDatabaseUrl', () => {
  const cwd = '/srv/pico';

  it.each([
    ['sqlite:auth.db', '/srv/pico/auth.db'],
    ['sqlite:data/auth.db', '/srv/pico/data/auth.db'],
    ['sqlite:/var/lib/auth.db', '/var/lib/auth.db'],
    ['sqlite:///auth.db', '/srv/pico/auth.db'],
    ['sqlite+aiosqlite:///auth.db', '/srv/pico/auth.db'],
    ['sqlite:////var/lib/auth.db', '/var/lib/auth.db'],
    ['sqlite+aiosqlite:////var/lib/auth.db', '/var/lib/auth.db'],
    ['sqlite::memory:', ':memory:'],
  ])('reads %s as the SQLite file %s', (url, filename) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual({ dialect: 'sqlite', filename });
  });

  it.each([
    ['postgres://app:secret@db:5432/auth', 'postgres://app:secret@db:5432/auth'],
    ['postgresql://app:secret@db:5432/auth', 'postgres://app:secret@db:5432/auth'],
    ['postgresql+asyncpg://app:secret@db:5432/auth', 'postgres://app:secret@db:5432/auth'],
    ['  POSTGRESQL://app@db/auth ', 'postgres://app@db/auth'],
  ])('reads %s as PostgreSQL at %s', (url, normalized) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual({ dialect: 'postgres', url: normalized });
  });

  it.each(['mysql://db/auth', 'auth.db', 'sqlite:', 'sqlite:///'])('refuses %j', (url) => {
    expect(() => parseDatabaseUrl(url, cwd)).toThrow(/DATABASE_URL/);
  });
});

const postgres = await postgresIntegration();

describe.skipIf(!postgres.available)('a pico-auth PostgreSQL URL, as SQLAlchemy spells it', () => {
  it('connects: postgresql+asyncpg:// reaches the same server as postgres://', async () => {
    const { url, close } = await postgres.fresh();
    const db = openDatabase(parseDatabaseUrl(url.replace(/^postgres(ql)?:/, 'postgresql+asyncpg:'), '/'), { max: 1 });
    try {
      const { rows } = await db.raw<{ rows: { database: string }[] }>('select current_database() as database');
      expect(`/${rows[0]?.database}`).toBe(new URL(url).pathname);
    } finally {
      await db.destroy();
      await close();
    }
  });
});
