import { openRowReader } from '../../src/adapters/sql/row-reader.js';
import { SqlTokenStore } from '../../src/adapters/sql/sql-token-store.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { describeUserStoreContract } from '../contracts/user-store.contract.js';
import { freshSqlite } from '../support/sqlite.js';

/** The stores as the server wires them on SQLite: writes through Knex, hot reads on their own read-only connection. */
async function freshStores() {
  const { db, path, close } = await freshSqlite();
  const reader = openRowReader({ dialect: 'sqlite', filename: path });
  return {
    db,
    reader,
    close: async () => {
      reader.close();
      await close();
    },
  };
}

describeUserStoreContract('sqlite', async () => {
  const { db, reader, close } = await freshStores();
  return { store: new SqlUserStore(db, reader), close };
});

describeTokenStoreContract('sqlite', async () => {
  const { db, reader, close } = await freshStores();
  return { store: new SqlTokenStore(db, reader), close };
});
