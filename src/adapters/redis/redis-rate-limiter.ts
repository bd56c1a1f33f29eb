import type { Redis } from 'ioredis';
import type { RateLimiter } from '../../application/ports.js';
import { FAILURE_MEMORY_SECONDS, MAX_LOCK_SECONDS } from '../../domain/lockout.js';
import { defineScript, guardedRedis } from './connection.js';

/**
 * Token bucket. KEYS: bucket. ARGV: now (ms), capacity (= per minute).
 * Returns 0 if a request was taken, else the milliseconds until one is available.
 */
const TAKE = `
local now, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
-- Instances' clocks may disagree: time never runs backwards for a bucket.
if now < at then now = at end
tokens = math.min(capacity, tokens + (now - at) * capacity / 60000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 60000 / capacity) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait`;

/**
 * Counts a login attempt unless the account is locked (SPEC §4 "Throttling"); mirrors
 * domain/lockout.ts. KEYS: account. ARGV: now (ms), threshold, max lock s, memory s.
 * Returns 0 if the attempt may proceed, else the milliseconds left on the lock.
 */
const BEGIN_ATTEMPT = `
local now, threshold = tonumber(ARGV[1]), tonumber(ARGV[2])
if threshold <= 0 then return 0 end
local state = redis.call('HMGET', KEYS[1], 'failures', 'last')
local failures, last = tonumber(state[1]) or 0, tonumber(state[2]) or 0
if now - last > tonumber(ARGV[4]) * 1000 then failures = 0 end
if failures >= threshold then
  local lockedUntil = last + math.min(tonumber(ARGV[3]), 2 ^ (failures - threshold)) * 1000
  if now < lockedUntil then return lockedUntil - now end
end
redis.call('HSET', KEYS[1], 'failures', failures + 1, 'last', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 1000)
return 0`;

/** Takes back one counted attempt. KEYS: account. */
const ABANDON_ATTEMPT = `
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures'))
if failures == nil then return 0 end
if failures <= 1 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'failures', failures - 1) end
return 0`;

/** Throttling counters shared by every server instance. */
export class RedisRateLimiter implements RateLimiter {
  readonly #take;
  readonly #beginAttempt;
  readonly #abandonAttempt;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.#take = defineScript(redis, 'picoAuthTake', TAKE);
    this.#beginAttempt = defineScript(redis, 'picoAuthBeginAttempt', BEGIN_ATTEMPT);
    this.#abandonAttempt = defineScript(redis, 'picoAuthAbandonAttempt', ABANDON_ATTEMPT);
  }

  async take(key: string, perMinute: number, now: Date): Promise<number> {
    const waitMs = Number(await this.#take([`${this.prefix}bucket:${key}`], [now.getTime(), perMinute]));
    return waitMs / 1000;
  }

  async beginLoginAttempt(key: string, threshold: number, now: Date): Promise<number> {
    const args = [now.getTime(), threshold, MAX_LOCK_SECONDS, FAILURE_MEMORY_SECONDS];
    const lockedMs = Number(await this.#beginAttempt([`${this.prefix}login:${key}`], args));
    return lockedMs / 1000;
  }

  async resetLoginFailures(key: string): Promise<void> {
    await guardedRedis(() => this.redis.del(`${this.prefix}login:${key}`));
  }

  async abandonLoginAttempt(key: string): Promise<void> {
    await this.#abandonAttempt([`${this.prefix}login:${key}`], []);
  }
}
