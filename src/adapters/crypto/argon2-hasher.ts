import argon2 from 'argon2';
import type { Gate } from './gate.js';

/** OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); stronger values may be configured. */
export const OWASP_ARGON2ID = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
export type Argon2Params = typeof OWASP_ARGON2ID;

/**
 * argon2id in the libuv thread pool (off the event loop), through a gate that bounds
 * how many 19 MiB hashes run or wait at once, so a login flood cannot exhaust memory.
 */
export class Argon2Hasher {
  readonly #params: Argon2Params & { type: typeof argon2.argon2id };

  constructor(
    private readonly gate: Gate,
    params: Argon2Params = OWASP_ARGON2ID,
  ) {
    this.#params = { ...params, type: argon2.argon2id };
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => argon2.hash(password, this.#params));
  }

  /** A malformed stored hash is a failed match, not an error: the login answers 401, never 500. */
  async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    const ok = await this.gate.run(() => argon2.verify(hash, password).catch(() => false));
    return { ok, rehash: ok && argon2.needsRehash(hash, this.#params) };
  }
}
