import argon2 from 'argon2';

/** OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); stronger values may be configured. */
export const OWASP_ARGON2ID = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
export type Argon2Params = typeof OWASP_ARGON2ID;

/**
 * argon2id in the libuv thread pool, off the event loop. Unbounded by itself: its caller
 * bounds how many 19 MiB hashes run or wait at once, so a login flood cannot exhaust memory.
 */
export class Argon2 {
  readonly #params: Argon2Params & { type: typeof argon2.argon2id };

  constructor(params: Argon2Params = OWASP_ARGON2ID) {
    this.#params = { ...params, type: argon2.argon2id };
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.#params);
  }

  /** Whether the password matches; undefined when the stored hash cannot be read (so nothing was computed). */
  verify(hash: string, password: string): Promise<boolean | undefined> {
    return argon2.verify(hash, password).catch(() => undefined);
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, this.#params);
  }
}
