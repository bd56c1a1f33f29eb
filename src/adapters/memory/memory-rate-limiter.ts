import type { RateLimiter } from '../../application/ports.js';
import { FAILURE_MEMORY_SECONDS, lockSeconds } from '../../domain/lockout.js';

/** Entries kept per map before the least recently written are evicted. */
const DEFAULT_MAX_ENTRIES = 100_000;
/** Below this size nothing is swept: a sweep would cost more than the memory it frees. */
const MIN_SWEEP_SIZE = 1_000;
/** Refill arithmetic is floating point; a token short by less than this counts as whole. */
const EPSILON = 1e-9;
const FAILURE_MEMORY_MS = FAILURE_MEMORY_SECONDS * 1000;

interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
  perMinute: number;
}

interface LoginFailures {
  failures: number;
  /** Epoch ms of the last counted attempt. */
  lastFailureAt: number;
  /** Epoch ms the lock set by the last counted attempt ends: past `lastFailureAt` once the count reached the threshold (for eviction only). */
  lockedUntil: number;
}

export interface MemoryRateLimiterOptions {
  /** Upper bound on the entries of each map (buckets, login failures). */
  maxEntries?: number;
}

/**
 * Throttling counters held in process memory (SPEC §4): used when Redis is not
 * configured, so they are per process and lost on restart. Each method runs without an
 * `await` between reading and writing its entry, which makes it atomic on Node's single
 * thread: concurrent guesses cannot race past a lock.
 *
 * Memory stays bounded: once a map grows past its last swept size, entries that no longer
 * matter (a full bucket, failures older than 12 h) are dropped, and past `maxEntries` the
 * least recently written go first; buckets still refusing, and accounts whose count has
 * reached the lockout threshold (locked now, or to be locked again by their next
 * failure), go last. Evicting a counter below the threshold forgets fewer than
 * `threshold` guesses; one at it is kept for its 12 h, however many fresh keys follow.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #buckets: BoundedMap<Bucket>;
  readonly #failures: BoundedMap<LoginFailures>;

  constructor(options: MemoryRateLimiterOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#buckets = new BoundedMap(max, isFull, (bucket, now) => tokensAt(bucket, now) < 1 - EPSILON);
    this.#failures = new BoundedMap(
      max,
      (state, now) => now - state.lastFailureAt >= FAILURE_MEMORY_MS,
      (state) => state.lockedUntil > state.lastFailureAt,
    );
  }

  /** Entries held in all maps: for tests and metrics. */
  get size(): number {
    return this.#buckets.size + this.#failures.size;
  }

  async take(key: string, perMinute: number, now: Date): Promise<number> {
    if (!(perMinute > 0)) return 0;
    const t = now.getTime();
    const previous = this.#buckets.get(key);
    // A clock that steps back (requests racing) neither refills nor drains the bucket.
    const at = Math.max(t, previous?.at ?? t);
    const tokens = previous ? Math.min(perMinute, tokensAt(previous, at)) : perMinute;
    const allowed = tokens >= 1 - EPSILON;
    const left = allowed ? Math.max(0, tokens - 1) : tokens;
    this.#buckets.set(key, { tokens: left, at, perMinute }, t);
    if (allowed) return 0;
    const waitMs = at - t + ((1 - left) * 60_000) / perMinute;
    return waitMs / 1000;
  }

  async beginLoginAttempt(key: string, threshold: number, now: Date): Promise<number> {
    // Lockout off: nothing to count, and nothing to remember.
    if (!(threshold > 0)) return 0;
    const t = now.getTime();
    let state = this.#failures.get(key);
    if (state && t - state.lastFailureAt >= FAILURE_MEMORY_MS) state = undefined;
    if (state) {
      const lockEnd = state.lastFailureAt + lockSeconds(state.failures, threshold) * 1000;
      if (t < lockEnd) return (lockEnd - t) / 1000;
    }
    const failures = (state?.failures ?? 0) + 1;
    const lastFailureAt = Math.max(t, state?.lastFailureAt ?? t);
    const lockedUntil = lastFailureAt + lockSeconds(failures, threshold) * 1000;
    this.#failures.set(key, { failures, lastFailureAt, lockedUntil }, t);
    return 0;
  }

  async resetLoginFailures(key: string): Promise<void> {
    this.#failures.delete(key);
  }

  async abandonLoginAttempt(key: string): Promise<void> {
    const state = this.#failures.get(key);
    if (!state) return;
    // The lock is computed from the count when the next attempt begins; `lastFailureAt`
    // and `lockedUntil` stay, which only errs towards remembering the entry longer.
    if (state.failures <= 1) this.#failures.delete(key);
    else state.failures--;
  }
}

/** Tokens the bucket holds at `now`, uncapped: refill is continuous. */
function tokensAt(bucket: Bucket, now: number): number {
  return bucket.tokens + (Math.max(0, now - bucket.at) * bucket.perMinute) / 60_000;
}

/** A full bucket is the same as no bucket at all. */
function isFull(bucket: Bucket, now: number): boolean {
  return tokensAt(bucket, now) >= bucket.perMinute - EPSILON;
}

/**
 * A map that sweeps itself when it has doubled since the last sweep (so sweeping costs
 * O(1) per write, amortized), and never holds more than `max` entries after a sweep.
 */
class BoundedMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #max: number;
  readonly #isStale: (value: V, now: number) => boolean;
  readonly #isPinned: (value: V, now: number) => boolean;
  #sweepAbove: number;

  constructor(max: number, isStale: (value: V, now: number) => boolean, isPinned: (value: V, now: number) => boolean) {
    this.#max = Math.max(1, max);
    this.#isStale = isStale;
    this.#isPinned = isPinned;
    this.#sweepAbove = Math.min(this.#max, MIN_SWEEP_SIZE);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  set(key: string, value: V, now: number): void {
    // Re-inserting keeps iteration order = least recently written first.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#sweepAbove) this.#sweep(now);
  }

  #sweep(now: number): void {
    for (const [key, value] of this.#entries) if (this.#isStale(value, now)) this.#entries.delete(key);
    if (this.#entries.size > this.#max) this.#evict(now, Math.floor(this.#max * 0.9));
    this.#sweepAbove = Math.min(this.#max, Math.max(MIN_SWEEP_SIZE, 2 * this.#entries.size));
  }

  /** Oldest first, sparing pinned entries unless nothing else is left to drop. */
  #evict(now: number, target: number): void {
    for (const sparePinned of [true, false]) {
      for (const [key, value] of this.#entries) {
        if (this.#entries.size <= target) return;
        if (!sparePinned || !this.#isPinned(value, now)) this.#entries.delete(key);
      }
    }
  }
}
