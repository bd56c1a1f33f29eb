import { describe } from 'vitest';
import { migrate, openDatabase } from '../../src/adapters/sql/database.js';
import { SqlTokenStore } from '../../src/adapters/sql/sql-token-store.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { describeUserStoreContract } from '../contracts/user-store.contract.js';
import { postgresIntegration } from '../support/integration.js';

const postgres = await postgresIntegration();

async function freshStores() {
  const database = await postgres.fresh();
  const db = openDatabase({ dialect: 'postgres', url: database.url }, { max: 4 });
  await migrate(db);
  return {
    db,
    close: async () => {
      await db.destroy();
      await database.close();
    },
  };
}

// Without PostgreSQL the harness has printed a loud line (or failed, in CI); the suites show as skipped.
describe.skipIf(!postgres.available)('PostgreSQL adapters', () => {
  describeUserStoreContract('postgres', async () => {
    const { db, close } = await freshStores();
    return { store: new SqlUserStore(db), close };
  });
  describeTokenStoreContract('postgres', async () => {
    const { db, close } = await freshStores();
    return { store: new SqlTokenStore(db), close };
  });
});
