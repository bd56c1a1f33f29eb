import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, parseDatabaseUrl } from '../../src/adapters/sql/database.js';
import { postgresIntegration, redisIntegration } from '../support/integration.js';
import { spawnServer, tempDir } from '../support/process.js';
import type { ServerProcess } from '../support/process.js';
import { send, uniqueEmail } from '../support/server.js';
import { start as startProxy } from '../support/tcp-proxy.js';

// A crash in the middle of password changes (SIGKILL, then restart) must never leave a
// new password working beside a session opened before it was set (SPEC §5 "Changing a
// password … revokes every refresh token of that user").
//
// The dangerous instant is right after the new hash is written. Rather than hope a random
// kill lands there, the test watches the users table from outside and kills the server the
// moment a new hash appears that the server has not yet confirmed to its client.

const PASSWORDS = ['crash-Alpha-Pass-4471', 'crash-Bravo-Pass-8813'] as const;
const USERS = 8;
const ROUNDS = 2;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const postgres = await postgresIntegration();
const redis = await redisIntegration();

interface Shape {
  name: string;
  env(dir: string): Promise<Record<string, string>>;
}

const sqlite: Shape = { name: 'sqlite', env: async (dir) => ({ DATABASE_URL: `sqlite:${join(dir, 'auth.db')}` }) };
/**
 * Users in PostgreSQL, refresh tokens in Redis: a password change spans two systems.
 * Redis is reached through a proxy adding 25 ms each way, as over a real network, so a
 * revocation that came only after the write would still be pending when the kill lands.
 */
const production: Shape = {
  name: 'postgres+redis',
  env: async () => {
    const [database, keys] = await Promise.all([postgres.fresh(), redis.fresh()]);
    const target = new URL(keys.url);
    const slowRedis = await startProxy(target.hostname, Number(target.port || 6379), { latencyMs: 25 });
    cleanups.push(database.close, keys.close, slowRedis.close);
    target.hostname = '127.0.0.1';
    target.port = String(slowRedis.port);
    return { DATABASE_URL: database.url, REDIS_URL: target.toString(), REDIS_PREFIX: keys.prefix };
  },
};
const shapes = [sqlite, ...(postgres.available && redis.available ? [production] : [])];

/** What the test knows of one user when the server dies. */
interface UserRecord {
  email: string;
  /** The password of the last change the server confirmed (or the first one). */
  current: string;
  /** Refresh tokens issued before a change the server confirmed: all must be dead. */
  stale: string[];
  /** Changes sent so far. */
  changes: number;
  /** The change sent but not confirmed (number `seq`), with a refresh token issued just before it. */
  inFlight: { seq: number; to: string; refreshBefore: string } | undefined;
}

type ReadHashes = (emails: string[]) => Promise<Map<string, string>>;

describe.each(shapes.map((shape) => [shape.name, shape] as const))('SIGKILL during password changes (%s)', (_name, shape) => {
  async function startServer(env: Record<string, string>): Promise<ServerProcess> {
    const server = await spawnServer(env);
    cleanups.push(async () => {
      if (server.child.exitCode === null && server.child.signalCode === null) await server.kill('SIGKILL');
    });
    return server;
  }

  it('never leaves the new password working with a refresh token issued before the change', { timeout: 60_000 }, async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const env: Record<string, string> = { ...(await shape.env(dir)), AUTH_DATA_DIR: join(dir, 'keys'), AUTH_IP_RATE_LIMIT: '0', LOG_LEVEL: 'warn' };
    let server = await startServer(env);
    const db: Knex = openDatabase(parseDatabaseUrl(env.DATABASE_URL ?? '', dir), { max: 1 });
    cleanups.push(() => db.destroy());
    const readHashes: ReadHashes = async (emails) => {
      const rows: { email: string; password_hash: string }[] = await db('users').whereIn('email', emails).select('email', 'password_hash');
      return new Map(rows.map((row) => [row.email, row.password_hash]));
    };

    for (let round = 0; round < ROUNDS; round++) {
      const users = await registerUsers(server);
      const caught = await churnUntilKilled(server, users, readHashes);
      expect(caught, 'a kill right after a new hash was written').toBeDefined();
      server = await startServer(env);
      await expectNoSessionOutlivesItsPassword(server, users);
      // The kill did land after the write: the victim's new password is the one that works.
      const victim = caught as UserRecord;
      expect((await send(`${server.api}/login`, { email: victim.email, password: victim.inFlight?.to ?? victim.current })).status).toBe(200);
    }
  });
});

async function registerUsers(server: ServerProcess): Promise<UserRecord[]> {
  return Promise.all(
    Array.from({ length: USERS }, async () => {
      const email = uniqueEmail('crash');
      expect((await send(`${server.api}/register`, { email, password: PASSWORDS[0] })).status).toBe(201);
      return { email, current: PASSWORDS[0], stale: [], changes: 0, inFlight: undefined };
    }),
  );
}

/**
 * Every user logs in and changes its password to the other one, again and again, until
 * a new hash shows up in the database for a change the server has not answered yet: then
 * the server is SIGKILLed. Resolves with that user (undefined if none showed up in 10 s,
 * in which case the kill came then).
 */
async function churnUntilKilled(server: ServerProcess, users: UserRecord[], readHashes: ReadHashes): Promise<UserRecord | undefined> {
  let stopped = false;
  const churn = async (user: UserRecord) => {
    while (!stopped) {
      const session = await send(`${server.api}/login`, { email: user.email, password: user.current }).catch(() => undefined);
      if (session?.status !== 200) return;
      const to = user.current === PASSWORDS[0] ? PASSWORDS[1] : PASSWORDS[0];
      user.inFlight = { seq: ++user.changes, to, refreshBefore: session.body.refresh_token };
      const changed = await send(`${server.api}/me/password`, { old_password: user.current, new_password: to }, { token: session.body.access_token }).catch(
        () => undefined,
      );
      if (changed?.status !== 200) return; // the server died with this change in flight
      user.stale.push(session.body.refresh_token);
      user.current = to;
      user.inFlight = undefined;
    }
  };
  const loops = users.map(churn);
  const victim = await watchForUnconfirmedWrite(users, readHashes, 10_000);
  expect(await server.kill('SIGKILL')).toBe('SIGKILL');
  stopped = true;
  await Promise.all(loops);
  return victim;
}

/**
 * Polls the users' hashes. A hash that changed between two reads both taken while the
 * same change was in flight (and still is) was written by that change, which the server
 * has not confirmed yet: the moment to kill. (The change before it had been confirmed,
 * hence written, before the first of the two reads began.)
 */
async function watchForUnconfirmedWrite(users: UserRecord[], readHashes: ReadHashes, giveUpMs: number): Promise<UserRecord | undefined> {
  const emails = users.map((user) => user.email);
  const snapshot = async () => {
    const inFlight = users.map((user) => user.inFlight?.seq);
    const hashes = await readHashes(emails);
    return users.map((user, i) => ({ seq: inFlight[i], hash: hashes.get(user.email) }));
  };
  const deadline = Date.now() + giveUpMs;
  let previous = await snapshot();
  while (Date.now() < deadline) {
    // SQLite reads are synchronous: let the churning requests run between two reads.
    await new Promise((resolve) => setImmediate(resolve));
    const current = await snapshot();
    const victim = users.find((user, i) => {
      const before = previous[i];
      const now = current[i];
      return before?.seq !== undefined && before.seq === now?.seq && before.hash !== now.hash && user.inFlight?.seq === before.seq;
    });
    if (victim) return victim;
    previous = current;
  }
  return undefined;
}

async function expectNoSessionOutlivesItsPassword(server: ServerProcess, users: UserRecord[]): Promise<void> {
  const loginWith = async (user: UserRecord, password: string) => (await send(`${server.api}/login`, { email: user.email, password })).status;
  const refresh = async (token: string) => (await send(`${server.api}/refresh`, { refresh_token: token })).status;

  for (const user of users) {
    for (const token of user.stale) expect(await refresh(token), `a session from before a confirmed change of ${user.email}`).toBe(401);
    if (!user.inFlight) {
      expect(await loginWith(user, user.current)).toBe(200);
      continue;
    }
    // The change either happened or it did not: exactly one of the two passwords works.
    const newWorks = (await loginWith(user, user.inFlight.to)) === 200;
    const oldWorks = (await loginWith(user, user.current)) === 200;
    expect({ user: user.email, newWorks, oldWorks }).toEqual({ user: user.email, newWorks, oldWorks: !newWorks });
    if (newWorks) {
      expect(await refresh(user.inFlight.refreshBefore), `the session opened before ${user.email}'s last change`).toBe(401);
    }
  }
}
