import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that a test can cut or slow down: the way to take a real
 * PostgreSQL or Redis away from the server under test without stopping the machine's own.
 */
export interface TcpProxy {
  /** The local port to connect to instead of the target's. */
  port: number;
  /** Cuts every open connection, and from now on accepts and immediately drops new ones. */
  pause(): void;
  /** Forwards new connections again. */
  resume(): void;
  /** Cuts everything and stops listening. */
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Delay added to every chunk, each way (a slow network); 0 forwards at once. */
  latencyMs?: number;
}

export async function start(targetHost: string, targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const latencyMs = options.latencyMs ?? 0;
  const open = new Set<Socket>();
  let paused = false;

  const cut = (socket: Socket) => {
    open.delete(socket);
    socket.destroy();
  };

  /** Copies `from` to `to`, each chunk `latencyMs` later (equal delays keep the order). */
  const forward = (from: Socket, to: Socket) => {
    if (latencyMs <= 0) {
      from.pipe(to);
      return;
    }
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, latencyMs);
    });
  };

  const server = createServer((client) => {
    if (paused) {
      // Accept and drop at once: to the client this looks like a store that is not there.
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const both = () => {
      cut(client);
      cut(upstream);
    };
    client.on('error', both).on('close', both);
    upstream.on('error', both).on('close', both);
    forward(client, upstream);
    forward(upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    pause() {
      paused = true;
      for (const socket of [...open]) cut(socket);
    },
    resume() {
      paused = false;
    },
    close() {
      paused = true;
      for (const socket of [...open]) cut(socket);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
