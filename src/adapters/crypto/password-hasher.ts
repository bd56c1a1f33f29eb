import type { PasswordHasher } from '../../application/ports.js';
import { Argon2Hasher } from './argon2-hasher.js';
import type { Argon2Params } from './argon2-hasher.js';
import { BcryptVerifier, acceptedBcryptCost } from './bcrypt-verifier.js';
import { Gate } from './gate.js';

type Verdict = { ok: boolean; rehash: boolean };
const NO_MATCH: Verdict = { ok: false, rehash: false };
const DUMMY_PASSWORD = 'pico-auth dummy password';

/**
 * New hashes are argon2id; a stored hash is verified by the scheme its prefix names, so
 * pico-auth's bcrypt hashes keep working until their owner's next login re-hashes them.
 * Both run in the thread pool behind one gate: at most `maxConcurrent` at once (the
 * pool's size) and `maxWaiting` queued (about 2 s of work).
 *
 * While bcrypt hashes remain (`legacyBcryptCosts`, the costs found in the store), a bcrypt
 * check costs about ten argon2id ones, so a failed check would tell those accounts from
 * unknown emails and re-hashed ones. Every failed check and every burn then spends one
 * check of each scheme, real or on a dummy hash: the same work whichever the account.
 */
export class ArgonFirstPasswordHasher implements PasswordHasher {
  readonly #argon2: Argon2Hasher;
  readonly #bcrypt: BcryptVerifier;
  readonly #legacyCost: number | undefined;
  #argon2Dummy: Promise<string> | undefined;

  constructor(params?: Argon2Params, maxConcurrent = 4, maxWaiting = 128, legacyBcryptCosts: readonly number[] = []) {
    const gate = new Gate(maxConcurrent, maxWaiting);
    this.#argon2 = new Argon2Hasher(gate, params);
    this.#bcrypt = new BcryptVerifier(gate);
    const accepted = legacyBcryptCosts.filter((cost) => acceptedBcryptCost(cost));
    this.#legacyCost = accepted.length > 0 ? Math.max(...accepted) : undefined;
  }

  hash(password: string): Promise<string> {
    return this.#argon2.hash(password);
  }

  async verify(hash: string, password: string): Promise<Verdict> {
    if (hash.startsWith('$argon2')) return this.#orBcryptToo(await this.#argon2.verify(hash, password), password);
    if (this.#bcrypt.accepts(hash)) return this.#orArgon2Too(await this.#bcrypt.verify(hash, password), password);
    // A hash no scheme accepts (a bcrypt cost refused as too dear, say) is no match, in a burn's time.
    await this.burn(password);
    return NO_MATCH;
  }

  /** Verifies against dummy hashes made once, so it costs what a failed check does. */
  async burn(password: string): Promise<void> {
    await this.#burnArgon2(password);
    await this.#burnBcrypt(password);
  }

  async #orBcryptToo(verdict: Verdict, password: string): Promise<Verdict> {
    if (!verdict.ok) await this.#burnBcrypt(password);
    return verdict;
  }

  async #orArgon2Too(verdict: Verdict, password: string): Promise<Verdict> {
    if (!verdict.ok) await this.#burnArgon2(password);
    return verdict;
  }

  async #burnArgon2(password: string): Promise<void> {
    this.#argon2Dummy ??= retryable(this.#argon2.hash(DUMMY_PASSWORD), () => (this.#argon2Dummy = undefined));
    await this.#argon2.verify(await this.#argon2Dummy, password);
  }

  async #burnBcrypt(password: string): Promise<void> {
    if (this.#legacyCost !== undefined) await this.#bcrypt.burn(this.#legacyCost, password);
  }
}

/** A dummy hash refused while hashing was saturated is made again next time. */
function retryable(made: Promise<string>, forget: () => void): Promise<string> {
  return made.catch((error: unknown) => {
    forget();
    throw error;
  });
}
