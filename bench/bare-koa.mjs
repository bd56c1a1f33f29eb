// The baseline for /me and /jwks: a bare Koa JSON route, served with the same process
// model as the server (WORKERS processes sharing the port through node:cluster, one
// process when WORKERS is 1), measured under the same autocannon settings.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import Koa from 'koa';

const workers = Number(process.env.WORKERS ?? 1);

if (workers > 1 && cluster.isPrimary) {
  const forked = Array.from({ length: workers }, () => cluster.fork());
  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    if (++listening === workers) process.send?.({ port: address.port });
  });
  process.on('SIGTERM', () => {
    for (const worker of forked) worker.process.kill('SIGTERM');
    cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0));
  });
} else {
  const app = new Koa();
  const body = { status: 'ok' };
  app.use((ctx) => {
    ctx.body = body;
  });
  const server = createServer(app.callback()).listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    if (cluster.isPrimary) process.send?.({ port: server.address().port });
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
