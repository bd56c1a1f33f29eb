import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { Unavailable } from '../../src/domain/errors.js';
import { postgresIntegration } from '../support/integration.js';
import { stallingProxy } from '../support/stalling-proxy.js';

const postgres = await postgresIntegration();

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
