/**
 * What the security tests need beyond test/support: an in-process server whose stores
 * and logger the test chooses (a proxied PostgreSQL and Redis, a log it can read), and
 * exact checks of the bearer challenge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect } from 'vitest';
import { loadConfig } from '../../src/adapters/config/config.js';
import type { Logger } from '../../src/adapters/logging/logger.js';
import { startPicoAuth } from '../../src/main.js';
import type { Reply } from '../support/flows.js';
import { ADMIN_PASSWORD } from '../support/server.js';

export interface InProcessServer {
  baseUrl: string;
  api: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * The real server in this process, as test/support/server.ts starts it, but on the stores
 * named in `env` (SQLite in its own temp dir unless DATABASE_URL is given) and logging to
 * `logger` (silent unless given).
 */
export async function startInProcess(env: Record<string, string>, logger?: Logger): Promise<InProcessServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-security-'));
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
  const running = await startPicoAuth(config, logger ?? pino({ level: 'silent' }), dir).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
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

/** A pino logger whose JSON lines the test can read back. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line.length > 0));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

export const REFUSED_BEARER = 'Bearer realm="pico-auth", error="invalid_token"';
export const PLAIN_CHALLENGE = 'Bearer realm="pico-auth"';

/** 401 `code` with exactly the challenge of a refused bearer token (RFC 6750 §3). */
export function expectRefusedBearer(reply: Reply, code = 'invalid_token'): void {
  expect({ status: reply.status, code: reply.body?.code, challenge: reply.headers.get('www-authenticate') }).toEqual({
    status: 401,
    code,
    challenge: REFUSED_BEARER,
  });
}

/** `{status, code}` of a reply, for one readable comparison. */
export function outcome(reply: Reply): { status: number; code: unknown } {
  return { status: reply.status, code: reply.body?.code };
}
