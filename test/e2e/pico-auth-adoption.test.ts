/**
 * The drop-in story, end to end (SPEC §5b, §6): a database and a key directory exactly as
 * Python pico-auth 0.1 leaves them are handed to the real server, which must upgrade the
 * database in place, keep every user's password working, and keep signing with the
 * original key.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import argon2 from 'argon2';
import nativeBcrypt from 'bcrypt';
import bcrypt from 'bcryptjs';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/adapters/config/config.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { startPicoAuth } from '../../src/main.js';
import type { PicoAuth } from '../../src/main.js';
import { get, send } from '../support/server.js';
import { expectError } from '../support/flows.js';
import { capturingLogger } from '../security/support.js';

/** The slice of better-sqlite3 used here (the package ships no type declarations). */
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): { run(...params: unknown[]): unknown; get(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string, options?: { fileMustExist?: boolean }) => SqliteDatabase;

/** pico-auth 0.1's schema, verbatim from SPEC §5b. */
const PICO_AUTH_DDL = `
CREATE TABLE users (
  id VARCHAR(36) NOT NULL PRIMARY KEY, email VARCHAR(255) NOT NULL,
  display_name VARCHAR(255) NOT NULL, password_hash VARCHAR(255) NOT NULL,
  role VARCHAR(50) NOT NULL, org_id VARCHAR(100) NOT NULL, status VARCHAR(50) NOT NULL,
  created_at VARCHAR(50) NOT NULL, last_login_at VARCHAR(50));
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE refresh_tokens (
  id VARCHAR(36) NOT NULL PRIMARY KEY, user_id VARCHAR(36) NOT NULL,
  token_hash VARCHAR(64) NOT NULL, expires_at VARCHAR(50) NOT NULL,
  created_at VARCHAR(50) NOT NULL);
CREATE INDEX ix_refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE UNIQUE INDEX ix_refresh_tokens_token_hash ON refresh_tokens (token_hash);
`;

const ISSUER = 'http://localhost:8100';
const AUDIENCE = 'pico-bot';

interface LegacyUser {
  id: string;
  email: string;
  display_name: string;
  password_hash: string;
  role: string;
  org_id: string;
  status: string;
  created_at: string;
  last_login_at: string | null;
}

/** pico-auth: `uuid4().hex[:12]`. */
function picoId(): string {
  return randomBytes(6).toString('hex');
}

/** pico-auth: `datetime.now(timezone.utc).isoformat()`. */
function picoTime(date: Date): string {
  return date.toISOString().replace('Z', '456+00:00');
}

/** pico-auth: `bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(12))`. */
function picoHash(password: string, cost = 12): string {
  const cut = Buffer.from(password, 'utf8').subarray(0, 72).toString('utf8');
  return bcrypt.hashSync(cut, bcrypt.genSaltSync(cost));
}

function legacyUser(fields: Partial<LegacyUser> & Pick<LegacyUser, 'email' | 'password_hash'>): LegacyUser {
  return {
    id: picoId(),
    display_name: fields.email.split('@')[0] ?? 'user',
    role: 'viewer',
    org_id: 'default',
    status: 'active',
    created_at: '2026-02-20T10:15:30.123456+00:00',
    last_login_at: null,
    ...fields,
  };
}

/** Builds the database file as pico-auth 0.1 would have left it. */
function createPicoAuthDatabase(path: string, users: LegacyUser[], refreshTokens: { userId: string; rawToken: string }[]): void {
  const db = new Database(path);
  try {
    db.exec(PICO_AUTH_DDL);
    const insertUser = db.prepare(
      `INSERT INTO users (id, email, display_name, password_hash, role, org_id, status, created_at, last_login_at)
       VALUES (@id, @email, @display_name, @password_hash, @role, @org_id, @status, @created_at, @last_login_at)`,
    );
    for (const user of users) insertUser.run(user);
    const insertToken = db.prepare('INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?)');
    for (const { userId, rawToken } of refreshTokens) {
      insertToken.run(
        picoId(),
        userId,
        createHash('sha256').update(rawToken).digest('hex'),
        picoTime(new Date(Date.now() + 7 * 86_400_000)),
        picoTime(new Date()),
      );
    }
  } finally {
    db.close();
  }
}

/** pico-auth's key directory: `private.pem` (PKCS#8, RSA 2048) and `public.pem` (SPKI). */
function createPicoAuthKeys(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(join(dir, 'private.pem'), privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'public.pem'), publicKey, { mode: 0o644 });
}

/** Opens the SQLite file directly (the server may hold it open too: WAL allows that). */
function withDb<T>(path: string, read: (db: SqliteDatabase) => T): T {
  const db = new Database(path, { fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function columnsOf(db: SqliteDatabase, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).all(table) as { name: string }[]).map((c) => c.name);
}

function hashOf(path: string, id: string): string {
  return withDb(path, (db) => (db.prepare('SELECT password_hash FROM users WHERE id = ?').get(id) as { password_hash: string }).password_hash);
}

/** RFC 7638: SHA-256 over the required members, in lexicographic order, no whitespace. */
function rsaThumbprint(publicPem: string): string {
  const jwk = createPublicKey(publicPem).export({ format: 'jwk' });
  return createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
}

async function start(dir: string, env: Record<string, string>): Promise<PicoAuth> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }, dir);
  return startPicoAuth(config, createLogger(config.log.level), dir);
}

describe('adopting a pico-auth 0.1 SQLite database and key directory', () => {
  const ADMIN_PASSWORD = 'the old admin password';
  const BOB_PASSWORD = 'bob-original-password';
  const CAROL_PASSWORD = 'carol says hi';
  // 36 × "é" is exactly 72 UTF-8 bytes (but 36 characters); the tail is beyond bcrypt's reach.
  const LONG_PASSWORD = `${'é'.repeat(36)}and-this-tail-bcrypt-never-saw`;
  const HEAVY_PASSWORD = 'heavy-user-password';
  const OPS_PASSWORD = 'ops-team-password';
  const OLD_REFRESH_TOKEN = randomBytes(32).toString('base64url');

  let dir: string;
  let dbPath: string;
  let keysDir: string;
  let keyFiles: Map<string, Buffer>;
  let server: PicoAuth | undefined;
  let api: string;

  const admin = legacyUser({ email: 'Admin@Pico.Local', password_hash: picoHash(ADMIN_PASSWORD), role: 'superadmin', display_name: 'Administrator' });
  const bob = legacyUser({ email: 'Bob@Example.COM', password_hash: picoHash(BOB_PASSWORD), last_login_at: '2026-02-21T08:00:00.000001+00:00' });
  const carol = legacyUser({ email: 'carol@example.com', password_hash: picoHash(CAROL_PASSWORD), role: 'operator', org_id: 'acme' });
  const long = legacyUser({ email: 'Long@Example.com', password_hash: picoHash(LONG_PASSWORD) });
  // A cost-4 hash of the right password with its cost forged to 16: refused, never computed.
  const heavy = legacyUser({ email: 'heavy@example.com', password_hash: picoHash(HEAVY_PASSWORD, 4).replace(/^\$2b\$04\$/, '$2b$16$') });
  // pico-auth took any string as an email; registration would refuse this one today.
  const ops = legacyUser({ email: 'Ops@Intranet', password_hash: picoHash(OPS_PASSWORD) });
  const legacyUsers = [admin, bob, carol, long, heavy, ops];

  const login = (email: string, password: string) => send(`${api}/login`, { email, password });

  async function serve(databaseUrl: string): Promise<void> {
    server = await start(dir, {
      DATABASE_URL: databaseUrl,
      AUTH_DATA_DIR: keysDir,
      // The existing admin, spelled differently: it must be found, not created again.
      AUTH_ADMIN_EMAIL: 'ADMIN@pico.local',
    });
    api = `http://127.0.0.1:${server.port}/api/v1/auth`;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pico-auth-adopt-'));
    dbPath = join(dir, 'auth.db');
    keysDir = join(dir, 'keys');
    createPicoAuthKeys(keysDir);
    keyFiles = new Map(readdirSync(keysDir).map((name) => [name, readFileSync(join(keysDir, name))]));
    createPicoAuthDatabase(dbPath, legacyUsers, [{ userId: bob.id, rawToken: OLD_REFRESH_TOKEN }]);
    // SQLAlchemy's spelling, relative to the working directory the server is given.
    await serve('sqlite:///auth.db');
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('upgrades the database in place: lower-cased emails, new refresh_tokens table, old tokens gone, hashes untouched', () => {
    withDb(dbPath, (db) => {
      const rows = db.prepare('SELECT * FROM users ORDER BY id').all() as LegacyUser[];
      expect(rows).toHaveLength(legacyUsers.length); // no admin was created beside the existing one
      const expected = legacyUsers.map((user) => ({ ...user, email: user.email.toLowerCase() })).sort((a, b) => a.id.localeCompare(b.id));
      expect(rows).toEqual(expected);

      expect(columnsOf(db, 'refresh_tokens')).toEqual(expect.arrayContaining(['token_hash', 'family_id', 'user_id', 'consumed_at', 'revoked_at']));
      expect(columnsOf(db, 'refresh_tokens')).not.toContain('id');
      expect(db.prepare('SELECT count(*) AS n FROM refresh_tokens').get()).toEqual({ n: 0 });
    });
    // Nothing else was created: the migration worked on this file, not on one elsewhere.
    expect(readdirSync(dir).filter((name) => !name.startsWith('auth.db')).sort()).toEqual(['keys']);
  });

  it('refuses the refresh token pico-auth had issued (users log in once more)', async () => {
    const response = await send(`${api}/refresh`, { refresh_token: OLD_REFRESH_TOKEN });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_token');
  });

  it('lets an existing user log in with the original password and either spelling of the email, then re-hashes to argon2id', async () => {
    expect(hashOf(dbPath, bob.id)).toMatch(/^\$2b\$12\$/);

    const first = await login('Bob@Example.COM', BOB_PASSWORD);
    expect(first.status).toBe(200);
    expect(first.body.token_type).toBe('Bearer');
    const rehashed = hashOf(dbPath, bob.id);
    expect(rehashed).toMatch(/^\$argon2id\$/);

    const again = await login('bob@example.com', BOB_PASSWORD);
    expect(again.status).toBe(200);
    expect(hashOf(dbPath, bob.id)).toBe(rehashed); // not re-hashed once more

    const wrong = await login('bob@example.com', 'not-bobs-password');
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');

    const me = await get(`${api}/me`, again.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: bob.id,
      email: 'bob@example.com',
      display_name: bob.display_name,
      role: 'viewer',
      org_id: 'default',
      status: 'active',
      created_at: '2026-02-20T10:15:30.123Z',
    });
  });

  it('signs in a user whose address registration would refuse today, as pico-auth stored it', async () => {
    const response = await login('ops@intranet', OPS_PASSWORD);
    expect(response.status).toBe(200);
    const me = await get(`${api}/me`, response.body.access_token);
    expect(me.body).toMatchObject({ id: ops.id, email: 'ops@intranet' });
    expectError(await login('ops@intranet', 'not-the-ops-password'), 401, 'invalid_credentials');
  });

  it('keeps pico-auth timestamps readable next to the ones it writes', async () => {
    expect((await login('carol@example.com', CAROL_PASSWORD)).status).toBe(200);
    const lastLogin = withDb(dbPath, (db) => (db.prepare('SELECT last_login_at FROM users WHERE id = ?').get(carol.id) as { last_login_at: string }).last_login_at);
    expect(lastLogin).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });

  it('signs with the original key: tokens verify against the original public.pem, kid is its RFC 7638 thumbprint', async () => {
    const response = await login('admin@pico.local', ADMIN_PASSWORD);
    expect(response.status).toBe(200);
    const token: string = response.body.access_token;
    const publicPem = readFileSync(join(keysDir, 'public.pem'), 'utf8');

    const { payload, protectedHeader } = await jwtVerify(token, await importSPKI(publicPem, 'RS256'), {
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: rsaThumbprint(publicPem) });
    expect(payload).toMatchObject({ sub: admin.id, email: 'admin@pico.local', role: 'superadmin', org_id: 'default', aud: AUDIENCE, iss: ISSUER });
    expect(typeof payload.jti).toBe('string');

    const jwks = await get(`${api}/jwks`);
    expect(jwks.status).toBe(200);
    const published = createPublicKey({ key: jwks.body.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    expect(published).toBe(publicPem);
    expect(jwks.body.keys[0]).toMatchObject({ kid: decodeProtectedHeader(token).kid, use: 'sig', alg: 'RS256', kty: 'RSA' });
  });

  it('accepts a password longer than 72 bytes in full, and keeps its bcrypt hash (the match is ambiguous)', async () => {
    expect(Buffer.byteLength(LONG_PASSWORD, 'utf8')).toBeGreaterThan(72);
    expect(LONG_PASSWORD.length).toBeLessThan(72); // counted in bytes, not characters

    const response = await login('long@example.com', LONG_PASSWORD);
    expect(response.status).toBe(200);
    expect(hashOf(dbPath, long.id)).toBe(long.password_hash);

    expect((await login('long@example.com', LONG_PASSWORD)).status).toBe(200);
    expect(hashOf(dbPath, long.id)).toBe(long.password_hash);
  });

  it('refuses a bcrypt hash of cost above 15 rather than computing it', async () => {
    const response = await login('heavy@example.com', HEAVY_PASSWORD);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_credentials');
    expect(hashOf(dbPath, heavy.id)).toBe(heavy.password_hash);
  });

  it('answers a failed login with the same work whether the account is unknown, still bcrypt, or re-hashed', async () => {
    expect((await login('bob@example.com', BOB_PASSWORD)).status).toBe(200); // re-hashed to argon2id by now
    const argon2Verify = vi.spyOn(argon2, 'verify');
    const bcryptCompare = vi.spyOn(nativeBcrypt, 'compare');
    expect(hashOf(dbPath, long.id)).toMatch(/^\$2b\$12\$/); // still bcrypt: its match is ambiguous, so never re-hashed
    try {
      for (const email of ['nobody@example.com', 'long@example.com', 'bob@example.com']) {
        argon2Verify.mockClear();
        bcryptCompare.mockClear();
        const response = await login(email, 'a wrong guess');
        expect(response.status, email).toBe(401);
        expect(argon2Verify, email).toHaveBeenCalledTimes(1);
        expect(bcryptCompare, email).toHaveBeenCalledTimes(1);
        // pico-auth's cost: the dummy costs what long's real hash does.
        expect(bcryptCompare.mock.calls[0]?.[1], email).toMatch(/^\$2[aby]\$12\$/);
      }
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('leaves the key directory byte for byte as it was', () => {
    expect(readdirSync(keysDir).sort()).toEqual([...keyFiles.keys()].sort());
    for (const [name, bytes] of keyFiles) expect(readFileSync(join(keysDir, name)).equals(bytes), name).toBe(true);
  });

  it.each([
    ['pico-auth\'s own URL', () => 'sqlite+aiosqlite:///auth.db'],
    ['an absolute SQLAlchemy path', () => `sqlite:///${dbPath}`],
    ['a plain path', () => `sqlite:${dbPath}`],
  ])('serves the same adopted file again after a restart, given %s', async (_, url) => {
    await server?.stop();
    server = undefined;
    await serve(url());

    expect((await login('BOB@example.com', BOB_PASSWORD)).status).toBe(200);
    expect((await login('admin@pico.local', ADMIN_PASSWORD)).status).toBe(200);
    expect(withDb(dbPath, (db) => db.prepare('SELECT count(*) AS n FROM users').get())).toEqual({ n: legacyUsers.length });
    for (const [name, bytes] of keyFiles) expect(readFileSync(join(keysDir, name)).equals(bytes), name).toBe(true);
  });
});

describe('adopting a pico-auth database whose emails differ only by case', () => {
  let dir: string;

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start, names both emails, and changes nothing in the database', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pico-auth-adopt-clash-'));
    const dbPath = join(dir, 'auth.db');
    const ann = legacyUser({ email: 'Ann@x.io', password_hash: picoHash('ann-password-1', 4) });
    const ann2 = legacyUser({ email: 'ann@x.io', password_hash: picoHash('ann-password-2', 4) });
    createPicoAuthDatabase(dbPath, [ann, ann2], [{ userId: ann.id, rawToken: 'an-old-pico-auth-refresh-token' }]);

    const snapshot = () =>
      withDb(dbPath, (db) => ({
        schema: db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'knex%' AND name <> 'sqlite_sequence' ORDER BY name").all(),
        users: db.prepare('SELECT * FROM users ORDER BY id').all(),
        refreshTokens: db.prepare('SELECT * FROM refresh_tokens ORDER BY id').all(),
      }));
    const before = snapshot();

    const failure = await start(dir, {
      DATABASE_URL: 'sqlite:///auth.db',
      AUTH_DATA_DIR: join(dir, 'keys'),
      AUTH_AUTO_CREATE_ADMIN: 'false',
    }).then(
      async (running) => {
        await running.stop();
        return undefined;
      },
      (error: unknown) => error as Error,
    );

    expect(failure).toBeInstanceOf(Error);
    expect(failure?.message).toContain('Ann@x.io');
    expect(failure?.message).toContain('ann@x.io');

    const after = snapshot();
    expect(after).toEqual(before);
    expect(after.users).toHaveLength(2);
    expect(after.refreshTokens).toHaveLength(1);
    withDb(dbPath, (db) => expect(columnsOf(db, 'refresh_tokens')).toEqual(['id', 'user_id', 'token_hash', 'expires_at', 'created_at']));

    // Once the operator merges the two accounts, the same file starts and migrates.
    withDb(dbPath, (db) => db.prepare('DELETE FROM users WHERE id = ?').run(ann2.id));
    const running = await start(dir, { DATABASE_URL: 'sqlite:///auth.db', AUTH_DATA_DIR: join(dir, 'keys'), AUTH_AUTO_CREATE_ADMIN: 'false' });
    try {
      const response = await send(`http://127.0.0.1:${running.port}/api/v1/auth/login`, { email: 'ANN@x.io', password: 'ann-password-1' });
      expect(response.status).toBe(200);
      withDb(dbPath, (db) => expect(db.prepare('SELECT email FROM users').all()).toEqual([{ email: 'ann@x.io' }]));
    } finally {
      await running.stop();
    }
  });
});

describe("adopting a pico-auth database whose admin still has pico-auth's default password", () => {
  let dir: string;

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('warns at start-up and at each of its logins, and still lets the admin in to change it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pico-auth-adopt-default-'));
    const admin = legacyUser({ email: 'admin@pico.local', password_hash: picoHash('admin', 4), role: 'superadmin' });
    createPicoAuthDatabase(join(dir, 'auth.db'), [admin], []);
    const capture = capturingLogger();
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: 'sqlite:///auth.db', AUTH_DATA_DIR: join(dir, 'keys') }, dir);
    const running = await startPicoAuth(config, capture.logger, dir);
    try {
      // Checked beside start-up, not before it: it costs a failed login's hashing.
      const warning = "The admin admin@pico.local still has pico-auth's default password: change it now (POST /api/v1/auth/me/password)";
      const warned = () =>
        capture.lines.map((line) => JSON.parse(line) as { level: number; msg: string }).some((line) => line.level === 40 && line.msg === warning);
      await vi.waitFor(() => expect(warned()).toBe(true), { timeout: 10_000 });

      const response = await send(`http://127.0.0.1:${running.port}/api/v1/auth/login`, { email: 'admin@pico.local', password: 'admin' });
      expect(response.status).toBe(200);
      const audit = capture.lines.map((line) => JSON.parse(line) as { audit?: string; userId?: string }).filter((line) => line.audit === 'login_weak_password');
      expect(audit).toMatchObject([{ userId: admin.id }]);
    } finally {
      await running.stop();
    }
  });
});
