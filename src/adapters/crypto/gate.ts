import { Unavailable } from '../../domain/errors.js';

/**
 * A counting semaphore for work done in the libuv thread pool: runs at most `limit`
 * tasks at once, queues `maxWaiting` in arrival order, and refuses the rest (503) rather
 * than piling up work behind requests that timed out long ago.
 */
export class Gate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private maxWaiting: number,
  ) {}

  /** Queues at most `maxWaiting` from now on (those already waiting stay). */
  limitWaiting(maxWaiting: number): void {
    this.maxWaiting = maxWaiting;
  }

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
