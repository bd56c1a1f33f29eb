import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/adapters/config/config.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { startPicoAuth } from '../../src/main.js';

export const ADMIN_EMAIL = 'admin@pico.local';
export const ADMIN_PASSWORD = 'admin-password-for-tests-only';

export interface TestServer {
  baseUrl: string;
  /** `${baseUrl}/api/v1/auth` */
  api: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * The real server, in this process, on a free port of 127.0.0.1, with its own temp
 * directory for the SQLite file and keys. `env` overrides configuration as env vars do.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-e2e-'));
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`,
      AUTH_DATA_DIR: join(dir, 'keys'),
      AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'silent',
      ...env,
    },
    dir,
  );
  const running = await startPicoAuth(config, createLogger(config.log.level), dir);
  const baseUrl = `http://127.0.0.1:${running.port}`;
  return {
    baseUrl,
    api: `${baseUrl}/api/v1/auth`,
    dir,
    stop: async () => {
      await running.stop();
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
