import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/application/ports.js';
import { MAX_LOCK_SECONDS } from '../../src/domain/lockout.js';

export interface RateLimiterFixture {
  limiter: RateLimiter;
  close?: () => Promise<void>;
}

const BASE = Date.parse('2026-03-01T12:00:00.000Z');
const HOUR = 3_600_000;

function at(offsetMs: number): Date {
  return new Date(BASE + offsetMs);
}

function newKey(kind: string): string {
  return `${kind}:${randomUUID()}`;
}

/**
 * The `RateLimiter` contract (STYLE rule 8). Time is simulated through the `now`
 * argument, so an adapter must decide with that time, not with its own clock (a Redis
 * TTL may still expire keys for memory's sake). Every test uses its own keys. Boundaries
 * are approached with a millisecond or more of margin, so adapters that round the wait
 * up to whole milliseconds pass too.
 */
export function describeRateLimiterContract(name: string, makeLimiter: () => Promise<RateLimiterFixture>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let fixture: RateLimiterFixture;
    let limiter: RateLimiter;

    beforeEach(async () => {
      fixture = await makeLimiter();
      limiter = fixture.limiter;
    });

    afterEach(async () => {
      await fixture.close?.();
    });

    describe('token bucket', () => {
      it('allows a burst of perMinute, then refuses with the wait for one token', async () => {
        const key = newKey('ip');
        for (let i = 0; i < 6; i++) expect(await limiter.take(key, 6, at(0))).toBe(0);
        const wait = await limiter.take(key, 6, at(0));
        // 6 per minute = one token every 10 s.
        expect(wait).toBeGreaterThan(9);
        expect(wait).toBeLessThanOrEqual(10);
      });

      it('refills continuously with the simulated time', async () => {
        const key = newKey('ip');
        for (let i = 0; i < 6; i++) await limiter.take(key, 6, at(0));
        const halfway = await limiter.take(key, 6, at(5_000));
        expect(halfway).toBeGreaterThan(4);
        expect(halfway).toBeLessThanOrEqual(5);
        expect(await limiter.take(key, 6, at(10_001))).toBe(0);
        expect(await limiter.take(key, 6, at(10_001))).toBeGreaterThan(0);
        // 30 s later three more tokens, no more.
        for (let i = 0; i < 3; i++) expect(await limiter.take(key, 6, at(40_002))).toBe(0);
        expect(await limiter.take(key, 6, at(40_002))).toBeGreaterThan(0);
      });

      it('never holds more than perMinute tokens, however long it rests', async () => {
        const key = newKey('ip');
        await limiter.take(key, 5, at(0));
        for (let i = 0; i < 5; i++) expect(await limiter.take(key, 5, at(HOUR))).toBe(0);
        expect(await limiter.take(key, 5, at(HOUR))).toBeGreaterThan(0);
      });

      it('keeps keys independent', async () => {
        const a = newKey('ip');
        const b = newKey('ip');
        for (let i = 0; i < 3; i++) await limiter.take(a, 3, at(0));
        expect(await limiter.take(a, 3, at(0))).toBeGreaterThan(0);
        expect(await limiter.take(b, 3, at(0))).toBe(0);
      });

      it('lets exactly perMinute of many concurrent takes through', async () => {
        const key = newKey('ip');
        const waits = await Promise.all(Array.from({ length: 25 }, () => limiter.take(key, 10, at(0))));
        expect(waits.filter((w) => w === 0)).toHaveLength(10);
        expect(waits.filter((w) => w > 0)).toHaveLength(15);
      });
    });

    describe('login lockout', () => {
      it('locks after the threshold for 2^(N - threshold) seconds, then lets one attempt through', async () => {
        const key = newKey('login');
        for (let i = 1; i <= 3; i++) expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBe(0);

        const locked = await limiter.beginLoginAttempt(key, 3, at(0));
        expect(locked).toBeGreaterThan(0);
        expect(locked).toBeLessThanOrEqual(1);
        // Attempts during the lock count nothing: the lock does not grow.
        for (let i = 0; i < 5; i++) await limiter.beginLoginAttempt(key, 3, at(500));
        const stillLocked = await limiter.beginLoginAttempt(key, 3, at(500));
        expect(stillLocked).toBeGreaterThan(0);
        expect(stillLocked).toBeLessThanOrEqual(0.5);

        // The lock over, the 4th failure is counted and the next lock lasts 2 s.
        expect(await limiter.beginLoginAttempt(key, 3, at(1_001))).toBe(0);
        const doubled = await limiter.beginLoginAttempt(key, 3, at(1_001));
        expect(doubled).toBeGreaterThan(1);
        expect(doubled).toBeLessThanOrEqual(2);
        expect(await limiter.beginLoginAttempt(key, 3, at(2_500))).toBeGreaterThan(0);
        expect(await limiter.beginLoginAttempt(key, 3, at(3_002))).toBe(0);
        const quadrupled = await limiter.beginLoginAttempt(key, 3, at(3_002));
        expect(quadrupled).toBeGreaterThan(3);
        expect(quadrupled).toBeLessThanOrEqual(4);
      });

      it(`caps the lock at ${MAX_LOCK_SECONDS} s`, async () => {
        const key = newKey('login');
        let now = 0;
        // threshold 1: the N-th failure locks for 2^(N-1) s; N = 12 would be 2048 s.
        for (let failures = 1; failures <= 12; failures++) {
          expect(await limiter.beginLoginAttempt(key, 1, at(now))).toBe(0);
          const locked = await limiter.beginLoginAttempt(key, 1, at(now));
          expect(locked).toBeGreaterThan(0);
          now += Math.ceil(locked * 1000) + 1;
        }
        expect(await limiter.beginLoginAttempt(key, 1, at(now))).toBe(0);
        const capped = await limiter.beginLoginAttempt(key, 1, at(now));
        expect(capped).toBeGreaterThan(MAX_LOCK_SECONDS - 1);
        expect(capped).toBeLessThanOrEqual(MAX_LOCK_SECONDS);
      });

      it('starts again from zero after a reset', async () => {
        const key = newKey('login');
        for (let i = 0; i < 3; i++) await limiter.beginLoginAttempt(key, 3, at(0));
        expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBeGreaterThan(0);

        await limiter.resetLoginFailures(key);

        for (let i = 0; i < 3; i++) expect(await limiter.beginLoginAttempt(key, 3, at(10))).toBe(0);
        expect(await limiter.beginLoginAttempt(key, 3, at(10))).toBeGreaterThan(0);
      });

      it('takes back an abandoned attempt: it no longer counts towards the lock', async () => {
        const key = newKey('login');
        for (let i = 0; i < 2; i++) expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBe(0);
        await limiter.abandonLoginAttempt(key);
        for (let i = 0; i < 2; i++) expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBe(0);
        expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBeGreaterThan(0);
      });

      it('lifts the lock that an abandoned attempt set', async () => {
        const key = newKey('login');
        for (let i = 0; i < 3; i++) expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBe(0);
        expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBeGreaterThan(0);
        await limiter.abandonLoginAttempt(key);
        expect(await limiter.beginLoginAttempt(key, 3, at(0))).toBe(0);
      });

      it('abandons an unknown key without complaint, and counts it from zero afterwards', async () => {
        const key = newKey('login');
        await expect(limiter.abandonLoginAttempt(key)).resolves.toBeUndefined();
        expect(await limiter.beginLoginAttempt(key, 1, at(0))).toBe(0);
        expect(await limiter.beginLoginAttempt(key, 1, at(0))).toBeGreaterThan(0);
      });

      it('resets an unknown key without complaint', async () => {
        await expect(limiter.resetLoginFailures(newKey('login'))).resolves.toBeUndefined();
      });

      it('never locks with threshold 0', async () => {
        const key = newKey('login');
        for (let i = 0; i < 50; i++) expect(await limiter.beginLoginAttempt(key, 0, at(0))).toBe(0);
      });

      it('remembers failures for less than 12 h of quiet', async () => {
        const key = newKey('login');
        for (let i = 0; i < 3; i++) await limiter.beginLoginAttempt(key, 3, at(0));
        expect(await limiter.beginLoginAttempt(key, 3, at(11 * HOUR))).toBe(0);
        expect(await limiter.beginLoginAttempt(key, 3, at(11 * HOUR))).toBeGreaterThan(1);
      });

      it('forgets failures after 12 h of quiet', async () => {
        const key = newKey('login');
        for (let i = 0; i < 3; i++) await limiter.beginLoginAttempt(key, 3, at(0));
        const later = at(12 * HOUR + 1_000);
        for (let i = 0; i < 3; i++) expect(await limiter.beginLoginAttempt(key, 3, later)).toBe(0);
        const locked = await limiter.beginLoginAttempt(key, 3, later);
        expect(locked).toBeGreaterThan(0);
        expect(locked).toBeLessThanOrEqual(1);
      });

      it('keeps accounts independent', async () => {
        const a = newKey('login');
        const b = newKey('login');
        for (let i = 0; i < 2; i++) await limiter.beginLoginAttempt(a, 2, at(0));
        expect(await limiter.beginLoginAttempt(a, 2, at(0))).toBeGreaterThan(0);
        expect(await limiter.beginLoginAttempt(b, 2, at(0))).toBe(0);
        await limiter.resetLoginFailures(b);
        expect(await limiter.beginLoginAttempt(a, 2, at(0))).toBeGreaterThan(0);
      });

      it('lets exactly threshold of 30 concurrent attempts through', async () => {
        const key = newKey('login');
        const results = await Promise.all(Array.from({ length: 30 }, () => limiter.beginLoginAttempt(key, 5, at(0))));
        expect(results.filter((r) => r === 0)).toHaveLength(5);
        expect(results.filter((r) => r > 0)).toHaveLength(25);
      });
    });
  });
}
