// The baseline for /me and /jwks: a bare Koa JSON route, served with the same process
// model as the server (one process), measured under the same autocannon settings.
import { createServer } from 'node:http';
import Koa from 'koa';

const app = new Koa();
const body = { status: 'ok' };
app.use((ctx) => {
  ctx.body = body;
});
const server = createServer(app.callback()).listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
