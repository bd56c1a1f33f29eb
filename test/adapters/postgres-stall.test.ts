import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { Unavailable } from '../../src/domain/errors.js';
import { postgresIntegration } from '../support/integration.js';

const postgres = await postgresIntegration();

/**
 * A TCP proxy to PostgreSQL that can stall the connections it holds: they stay open and
 * carry nothing more, as a peer lost without a word leaves them. New connections pass.
 */
async function stallingProxy(target: URL): Promise<{ port: number; stall(): void; close(): Promise<void> }> {
  const held: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    held.push(client, upstream);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
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

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!postgres.available)('PostgreSQL that stops answering on open connections', () => {
  it('answers 503 within the query timeout, then serves again on new connections (SPEC §4)', async () => {
    const database = await postgres.fresh();
    cleanups.push(database.close);
    const target = new URL(database.url);
    const proxy = await stallingProxy(target);
    cleanups.push(proxy.close);
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const db = openDatabase({ dialect: 'postgres', url: proxied.toString() }, { max: 2, queryTimeoutMs: 500 });
    cleanups.push(() => db.destroy());
    await migrate(db);
    const users = new SqlUserStore(db);
    expect(await users.findById('nobody')).toBeUndefined();

    proxy.stall();
    await expect(users.findById('nobody')).rejects.toBeInstanceOf(Unavailable);
    // The stalled connection is not handed out again: the next query opens a new one.
    expect(await users.findById('nobody')).toBeUndefined();
  });
});
