import { request } from 'node:http';
import { connect } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../src/adapters/http/server.js';
import type { RunningServer } from '../../src/adapters/http/server.js';

const servers: RunningServer[] = [];
afterEach(async () => {
  for (const running of servers.splice(0)) running.server.closeAllConnections();
});

interface Handling {
  hungUp: boolean;
  ended: boolean;
  release(): void;
}

/** A server whose handlers each wait until the test releases them, noted by request path. */
async function serverWithSlowHandlers() {
  const handlings = new Map<string, Handling>();
  const app = new Koa();
  app.use(async (ctx) => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handling: Handling = { hungUp: false, ended: false, release };
    handlings.set(ctx.path, handling);
    ctx.req.socket.once('close', () => (handling.hungUp = true));
    await released;
    handling.ended = true;
    ctx.body = { ok: true };
  });
  const running = await listen(app.callback(), 0, '127.0.0.1');
  servers.push(running);
  return { running, handlings };
}

/** Waits until the request's handler has started, hangs up, and waits until the server has seen it. */
async function hangUp(handlings: Map<string, Handling>, path: string, client: { destroy(): unknown }): Promise<Handling> {
  await expect.poll(() => handlings.has(path)).toBe(true);
  client.destroy();
  const handling = handlings.get(path) as Handling;
  await expect.poll(() => handling.hungUp).toBe(true);
  return handling;
}

function send(port: number, path: string) {
  const client = request({ port, host: '127.0.0.1', path });
  client.on('error', () => undefined);
  client.end();
  return client;
}

const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('closing the HTTP server', () => {
  it('waits for a handler whose client hung up, so the stores it writes to are still open', async () => {
    const { running, handlings } = await serverWithSlowHandlers();
    const handling = await hangUp(handlings, '/', send(running.port, '/'));
    const closing = running.close(5_000);
    expect(await settledWithin(closing, 300)).toBe(false);
    handling.release();
    await closing;
    expect(handling.ended).toBe(true);
  });

  it('waits for a handler that starts after close() began, on a connection whose request was still arriving', async () => {
    const { running, handlings } = await serverWithSlowHandlers();
    const first = await hangUp(handlings, '/first', send(running.port, '/first'));
    const late = connect(running.port, '127.0.0.1');
    late.on('error', () => undefined);
    late.write('GET /late HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // Let the server read the first bytes: a connection with a request begun is not idle, so close() leaves it open.
    await new Promise((r) => setTimeout(r, 200));
    const closing = running.close(5_000);
    first.release();
    await expect.poll(() => first.ended).toBe(true);
    late.write('\r\n');
    const lateHandling = await hangUp(handlings, '/late', late);
    expect(await settledWithin(closing, 300)).toBe(false);
    lateHandling.release();
    await closing;
    expect(lateHandling.ended).toBe(true);
  });

  it('stops waiting once the grace is over', async () => {
    const { running, handlings } = await serverWithSlowHandlers();
    const handling = await hangUp(handlings, '/', send(running.port, '/'));
    expect(await settledWithin(running.close(200), 2_000)).toBe(true);
    expect(handling.ended).toBe(false);
  });
});
