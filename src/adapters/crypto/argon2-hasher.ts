import argon2 from 'argon2';

/** OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); stronger values may be configured. */
export const OWASP_ARGON2ID = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
export type Argon2Params = typeof OWASP_ARGON2ID;

/**
 * argon2id in the libuv thread pool (off the event loop), with at most `maxConcurrent`
 * hashes in flight so a login flood queues instead of allocating 19 MiB per request.
 */
export class Argon2Hasher {
  readonly #params: Argon2Params & { type: typeof argon2.argon2id };
  readonly #gate: Gate;

  constructor(params: Argon2Params = OWASP_ARGON2ID, maxConcurrent = 4) {
    this.#params = { ...params, type: argon2.argon2id };
    this.#gate = new Gate(maxConcurrent);
  }

  hash(password: string): Promise<string> {
    return this.#gate.run(() => argon2.hash(password, this.#params));
  }

  /** A malformed stored hash is a failed match, not an error: the login answers 401, never 500. */
  async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    const ok = await this.#gate.run(() => argon2.verify(hash, password)).catch(() => false);
    return { ok, rehash: ok && argon2.needsRehash(hash, this.#params) };
  }
}

/** A counting semaphore: runs at most `limit` tasks at once, the rest in arrival order. */
class Gate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
