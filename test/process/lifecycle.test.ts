import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import argon2 from 'argon2';
import { afterEach, describe, expect, it } from 'vitest';
import cores from '../../src/adapters/config/cores.cjs';
import { OWASP_ARGON2ID } from '../../src/adapters/crypto/argon2-hasher.js';
import { openDatabase, parseDatabaseUrl } from '../../src/adapters/sql/database.js';
import { postgresIntegration, redisIntegration } from '../support/integration.js';
import { familiesWithSeveralLiveTokens } from '../support/live-tokens.js';
import { ENTRY, freePort, spawnServer, tempDir, waitFor } from '../support/process.js';
import type { ServerProcess } from '../support/process.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, send, uniqueEmail } from '../support/server.js';
import { stallingProxy } from '../support/stalling-proxy.js';

const PASSWORD = 'process-test-Horse-9182';

interface Shape {
  name: string;
  env(dir: string): Promise<Record<string, string>>;
  /** Families that have more than one live token — must always be empty. */
  overLiveFamilies(env: Record<string, string>, dir: string): Promise<string[]>;
  release(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sqliteShape(): Shape {
  return {
    name: 'sqlite',
    env: async (dir) => ({ DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys') }),
    overLiveFamilies: (env, dir) => overLiveSql(env.DATABASE_URL ?? '', dir),
    release: async () => {},
  };
}

const postgres = await postgresIntegration();
const redis = await redisIntegration();

function productionShape(): Shape {
  const releases: (() => Promise<void>)[] = [];
  return {
    name: 'postgres+redis',
    env: async (dir) => {
      const [database, keys] = await Promise.all([postgres.fresh(), redis.fresh()]);
      releases.push(database.close, keys.close);
      return { DATABASE_URL: database.url, REDIS_URL: keys.url, REDIS_PREFIX: keys.prefix, AUTH_DATA_DIR: join(dir, 'keys') };
    },
    overLiveFamilies: (env) => familiesWithSeveralLiveTokens({ redisUrl: env.REDIS_URL ?? '', prefix: env.REDIS_PREFIX ?? '' }),
    release: async () => {
      for (const release of releases.splice(0)) await release();
    },
  };
}

async function overLiveSql(url: string, dir: string): Promise<string[]> {
  const db = openDatabase(parseDatabaseUrl(url, dir));
  try {
    return await familiesWithSeveralLiveTokens({ db });
  } finally {
    await db.destroy();
  }
}

async function login(api: string, email: string): Promise<{ access_token: string; refresh_token: string }> {
  const reply = await send(`${api}/login`, { email, password: PASSWORD });
  expect(reply.status).toBe(200);
  return reply.body;
}

async function registerAndLogin(api: string) {
  const email = uniqueEmail('proc');
  expect((await send(`${api}/register`, { email, password: PASSWORD })).status).toBe(201);
  return { email, ...(await login(api, email)) };
}

const shapes = [sqliteShape, ...(postgres.available && redis.available ? [productionShape] : [])];

describe.each(shapes.map((make) => [make().name, make] as const))('server process on %s', (_name, makeShape) => {
  async function start(): Promise<{ shape: Shape; env: Record<string, string>; dir: string }> {
    const shape = makeShape();
    const { dir, remove } = tempDir();
    cleanups.push(remove, () => shape.release());
    return { shape, env: { ...(await shape.env(dir)), AUTH_IP_RATE_LIMIT: '0', LOG_LEVEL: 'warn' }, dir };
  }

  function track(server: ServerProcess): ServerProcess {
    cleanups.push(async () => {
      if (server.child.exitCode === null && server.child.signalCode === null) await server.kill('SIGKILL');
    });
    return server;
  }

  it('keeps users, refresh tokens and keys across a restart, and exits 0 on SIGTERM', async () => {
    const { env } = await start();
    const first = track(await spawnServer(env));
    const session = await registerAndLogin(first.api);
    const jwks = (await (await fetch(`${first.api}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(await first.kill('SIGTERM')).toBe(0);

    const second = track(await spawnServer(env));
    const again = await send(`${second.api}/refresh`, { refresh_token: session.refresh_token });
    expect(again.status).toBe(200);
    expect((await send(`${second.api}/login`, { email: session.email, password: PASSWORD })).status).toBe(200);
    const me = await fetch(`${second.api}/me`, { headers: { authorization: `Bearer ${session.access_token}` } });
    expect(me.status).toBe(200);
    const jwksAfter = (await (await fetch(`${second.api}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwksAfter.keys[0]?.kid).toBe(jwks.keys[0]?.kid);
    expect(await second.kill('SIGTERM')).toBe(0);
  });

  it('finishes an in-flight request on SIGTERM, then stops accepting', async () => {
    const { env } = await start();
    const server = track(await spawnServer(env));
    const { email } = await registerAndLogin(server.api);
    const body = JSON.stringify({ email, password: PASSWORD });
    // A request the server has accepted but not yet received in full when the signal lands.
    const request = httpRequest({
      port: server.port,
      host: '127.0.0.1',
      path: '/api/v1/auth/login',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const answered = new Promise<number>((done, fail) => {
      request.on('response', (response) => {
        response.resume();
        done(response.statusCode ?? 0);
      });
      request.on('error', fail);
    });
    request.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 200));
    const exit = server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await expect(fetch(`${server.api}/jwks`)).rejects.toThrow();
    request.end(body.slice(10));
    expect(await answered).toBe(200);
    expect(await exit).toBe(0);
  });

  it('leaves no family with two live tokens when killed in the middle of refreshes', async () => {
    const { shape, env, dir } = await start();
    const server = track(await spawnServer(env));
    const sessions = await Promise.all(Array.from({ length: 6 }, () => registerAndLogin(server.api)));
    let stop = false;
    const chains = sessions.map(async (session) => {
      let token = session.refresh_token;
      while (!stop) {
        const reply = await send(`${server.api}/refresh`, { refresh_token: token }).catch(() => undefined);
        if (reply?.status !== 200) return;
        token = reply.body.refresh_token;
      }
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(await server.kill('SIGKILL')).toBe('SIGKILL');
    stop = true;
    await Promise.all(chains);

    expect(await shape.overLiveFamilies(env, dir)).toEqual([]);
    const restarted = track(await spawnServer(env));
    // Every original token was consumed long ago: presenting one now is reuse, and kills its family.
    for (const session of sessions) {
      const replay = await send(`${restarted.api}/refresh`, { refresh_token: session.refresh_token });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('token_reused');
    }
    expect(await shape.overLiveFamilies(env, dir)).toEqual([]);
  });
});

describe.skipIf(!postgres.available)('start-up with PostgreSQL not answering yet', () => {
  it('waits for the database (SPEC §4), then serves', async () => {
    const database = await postgres.fresh();
    cleanups.push(database.close);
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    // The server's database address answers only once a proxy starts listening there, 2 s after the server.
    const port = await freePort();
    const target = new URL(database.url);
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${port}`;
    const serverPort = await freePort();
    let exited = false;
    const starting = spawnServer({ DATABASE_URL: proxied.toString(), AUTH_DATA_DIR: join(dir, 'keys'), LOG_LEVEL: 'warn' }, serverPort);
    starting.catch(() => (exited = true));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Without its database it neither gives up nor serves.
    expect(exited).toBe(false);
    await expect(fetch(`http://127.0.0.1:${serverPort}/health`)).rejects.toThrow();
    const proxy = await stallingProxy(target, port);
    cleanups.push(proxy.close);
    const server = await starting;
    cleanups.push(async () => void (await server.kill('SIGKILL')));
    await registerAndLogin(server.api);
    expect(await server.kill('SIGTERM')).toBe(0);
  });
});

describe('start-up', () => {
  it('stops with one clear line naming the bad setting', () => {
    const result = spawnSync(process.execPath, [ENTRY], {
      env: { PATH: process.env.PATH ?? '', AUTH_ALGORITHM: 'HS256' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('AUTH_ALGORITHM');
  });

  it('stops at once, without the 30 s wait for a database server, when the SQLite file cannot be opened', () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const result = spawnSync(process.execPath, [ENTRY], {
      env: { PATH: process.env.PATH ?? '', WORKERS: '1', DATABASE_URL: `sqlite:${join(dir, 'missing', 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys') },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    const fatal = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } }).find((line) => line.level === 60);
    // What failed, then why, once: SQLite's own reason follows as the cause's message.
    expect(fatal?.err?.message).toMatch(/^database could not be opened: [^:]*directory does not exist$/);
    expect(fatal?.msg).toMatch(/^pico-auth could not start: database could not be opened: [^:]*directory does not exist$/);
  });

  it('refuses to create the admin with a weak AUTH_ADMIN_PASSWORD, and does not mind it once the admin exists', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const env = { PATH: process.env.PATH ?? '', HOME: dir, WORKERS: '1', DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys') };
    const refused = spawnSync(process.execPath, [ENTRY], { env: { ...env, AUTH_ADMIN_PASSWORD: 'short' }, encoding: 'utf8', timeout: 20_000 });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain('AUTH_ADMIN_PASSWORD is not acceptable');
    expect(refused.stdout).not.toContain('"short"');

    const created = await spawnServer({ ...env, LOG_LEVEL: 'warn' });
    cleanups.push(async () => void (await created.kill('SIGKILL')));
    expect(await created.kill('SIGTERM')).toBe(0);
    const restarted = await spawnServer({ ...env, LOG_LEVEL: 'warn', AUTH_ADMIN_PASSWORD: 'short' });
    cleanups.push(async () => void (await restarted.kill('SIGKILL')));
    // The existing admin is left as it was: its password is not replaced by the weak one.
    expect((await send(`${restarted.api}/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(200);
    expect((await send(`${restarted.api}/login`, { email: ADMIN_EMAIL, password: 'short' })).status).toBe(401);
    expect(await restarted.kill('SIGTERM')).toBe(0);
  });

  it('refuses to create the admin under a malformed AUTH_ADMIN_EMAIL, naming the setting', () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const env = { PATH: process.env.PATH ?? '', HOME: dir, WORKERS: '1', DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys') };
    const refused = spawnSync(process.execPath, [ENTRY], { env: { ...env, AUTH_ADMIN_EMAIL: 'admin@localhost', AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD }, encoding: 'utf8', timeout: 20_000 });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain('AUTH_ADMIN_EMAIL is not acceptable: email must be a valid email address');
  });

  it("warns, in a cluster, of an admin still on pico-auth's default password, and serves on", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const env = { DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys'), WORKERS: '2' };
    const created = await spawnServer(env);
    expect(await created.kill('SIGTERM')).toBe(0);
    // As an adopted pico-auth database holds it: the admin's password is 'admin'.
    const db = openDatabase(parseDatabaseUrl(env.DATABASE_URL, dir));
    await db('users').where({ email: ADMIN_EMAIL }).update({ password_hash: await argon2.hash('admin', { type: argon2.argon2id, ...OWASP_ARGON2ID }) });
    await db.destroy();

    const server = await spawnServer(env);
    cleanups.push(async () => void (await server.kill('SIGTERM')));
    await waitFor(() => server.output().includes("still has pico-auth's default password"), 'the warning');
    // The primary closed its own database connection once it had checked; the workers serve on.
    expect((await send(`${server.api}/login`, { email: ADMIN_EMAIL, password: 'admin' })).status).toBe(200);
    expect(await server.kill('SIGTERM')).toBe(0);
  });

  it('warns once, in a cluster too, of configuration keys it does not read', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    writeFileSync(join(dir, 'settings.yaml'), 'auth:\n  acess_token_expire_minutes: 5\n');
    const env = { DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys'), AUTH_CONFIG: join(dir, 'settings.yaml'), WORKERS: '2' };
    const server = await spawnServer(env);
    cleanups.push(async () => void (await server.kill('SIGTERM')));
    // The first /health answer says only that one worker listens; a later one could still warn.
    await waitFor(() => server.output().includes('workers listening'), 'every worker to listen');
    const warnings = server.output().split('\n').filter((line) => line.includes('configuration keys that pico-auth does not read'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('auth.acess_token_expire_minutes');
  });

  it.each(['info', 'silent'])('logs a generated admin password once, on the first start, and that password logs in (LOG_LEVEL=%s)', async (level) => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const env = { DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys'), LOG_LEVEL: level, AUTH_ADMIN_PASSWORD: '' };
    const first = await spawnServer(env);
    cleanups.push(async () => void (await first.kill('SIGKILL')));
    const lines = first.output().split('\n').filter((line) => line.includes('Generated admin password'));
    expect(lines).toHaveLength(1);
    const [, email, password] = /Generated admin password for ([^:]+): ([A-Za-z0-9_-]+)"/.exec(lines[0] ?? '') ?? [];
    expect(email).toBe('admin@pico.local');
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const login = await send(`${first.api}/login`, { email, password });
    expect(login.status).toBe(200);
    expect(await first.kill('SIGTERM')).toBe(0);

    const second = await spawnServer(env);
    cleanups.push(async () => void (await second.kill('SIGKILL')));
    expect(second.output()).not.toContain('Generated admin password');
    expect((await send(`${second.api}/login`, { email, password })).status).toBe(200);
  });

  // Pinned to two CPUs the server sees two cores, however many this machine has. Node
  // starts every pool thread as it loads the server's first ES module, so the process's
  // thread count, against one with a pool of 4, tells the pool's size.
  const pinnable = existsSync('/proc/self/task') && spawnSync('taskset', ['-V']).status === 0 && cores.usableCores() >= 2;
  it.skipIf(!pinnable)("gives a cluster primary's pool, which hashes, one thread per usable core, and leaves a single process Node's 4", async () => {
    const threadsOfServer = async (env: Record<string, string>) => {
      const { dir, remove } = tempDir();
      cleanups.push(remove);
      const pinned = ['-c', firstCpus(2).join(','), process.execPath, ENTRY];
      const server = await spawnServer({ DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys'), LOG_LEVEL: 'warn', ...env }, undefined, pinned, 'taskset');
      cleanups.push(async () => void (await server.kill('SIGKILL')));
      const threads = readdirSync(`/proc/${server.child.pid}/task`).length;
      expect(await server.kill('SIGTERM')).toBe(0);
      return threads;
    };
    const primaryPool = (await threadsOfServer({ WORKERS: '2' })) - (await threadsOfServer({ WORKERS: '2', UV_THREADPOOL_SIZE: '4' })) + 4;
    expect(primaryPool).toBe(Math.min(2, cores.usableCores()));
    const singlePool = (await threadsOfServer({ WORKERS: '1' })) - (await threadsOfServer({ WORKERS: '1', UV_THREADPOOL_SIZE: '4' })) + 4;
    expect(singlePool).toBe(4);
  });
});

/** The first `count` CPUs this process may run on (`Cpus_allowed_list`, say "0-3,8"). */
function firstCpus(count: number): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const cpus = list.split(',').flatMap((range) => {
    const [from = 0, to = from] = range.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
  return cpus.slice(0, count);
}
