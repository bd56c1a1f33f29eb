import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { Router } from '@koa/router';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { exactRoutes } from '../../src/adapters/http/exact-routes.js';

/** Serves `router` through exactRoutes on a real port and answers GET `path` with its text. */
async function answer(router: Router, path: string): Promise<{ status: number; text: string }> {
  const app = new Koa();
  app.use(exactRoutes(router));
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return { status: response.status, text: await response.text() };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('exactRoutes', () => {
  it('runs the whole chain of a route without parameters', async () => {
    const router = new Router();
    router.get('/a', (ctx, next) => ((ctx.state.trail = 'first,'), next()), (ctx) => (ctx.body = `${ctx.state.trail}second`));
    expect(await answer(router, '/a')).toEqual({ status: 200, text: 'first,second' });
  });

  it('leaves two routes on one path to the router, which runs both', async () => {
    const router = new Router();
    router.get('/twice', (ctx, next) => ((ctx.state.trail = 'one,'), next()));
    router.get('/twice', (ctx) => (ctx.body = `${ctx.state.trail}two`));
    expect(await answer(router, '/twice')).toEqual({ status: 200, text: 'one,two' });
  });

  it('leaves routes with parameters, and router-level middleware, to the router', async () => {
    const router = new Router();
    router.use((ctx, next) => ((ctx.state.trail = 'used,'), next()));
    router.get('/users/:id', (ctx) => (ctx.body = `${ctx.state.trail}${ctx.params.id}`));
    router.get('/static', (ctx) => (ctx.body = `${ctx.state.trail}static`));
    expect(await answer(router, '/users/42')).toEqual({ status: 200, text: 'used,42' });
    expect(await answer(router, '/static')).toEqual({ status: 200, text: 'used,static' });
  });
});
