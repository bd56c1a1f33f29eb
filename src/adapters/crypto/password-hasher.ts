import type { PasswordHasher } from '../../application/ports.js';
import { Argon2Hasher } from './argon2-hasher.js';
import type { Argon2Params } from './argon2-hasher.js';
import { isBcryptHash, verifyBcrypt } from './bcrypt-verifier.js';
import { Gate } from './gate.js';

/**
 * New hashes are argon2id; a stored hash is verified by the scheme its prefix names, so
 * pico-auth's bcrypt hashes keep working until their owner's next login re-hashes them.
 * Both run in the thread pool behind one gate: at most `maxConcurrent` at once (the
 * pool's size) and `maxWaiting` queued (about 2 s of work).
 */
export class ArgonFirstPasswordHasher implements PasswordHasher {
  readonly #gate: Gate;
  readonly #argon2: Argon2Hasher;
  #dummyHash: Promise<string> | undefined;

  constructor(params?: Argon2Params, maxConcurrent = 4, maxWaiting = 128) {
    this.#gate = new Gate(maxConcurrent, maxWaiting);
    this.#argon2 = new Argon2Hasher(this.#gate, params);
  }

  hash(password: string): Promise<string> {
    return this.#argon2.hash(password);
  }

  async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    if (hash.startsWith('$argon2')) return this.#argon2.verify(hash, password);
    if (isBcryptHash(hash)) return verifyBcrypt(this.#gate, hash, password);
    return { ok: false, rehash: false };
  }

  /** Verifies against a hash made once with the current parameters, so it costs what a real check does. */
  async burn(password: string): Promise<void> {
    this.#dummyHash ??= this.#argon2.hash('pico-auth dummy password').catch((error: unknown) => {
      this.#dummyHash = undefined; // refused while saturated: try again next time
      throw error;
    });
    await this.#argon2.verify(await this.#dummyHash, password);
  }
}
