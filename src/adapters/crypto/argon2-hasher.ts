import argon2 from 'argon2';
import { Unavailable } from '../../domain/errors.js';

/** OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); stronger values may be configured. */
export const OWASP_ARGON2ID = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
export type Argon2Params = typeof OWASP_ARGON2ID;

/**
 * argon2id in the libuv thread pool (off the event loop), with at most `maxConcurrent`
 * hashes in flight so a login flood queues instead of allocating 19 MiB per request,
 * and at most `maxWaiting` queued (about 2 s of work) so it is refused (503) rather
 * than piling up behind requests that timed out long ago.
 */
export class Argon2Hasher {
  readonly #params: Argon2Params & { type: typeof argon2.argon2id };
  readonly #gate: Gate;

  constructor(params: Argon2Params = OWASP_ARGON2ID, maxConcurrent = 4, maxWaiting = 128) {
    this.#params = { ...params, type: argon2.argon2id };
    this.#gate = new Gate(maxConcurrent, maxWaiting);
  }

  hash(password: string): Promise<string> {
    return this.#gate.run(() => argon2.hash(password, this.#params));
  }

  /** A malformed stored hash is a failed match, not an error: the login answers 401, never 500. */
  async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    const ok = await this.#gate.run(() => argon2.verify(hash, password).catch(() => false));
    return { ok, rehash: ok && argon2.needsRehash(hash, this.#params) };
  }
}

/** A counting semaphore: runs at most `limit` tasks at once, queues `maxWaiting` in arrival order, refuses the rest. */
class Gate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.limit) this.#active++;
    else if (this.#waiting.length >= this.maxWaiting) throw new Unavailable('password hashing is saturated');
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
