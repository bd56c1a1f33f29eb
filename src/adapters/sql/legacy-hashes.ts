import type { Knex } from 'knex';

/**
 * The bcrypt costs among stored password hashes: pico-auth's, whose owners have not
 * logged in since the move (the next login re-hashes them to argon2id). One scan of the
 * users table, at start-up.
 */
export async function legacyBcryptCosts(db: Knex): Promise<number[]> {
  const rows: { prefix: string }[] = await db('users').distinct(db.raw('substr(password_hash, 1, 7) as prefix')).where('password_hash', 'like', '$2%');
  const costs = rows.map(({ prefix }) => /^\$2[aby]\$(\d\d)\$$/.exec(prefix)?.[1]).filter((cost) => cost !== undefined);
  return [...new Set(costs.map(Number))].sort((a, b) => a - b);
}
