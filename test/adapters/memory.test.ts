import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { MemoryTokenStore } from '../../src/adapters/memory/memory-token-store.js';
import { MemoryUserStore } from '../../src/adapters/memory/memory-user-store.js';
import { describeRateLimiterContract } from '../contracts/rate-limiter.contract.js';
import { describeTokenStoreContract } from '../contracts/token-store.contract.js';
import { describeUserStoreContract } from '../contracts/user-store.contract.js';

describeUserStoreContract('memory', async () => ({ store: new MemoryUserStore() }));
describeTokenStoreContract('memory', async () => ({ store: new MemoryTokenStore() }));
describeRateLimiterContract('memory', async () => ({ limiter: new MemoryRateLimiter() }));

describe('MemoryRateLimiter memory bound', () => {
  const start = Date.parse('2026-03-01T12:00:00.000Z');

  it('drops full buckets and forgotten failures once it grows', async () => {
    const limiter = new MemoryRateLimiter({ maxEntries: 50 });
    for (let i = 0; i < 40; i++) await limiter.take(`ip:${i}`, 60, new Date(start));
    for (let i = 0; i < 40; i++) await limiter.beginLoginAttempt(`login:${i}`, 5, new Date(start));
    expect(limiter.size).toBe(80);
    // A minute refills every bucket; 12 h forgets every failure.
    const later = new Date(start + 12 * 3_600_000);
    for (let i = 0; i < 11; i++) await limiter.take(`ip:new-${i}`, 60, later);
    for (let i = 0; i < 11; i++) await limiter.beginLoginAttempt(`login:new-${i}`, 5, later);
    expect(limiter.size).toBe(22);
  });

  it('never keeps more than maxEntries, evicting locked accounts last', async () => {
    const limiter = new MemoryRateLimiter({ maxEntries: 100 });
    const now = new Date(start);
    await limiter.beginLoginAttempt('login:victim', 1, now); // locked for 1 s from here
    for (let i = 0; i < 1_000; i++) await limiter.beginLoginAttempt(`login:spray-${i}`, 5, now);
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect(await limiter.beginLoginAttempt('login:victim', 1, now)).toBeGreaterThan(0);
  });

  it('keeps an account whose lock has run out, but whose count stands at the threshold, past a flood of fresh keys', async () => {
    const limiter = new MemoryRateLimiter({ maxEntries: 100 });
    for (let i = 0; i < 5; i++) await limiter.beginLoginAttempt('login:target', 5, new Date(start)); // the 5th locks it for 1 s
    const afterLock = new Date(start + 2_000);
    for (let i = 0; i < 1_000; i++) await limiter.beginLoginAttempt(`login:spray-${i}`, 5, afterLock);
    expect(limiter.size).toBeLessThanOrEqual(100);

    // Still counted: the next failure is the 6th, and locks for 2 s; a forgotten count would allow 4 more.
    expect(await limiter.beginLoginAttempt('login:target', 5, afterLock)).toBe(0);
    expect(await limiter.beginLoginAttempt('login:target', 5, afterLock)).toBe(2);
  });
});
