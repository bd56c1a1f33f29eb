import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redisIntegration } from '../support/integration.js';
import { ENTRY, freePort, spawnServer, tempDir, waitFor } from '../support/process.js';
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

/**
 * One request on a connection of its own (the primary hands each to the next worker in
 * turn), sent once a worker holds the connection; answers its status and that worker's pid.
 */
function postOnNewConnection(server: ServerProcess, path: string, body: object): Promise<{ status: number; worker: string }> {
  const payload = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  return new Promise((done, fail) => {
    let worker: string | undefined;
    const request = httpRequest({ port: server.port, host: '127.0.0.1', path, method: 'POST', agent: false, headers }, (response) => {
      response.resume();
      response.on('end', () => done({ status: response.statusCode ?? 0, worker: worker ?? '' }));
    });
    request.on('error', fail);
    // Nothing is sent before end(): the worker that holds the connection then is the one that answers.
    request.on('socket', (socket) =>
      socket.once('connect', () => {
        const held = () => (worker = workerHolding(server, socket.localPort ?? 0)) !== undefined;
        waitFor(held, 'a worker to take the connection').then(() => request.end(payload), fail);
      }),
    );
  });
}

/** The worker whose file descriptors hold the server end of the connection from `clientPort` (Linux /proc). */
function workerHolding(server: ServerProcess, clientPort: number): string | undefined {
  const hex = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  // Columns of /proc/net/tcp: sl, local address, remote address, state, …, the socket's inode tenth
  // (0 while no process holds it: not accepted yet, or a closed connection's TIME_WAIT).
  const inode = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((columns) => columns[1]?.endsWith(hex(server.port)) && columns[2]?.endsWith(hex(clientPort)) && columns[9] !== '0')?.[9];
  if (!inode) return undefined;
  const socket = `socket:[${inode}]`;
  return workerPids(server).find((pid) => readdirSync(`/proc/${pid}/fd`).some((fd) => linkOf(`/proc/${pid}/fd/${fd}`) === socket));
}

function linkOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined; // closed meanwhile
  }
}

/** Every worker of `server` answered one of `replies`. */
function expectBothWorkers(server: ServerProcess, replies: { worker: string }[]): void {
  const workers = workerPids(server);
  expect(workers).toHaveLength(2);
  expect(new Set(replies.map((reply) => reply.worker))).toEqual(new Set(workers));
}

/** One request through `agent`, answering its status. */
function requestOn(agent: Agent, port: number, method: string, path: string, body?: object, token?: string): Promise<number> {
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

describe('server process with WORKERS=2 on the embedded default', () => {
  it('runs two workers on one port, sharing the account lockout whichever worker answers', async () => {
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '0', AUTH_LOCKOUT_THRESHOLD: '4' });
    expect(workerPids(server)).toHaveLength(2);
    const email = uniqueEmail('cluster');
    expect((await send(`${server.api}/register`, { email, password: PASSWORD })).status).toBe(201);
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await postOnNewConnection(server, '/api/v1/auth/login', { email, password: 'wrong-Horse-4417' }));
    replies.push(await postOnNewConnection(server, '/api/v1/auth/login', { email, password: PASSWORD }));
    expect(replies.map((reply) => reply.status)).toEqual([401, 401, 401, 401, 429]);
    // With both workers answering, counters kept per worker would have let the last login through.
    expectBothWorkers(server, replies);
  });

  it('logs in through whichever worker answers (the primary hashes for both), and refuses an unknown email alike', async () => {
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '0' });
    const email = uniqueEmail('hashed');
    expect((await send(`${server.api}/register`, { email, password: PASSWORD })).status).toBe(201);
    const logins = [];
    for (let i = 0; i < 4; i++) logins.push(await postOnNewConnection(server, '/api/v1/auth/login', { email, password: PASSWORD }));
    expect(logins.map((login) => login.status)).toEqual([200, 200, 200, 200]);
    expectBothWorkers(server, logins);
    // An unknown email costs a verification too (against the primary's dummy hash), and fails alike.
    expect((await postOnNewConnection(server, '/api/v1/auth/login', { email: uniqueEmail('nobody'), password: PASSWORD })).status).toBe(401);
  });

  it('shares the per-IP token bucket between workers', async () => {
    const server = await startCluster({ AUTH_IP_RATE_LIMIT: '3' });
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await postOnNewConnection(server, '/api/v1/auth/refresh', { refresh_token: `not-a-token-${i}` }));
    expect(replies.map((reply) => reply.status)).toEqual([401, 401, 401, 429]);
    // With both workers answering, buckets kept per worker would have let the last request through.
    expectBothWorkers(server, replies);
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
    for (let i = 0; i < 4; i++) statuses.push((await postOnNewConnection(server, '/api/v1/auth/register', { email: uniqueEmail('after'), password: PASSWORD })).status);
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
