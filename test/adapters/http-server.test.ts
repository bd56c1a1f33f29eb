import { request } from 'node:http';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../src/adapters/http/server.js';
import type { RunningServer } from '../../src/adapters/http/server.js';

const servers: RunningServer[] = [];
afterEach(async () => {
  for (const running of servers.splice(0)) running.server.closeAllConnections();
});

/** A server whose one route waits until the test lets it end, and notes when it did. */
async function serverWithSlowHandler() {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const state = { entered: false, ended: false };
  const app = new Koa();
  app.use(async (ctx) => {
    state.entered = true;
    await released;
    state.ended = true;
    ctx.body = { ok: true };
  });
  const running = await listen(app, 0, '127.0.0.1');
  servers.push(running);
  return { running, release, state };
}

/** Sends a request, waits until its handler has started, then hangs up. */
async function hangUpMidRequest(port: number, state: { entered: boolean }): Promise<void> {
  const client = request({ port, host: '127.0.0.1', path: '/' });
  client.on('error', () => undefined);
  client.end();
  await expect.poll(() => state.entered).toBe(true);
  client.destroy();
}

const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('closing the HTTP server', () => {
  it('waits for a handler whose client hung up, so the stores it writes to are still open', async () => {
    const { running, release, state } = await serverWithSlowHandler();
    await hangUpMidRequest(running.port, state);
    const closing = running.close(5_000);
    expect(await settledWithin(closing, 300)).toBe(false);
    release();
    await closing;
    expect(state.ended).toBe(true);
  });

  it('stops waiting once the grace is over', async () => {
    const { running, state } = await serverWithSlowHandler();
    await hangUpMidRequest(running.port, state);
    expect(await settledWithin(running.close(200), 2_000)).toBe(true);
    expect(state.ended).toBe(false);
  });
});
