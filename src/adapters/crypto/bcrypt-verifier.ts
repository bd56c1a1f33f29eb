import bcrypt from 'bcrypt';
import type { Gate } from './gate.js';

/** pico-auth stored cost 12; anything above 15 is refused rather than computed (login-time DoS). */
const MIN_COST = 4;
const MAX_COST = 15;
/** bcrypt reads only this many bytes of the password; pico-auth cut the UTF-8 bytes there. */
const BCRYPT_MAX_BYTES = 72;
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export function acceptedBcryptCost(cost: number): boolean {
  return Number.isInteger(cost) && cost >= MIN_COST && cost <= MAX_COST;
}

/**
 * Verifies legacy bcrypt hashes in the thread pool (native bcrypt), through the same gate
 * as argon2. bcrypt ignores bytes past the 72nd, exactly as pico-auth's cut did.
 */
export class BcryptVerifier {
  readonly #dummies = new Map<number, Promise<string>>();

  constructor(private readonly gate: Gate) {}

  /** A bcrypt hash of a cost worth computing. */
  accepts(hash: string): boolean {
    return acceptedBcryptCost(Number(BCRYPT_HASH.exec(hash)?.[1]));
  }

  /**
   * `rehash` is false from 72 bytes up: a match then only proves the first 72 bytes, and
   * re-hashing that prefix would lock out the owner of a longer password.
   */
  async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    if (!this.accepts(hash)) return { ok: false, rehash: false };
    // $2y$ (PHP's name) is the same algorithm as $2b$, which is the spelling native bcrypt reads.
    const ok = await this.gate.run(() => bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$')).catch(() => false));
    return { ok, rehash: ok && Buffer.byteLength(password, 'utf8') < BCRYPT_MAX_BYTES };
  }

  /** A check against a dummy hash of `cost`, made once: the work of a failed `verify`. */
  async burn(cost: number, password: string): Promise<void> {
    let dummy = this.#dummies.get(cost);
    if (!dummy) {
      dummy = this.gate.run(() => bcrypt.hash('pico-auth dummy password', cost));
      this.#dummies.set(cost, dummy);
      dummy.catch(() => this.#dummies.delete(cost)); // refused while saturated: made again next time
    }
    await this.verify(await dummy, password);
  }
}
