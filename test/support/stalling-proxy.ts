import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A TCP proxy to `target` (the default port of its scheme unless it names one), listening on
 * `port` or one of its own, that can stall the connections it holds: they stay open and
 * carry nothing more, as a peer lost without a word leaves them. New connections pass.
 */
export async function stallingProxy(target: URL, port = 0): Promise<{ port: number; stall(): void; close(): Promise<void> }> {
  const held: Socket[] = [];
  const stalled: Socket[] = [];
  const defaultPort = target.protocol === 'redis:' ? 6379 : 5432;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || defaultPort), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    held.push(client, upstream);
  });
  await new Promise<void>((listening) => server.listen(port, '127.0.0.1', listening));
  return {
    port: (server.address() as { port: number }).port,
    stall: () => {
      for (const socket of held.splice(0)) {
        socket.unpipe();
        socket.pause();
        stalled.push(socket);
      }
    },
    close: async () => {
      for (const socket of [...held, ...stalled]) socket.destroy();
      server.close();
    },
  };
}
