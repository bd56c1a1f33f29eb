import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { loadConfig } from '../../src/adapters/config/config.js';
import { openDatabase, parseDatabaseUrl } from '../../src/adapters/sql/database.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { startPicoAuth } from '../../src/main.js';
import { postgresIntegration, redisIntegration } from './integration.js';

export const ADMIN_EMAIL = 'admin@pico.local';
export const ADMIN_PASSWORD = 'admin-password-for-tests-only';

export interface TestServer {
  baseUrl: string;
  /** `${baseUrl}/api/v1/auth` */
  api: string;
  dir: string;
  /** The server's own database, for tests that arrange what the API cannot (a suspension, another org). */
  db: Knex;
  /** Which stores this server runs on. */
  stores: 'sqlite' | 'postgres+redis';
  /** Where its refresh tokens live, for tests that check the store itself. */
  tokenStore: { db: Knex } | { redisUrl: string; prefix: string };
  stop(): Promise<void>;
}

/**
 * `E2E_STORES=postgres+redis` (set by the second vitest project) runs every test server
 * started here on the production shape: a fresh PostgreSQL database and Redis key prefix.
 */
const STORES = process.env.E2E_STORES === 'postgres+redis' ? 'postgres+redis' : 'sqlite';

async function storeEnv(dir: string): Promise<{ env: Record<string, string>; release(): Promise<void> }> {
  if (STORES === 'sqlite') return { env: { DATABASE_URL: `sqlite:${join(dir, 'auth.db')}` }, release: async () => {} };
  const [postgres, redis] = await Promise.all([postgresIntegration(), redisIntegration()]);
  const [database, keys] = await Promise.all([postgres.fresh(), redis.fresh()]);
  return {
    env: { DATABASE_URL: database.url, REDIS_URL: keys.url, REDIS_PREFIX: keys.prefix },
    release: async () => {
      await Promise.all([database.close(), keys.close()]);
    },
  };
}

/**
 * The real server, in this process, on a free port of 127.0.0.1, with its own temp
 * directory for the SQLite file and keys. `env` overrides configuration as env vars do.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-e2e-'));
  const stores = await storeEnv(dir);
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      ...stores.env,
      AUTH_DATA_DIR: join(dir, 'keys'),
      AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'silent',
      ...env,
    },
    dir,
  );
  const running = await startPicoAuth(config, createLogger(config.log.level), dir);
  const db = openDatabase(parseDatabaseUrl(config.database.url, dir), { max: 2 });
  const baseUrl = `http://127.0.0.1:${running.port}`;
  return {
    baseUrl,
    api: `${baseUrl}/api/v1/auth`,
    dir,
    db,
    stores: STORES,
    tokenStore: config.redis.url ? { redisUrl: config.redis.url, prefix: config.redis.prefix } : { db },
    stop: async () => {
      await db.destroy();
      await running.stop();
      await stores.release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomUUID()}@example.com`;
}

/** POSTs (or PUTs) JSON; `token` becomes a bearer header. */
export async function send(
  url: string,
  body: unknown,
  options: { method?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: options.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: typeof body === 'string' && options.headers?.['content-type'] ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await readJson(response), headers: response.headers };
}

export async function get(url: string, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: await readJson(response), headers: response.headers };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

/** Writes `request` as is on a new connection to the server; resolves with all it sent before closing it. */
export function exchangeRaw(baseUrl: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', (error) => (answer ? undefined : reject(error)));
    socket.on('close', () => resolve(answer));
  });
}
