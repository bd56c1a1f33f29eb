import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A TCP proxy to `target` (PostgreSQL's port unless the URL names one), listening on
 * `port` or one of its own, that can stall the connections it holds: they stay open and
 * carry nothing more, as a peer lost without a word leaves them. New connections pass.
 */
export async function stallingProxy(target: URL, port = 0): Promise<{ port: number; stall(): void; close(): Promise<void> }> {
  const held: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
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
      }
    },
    close: async () => {
      server.close();
    },
  };
}
