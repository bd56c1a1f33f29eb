import { SqlTokenStore } from '../../src/adapters/sql/sql-token-store.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { describeUserStoreContract } from '../contracts/user-store.contract.js';
import { freshSqlite } from '../support/sqlite.js';

describeUserStoreContract('sqlite', async () => {
  const { db, close } = await freshSqlite();
  return { store: new SqlUserStore(db), close };
});

describeTokenStoreContract('sqlite', async () => {
  const { db, close } = await freshSqlite();
  return { store: new SqlTokenStore(db), close };
});
