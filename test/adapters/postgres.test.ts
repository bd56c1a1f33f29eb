import { describe, it } from 'vitest';
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

if (postgres.available) {
  describeUserStoreContract('postgres', async () => {
    const { db, close } = await freshStores();
    return { store: new SqlUserStore(db), close };
  });
  describeTokenStoreContract('postgres', async () => {
    const { db, close } = await freshStores();
    return { store: new SqlTokenStore(db), close };
  });
} else {
  describe.skip('postgres contracts (no PostgreSQL available)', () => it('needs TEST_DATABASE_URL or Docker', () => {}));
}
