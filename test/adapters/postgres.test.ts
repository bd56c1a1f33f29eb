import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { SqlTokenStore } from '../../src/adapters/sql/sql-token-store.js';
import { postgresStatements } from '../../src/adapters/sql/statements.js';
import { SqlUserStore } from '../../src/adapters/sql/sql-user-store.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { describeUserStoreContract } from '../contracts/user-store.contract.js';
import { postgresIntegration } from '../support/integration.js';
import { freshPostgres } from '../support/postgres.js';
import { familyQueryPlans } from '../support/token-query-plans.js';
import type { Explain } from '../support/token-query-plans.js';

const postgres = await postgresIntegration();

const freshStores = () => freshPostgres(postgres);

// Without PostgreSQL the harness has printed a loud line (or failed, in CI); the suites show as skipped.
describe.skipIf(!postgres.available)('PostgreSQL adapters', () => {
  // As the server wires them: the hot reads as named prepared statements.
  describeUserStoreContract('postgres', async () => {
    const { db, close } = await freshStores();
    return { store: new SqlUserStore(db, postgresStatements(db)), close };
  });
  describeTokenStoreContract('postgres', async () => {
    const { db, close } = await freshStores();
    return { store: new SqlTokenStore(db, postgresStatements(db)), close };
  });

  // A test table is tiny, so the planner would scan it anyway: with sequential scans off it
  // shows which index it can use. Knex reports pg queries with $n placeholders; raw takes ?.
  const explain: Explain = (db, sql, bindings) =>
    db.transaction(async (trx) => {
      await trx.raw('set local enable_seqscan = off');
      const { rows } = (await trx.raw(`explain ${sql.replace(/\$\d+/g, '?')}`, bindings as Knex.RawBinding[])) as { rows: { 'QUERY PLAN': string }[] };
      return rows.map((row) => row['QUERY PLAN']);
    });

  it('checks a family for revocation with one index seek, not a read of the whole family', async () => {
    const { db, close } = await freshStores();
    try {
      const plans = await familyQueryPlans(db, explain);
      expect(plans).toHaveLength(2);
      for (const plan of plans) {
        const text = plan.join('\n');
        expect(text).toContain('ix_refresh_tokens_family_id_revoked_at');
        expect(text).toMatch(/Index Cond: \(\(\(?family_id\)?(::text)? = \(?\w+\.family_id\)?(::text)?\) AND \(revoked_at IS NOT NULL\)\)/);
      }
    } finally {
      await close();
    }
  });
});
