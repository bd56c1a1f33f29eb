import type { PasswordHasher } from '../../application/ports.js';
import { Argon2 } from './argon2-hasher.js';
import type { Argon2Params } from './argon2-hasher.js';
import { acceptedBcryptCost, bcryptCost, bcryptMatchRehashable, compareBcrypt, hashBcrypt } from './bcrypt-verifier.js';
import { Gate } from './gate.js';

type Verdict = { ok: boolean; rehash: boolean };
const NO_MATCH: Verdict = { ok: false, rehash: false };
const DUMMY_PASSWORD = 'pico-auth dummy password';

/**
 * New hashes are argon2id; a stored hash is verified by the scheme its prefix names, so
 * pico-auth's bcrypt hashes keep working until their owner's next login re-hashes them.
 * Everything runs in the thread pool behind one gate: at most `maxConcurrent` checks
 * admitted at once (the pool runs as many of them as it has threads) and `maxWaiting`
 * queued (about 2 s of work). A check is admitted once, whole: refused half-way, it
 * would have tested a password and answered 503, which does not count towards the
 * account's lock.
 *
 * While bcrypt hashes remain (`legacyBcryptCosts`, the costs found in the store), a bcrypt
 * check costs about ten argon2id ones, so a failed check would tell those accounts from
 * unknown emails and re-hashed ones. Every failed check and every burn then spends what
 * one argon2id check and one bcrypt check of the dearest cost found do, real or on dummy
 * hashes: the same work whichever the account.
 */
export class ArgonFirstPasswordHasher implements PasswordHasher {
  readonly #gate: Gate;
  readonly #argon2: Argon2;
  readonly #maxWaiting: number;
  readonly #legacyCost: number | undefined;
  readonly #cheapestLegacyCost: number | undefined;
  readonly #dummies = new Map<string, Promise<string>>();

  constructor(params?: Argon2Params, maxConcurrent = 4, maxWaiting = 128, legacyBcryptCosts: readonly number[] = []) {
    this.#gate = new Gate(maxConcurrent, maxWaiting);
    this.#argon2 = new Argon2(params);
    this.#maxWaiting = maxWaiting;
    const accepted = legacyBcryptCosts.filter((cost) => acceptedBcryptCost(cost));
    this.#legacyCost = accepted.length > 0 ? Math.max(...accepted) : undefined;
    this.#cheapestLegacyCost = accepted.length > 0 ? Math.min(...accepted) : undefined;
  }

  /** The dearest bcrypt cost a failed check spends, if any remain. */
  get legacyBcryptCost(): number | undefined {
    return this.#legacyCost;
  }

  hash(password: string): Promise<string> {
    return this.#gate.run(() => this.#argon2.hash(password));
  }

  verify(hash: string, password: string): Promise<Verdict> {
    return this.#gate.run(() => this.#check(hash, password));
  }

  burn(password: string): Promise<void> {
    return this.#gate.run(() => this.#spendFailedCheck(password, { argon2Spent: false }));
  }

  /**
   * Makes every dummy hash now (a cheaper bcrypt account's top-up needs one of each cost
   * from its own up), not in a first failed login that would then cost more than the
   * others; and scales the queue to what a failed check costs, so it still holds about
   * 2 s of work.
   */
  async warmUp(): Promise<void> {
    await this.burn(DUMMY_PASSWORD);
    const [cheapest, dearest] = [this.#cheapestLegacyCost, this.#legacyCost];
    if (cheapest === undefined || dearest === undefined) return;
    for (let cost = cheapest; cost < dearest; cost++) await this.#gate.run(() => this.#spendBcrypt(cost, DUMMY_PASSWORD));
    const argon2Ms = await fastestOf(3, () => this.#gate.run(() => this.#spendArgon2(DUMMY_PASSWORD)));
    const failedCheckMs = await fastestOf(3, () => this.burn(DUMMY_PASSWORD));
    const share = argon2Ms / Math.max(failedCheckMs, argon2Ms);
    if (Number.isFinite(share)) this.#gate.limitWaiting(Math.max(1, Math.floor(this.#maxWaiting * share)));
  }

  async #check(hash: string, password: string): Promise<Verdict> {
    if (hash.startsWith('$argon2')) {
      const ok = await this.#argon2.verify(hash, password);
      if (ok) return { ok, rehash: this.#argon2.needsRehash(hash) };
      await this.#spendFailedCheck(password, { argon2Spent: ok === false });
      return NO_MATCH;
    }
    const cost = bcryptCost(hash);
    if (cost !== undefined) {
      const ok = await compareBcrypt(hash, password);
      if (ok) return { ok, rehash: bcryptMatchRehashable(password) };
      await this.#spendFailedCheck(password, { argon2Spent: false, bcryptCostSpent: cost });
      return NO_MATCH;
    }
    // A hash no scheme accepts (a bcrypt cost refused as too dear, say): no match, in a burn's time.
    await this.#spendFailedCheck(password, { argon2Spent: false });
    return NO_MATCH;
  }

  /** Tops up what a failed check has spent so far to the work of a burn. */
  async #spendFailedCheck(password: string, spent: { argon2Spent: boolean; bcryptCostSpent?: number }): Promise<void> {
    if (!spent.argon2Spent) await this.#spendArgon2(password);
    const dearest = this.#legacyCost;
    if (dearest === undefined) return;
    const spentCost = spent.bcryptCostSpent;
    if (spentCost === undefined) return this.#spendBcrypt(dearest, password);
    // 2^L = 2^c + (2^c + 2^(c+1) + … + 2^(L−1)): a cost-c check, then dummies of costs c to L−1.
    for (let cost = spentCost; cost < dearest; cost++) await this.#spendBcrypt(cost, password);
  }

  async #spendArgon2(password: string): Promise<void> {
    await this.#argon2.verify(await this.#dummy('argon2', () => this.#argon2.hash(DUMMY_PASSWORD)), password);
  }

  async #spendBcrypt(cost: number, password: string): Promise<void> {
    await compareBcrypt(await this.#dummy(`bcrypt-${cost}`, () => hashBcrypt(DUMMY_PASSWORD, cost)), password);
  }

  /** A dummy hash, made once (inside an admitted check: never refused as saturated). */
  #dummy(key: string, make: () => Promise<string>): Promise<string> {
    let dummy = this.#dummies.get(key);
    if (!dummy) {
      const made = make();
      made.catch(() => {
        if (this.#dummies.get(key) === made) this.#dummies.delete(key);
      });
      this.#dummies.set(key, (dummy = made));
    }
    return dummy;
  }
}

/** The shortest of `runs` timings: the least disturbed by whatever else the machine does. */
async function fastestOf(runs: number, work: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await work();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}
