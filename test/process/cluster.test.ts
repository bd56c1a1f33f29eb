import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redisIntegration } from '../support/integration.js';
import { ENTRY, freePort, spawnServer, tempDir } from '../support/process.js';
import type { ServerProcess } from '../support/process.js';
import { send, uniqueEmail } from '../support/server.js';

const PASSWORD = 'cluster-test-Horse-4417';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A clustered server whose every worker is listening (the first /health answer only says one is). */
async function startCluster(env: Record<string, string> = {}): Promise<ServerProcess> {
  const { dir, remove } = tempDir();
  const server = await spawnServer({ DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys'), WORKERS: '2', LOG_LEVEL: 'info', ...env });
  cleanups.push(remove, async () => {
    const workers = workerPids(server);
    if (server.child.exitCode === null && server.child.signalCode === null) await server.kill('SIGKILL');
    for (const pid of workers) killIfAlive(pid);
  });
  await waitFor(() => server.output().includes('workers listening'), 'every worker to listen');
  return server;
}

function killIfAlive(pid: string): void {
  try {
    process.kill(Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
}

function workerPids(server: ServerProcess): string[] {
  const pid = server.child.pid ?? 0;
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return []; // the primary is gone
  }
}

/** A process that has exited and been reaped, or only waits to be (a zombie). */
function isGone(pid: string): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** One request on a connection of its own: the primary hands each connection to the next worker in turn. */
function postOnNewConnection(port: number, path: string, body: object): Promise<number> {
  return requestOn(false, port, 'POST', path, body);
}

/** One request through `agent` (false: a connection of its own), answering its status. */
function requestOn(agent: Agent | false, port: number, method: string, path: string, body?: object, token?: string): Promise<number> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return new Promise((done, fail) => {
    const request = httpRequest(
      { port, host: '127.0.0.1', path, method, agent, headers },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode ?? 0));
      },
    );
    request.on('error', fail);
    request.end(payload);
  });
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('server process with WORKERS=2 on the embedded default', () => {
  it('runs two workers on one port, sharing the account lockout whichever worker answers', async () => {
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '0', AUTH_LOCKOUT_THRESHOLD: '4' });
    expect(workerPids(server)).toHaveLength(2);
    const email = uniqueEmail('cluster');
    expect((await send(`${server.api}/register`, { email, password: PASSWORD })).status).toBe(201);
    // Counters kept per worker would have seen two failures each here, and let the next guess through.
    for (let i = 0; i < 4; i++) expect(await postOnNewConnection(server.port, '/api/v1/auth/login', { email, password: 'wrong-Horse-4417' })).toBe(401);
    expect(await postOnNewConnection(server.port, '/api/v1/auth/login', { email, password: PASSWORD })).toBe(429);
  });

  it('logs in through whichever worker answers (the primary hashes for both), and refuses an unknown email alike', async () => {
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '0' });
    const email = uniqueEmail('hashed');
    expect((await send(`${server.api}/register`, { email, password: PASSWORD })).status).toBe(201);
    const logins = [];
    for (let i = 0; i < 4; i++) logins.push(await postOnNewConnection(server.port, '/api/v1/auth/login', { email, password: PASSWORD }));
    expect(logins).toEqual([200, 200, 200, 200]);
    // An unknown email costs a verification too (against the primary's dummy hash), and fails alike.
    expect(await postOnNewConnection(server.port, '/api/v1/auth/login', { email: uniqueEmail('nobody'), password: PASSWORD })).toBe(401);
  });

  it('shares the per-IP token bucket between workers', async () => {
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '3' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await postOnNewConnection(server.port, '/api/v1/auth/refresh', { refresh_token: `not-a-token-${i}` }));
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('replaces a worker that dies, and stops every worker on SIGTERM with exit code 0', async () => {
    const server = await startCluster();
    const [victim] = workerPids(server);
    process.kill(Number(victim), 'SIGKILL');
    await waitFor(() => {
      const pids = workerPids(server);
      return pids.length === 2 && !pids.includes(victim ?? '');
    }, 'a replacement worker');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await postOnNewConnection(server.port, '/api/v1/auth/register', { email: uniqueEmail('after'), password: PASSWORD }));
    expect(statuses).toEqual([201, 201, 201, 201]);

    const workers = workerPids(server);
    expect(await server.kill('SIGTERM')).toBe(0);
    await waitFor(() => workers.every(isGone), 'the workers to exit');
  });

  it('takes its workers down with it when the primary dies: none serves on without its counters and hasher', async () => {
    const server = await startCluster();
    const workers = workerPids(server);
    expect(workers).toHaveLength(2);
    await server.kill('SIGKILL');
    await waitFor(() => workers.every(isGone), 'the orphaned workers to exit');
  });

  it('stops cleanly on a SIGTERM that lands while it is still starting', async () => {
    const { dir, remove } = tempDir();
    const env = { PATH: process.env.PATH ?? '', HOME: dir, PORT: String(await freePort()), HOST: '127.0.0.1', WORKERS: '2', LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys') };
    const child = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal)));
    cleanups.push(remove, () => void child.kill('SIGKILL'));
    // The primary logs the generated admin password before it forks any worker.
    await new Promise<void>((done) => {
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Generated admin password')) done();
      });
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it("runs as a process of its own when forked by someone else's cluster primary (pm2's)", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const foreign = resolve(import.meta.dirname, '../support/foreign-primary.mjs');
    // WORKERS=2 asks for workers, but only a primary can fork them; nor is there a primary of ours to hold counters.
    const server = await spawnServer({ DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`, AUTH_DATA_DIR: join(dir, 'keys'), WORKERS: '2', LOG_LEVEL: 'warn' }, undefined, [foreign, ENTRY]);
    cleanups.push(() => server.kill('SIGKILL'));
    const email = uniqueEmail('foreign');
    // It migrated the database itself, and login's counters answer (they would hang waiting for a primary).
    expect((await send(`${server.api}/register`, { email, password: PASSWORD })).status).toBe(201);
    expect((await send(`${server.api}/login`, { email, password: PASSWORD })).status).toBe(200);
    expect(await server.kill('SIGTERM')).toBe(0);
  });
});

const redis = await redisIntegration();

describe.skipIf(!redis.available)('server process with WORKERS=2, counters in Redis', () => {
  it('hashes in the primary: while it is stopped, a login waits for it, and bearer calls on a live connection are still answered', async () => {
    const counters = await redis.fresh();
    cleanups.push(() => counters.close());
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '0', REDIS_URL: counters.url, REDIS_PREFIX: counters.prefix });
    const email = uniqueEmail('stopped');
    expect((await send(`${server.api}/register`, { email, password: PASSWORD })).status).toBe(201);
    const token = (await send(`${server.api}/login`, { email, password: PASSWORD })).body.access_token as string;
    // One kept-alive connection, handed to a worker while the primary still ran.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect(await requestOn(agent, server.port, 'GET', '/api/v1/auth/me', undefined, token)).toBe(200);

    const primary = server.child.pid ?? 0;
    process.kill(primary, 'SIGSTOP');
    cleanups.push(() => continueIfAlive(primary));
    expect(await requestOn(agent, server.port, 'GET', '/api/v1/auth/me', undefined, token)).toBe(200);
    // The counters answer from Redis: only the hash is left waiting for the primary.
    const login = requestOn(agent, server.port, 'POST', '/api/v1/auth/login', { email, password: PASSWORD });
    expect(await Promise.race([login, new Promise((r) => setTimeout(() => r('still waiting'), 1_500))])).toBe('still waiting');
    process.kill(primary, 'SIGCONT');
    expect(await login).toBe(200);
  });
});

function continueIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // already gone
  }
}
