import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/adapters/http/error-handler.js';
import type { Logger } from '../../src/adapters/logging/logger.js';
import { Unavailable } from '../../src/domain/errors.js';

/** The lines logged at error level, as pino would receive them. */
function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = { error: (fields: Record<string, unknown>) => lines.push(fields) } as unknown as Logger;
  return { logger, lines };
}

describe('errorHandler', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  /** A real server whose only route throws what `failure` gives, handled by errorHandler on a clock of the test's. */
  async function serve(logger: Logger, clock: { now: number }, failure: (path: string) => unknown): Promise<string> {
    const app = new Koa();
    app.silent = true;
    app.use(errorHandler(logger, () => clock.now));
    app.use((ctx) => {
      throw failure(ctx.path);
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((ready) => server?.once('listening', ready));
    return `http://127.0.0.1:${(server?.address() as AddressInfo).port}`;
  }

  it('logs a flood of 503s once a second per reason, each line counting those it stood for; every request is still answered', async () => {
    const { logger, lines } = recordingLogger();
    const clock = { now: 1_000_000 };
    const base = await serve(logger, clock, (path) => new Unavailable(path === '/db' ? 'database' : 'password hashing'));
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await fetch(`${base}/hash`)).status);
    statuses.push((await fetch(`${base}/db`)).status);
    expect(statuses).toEqual(Array(21).fill(503));
    expect(lines.map((line) => line.repeatsSinceLastLine)).toEqual([0, 0]);

    clock.now += 999;
    await fetch(`${base}/hash`);
    expect(lines).toHaveLength(2);
    clock.now += 1;
    const reply = await fetch(`${base}/hash`);
    expect(await reply.json()).toEqual({ error: 'Service temporarily unavailable (password hashing)', code: 'unavailable' });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ status: 503, repeatsSinceLastLine: 20 });
  });

  it('answers a 503 with Retry-After, so that clients which retry wait a second first', async () => {
    const base = await serve(recordingLogger().logger, { now: 0 }, () => new Unavailable('database'));
    const reply = await fetch(`${base}/anything`);
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('1');
    expect(await reply.json()).toMatchObject({ code: 'unavailable' });
  });

  it('logs a rarer cause of the same 503 within the second, rather than counting it into the flood', async () => {
    const { logger, lines } = recordingLogger();
    const base = await serve(logger, { now: 0 }, (path) => new Unavailable('password hashing', { cause: new Error(path === '/odd' ? 'answered out of shape' : 'saturated') }));
    for (let i = 0; i < 5; i++) await fetch(`${base}/flood`);
    await fetch(`${base}/odd`);
    expect(lines.map((line) => String((line.err as Error).cause))).toEqual(['Error: saturated', 'Error: answered out of shape']);
  });

  it('logs every unexpected failure (500), however many', async () => {
    const { logger, lines } = recordingLogger();
    const base = await serve(logger, { now: 0 }, () => new Error('a bug'));
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/any`)).status).toBe(500);
    expect(lines).toHaveLength(5);
  });

  it('answers a 500 with internal_error and nothing of the failure itself (SPEC §3)', async () => {
    const { logger } = recordingLogger();
    const base = await serve(logger, { now: 0 }, () => new Error('a bug at /srv/secret-path.ts:12'));
    const response = await fetch(`${base}/any`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: 'Internal server error', code: 'internal_error' });
    expect(text).not.toContain('a bug');
  });
});
