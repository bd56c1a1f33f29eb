import { describe, expect, it } from 'vitest';
import { FAILURE_MEMORY_SECONDS, MAX_LOCK_SECONDS, lockSeconds } from '../../src/domain/lockout.js';

describe('lockSeconds', () => {
  it('does not lock below the threshold', () => {
    for (let failures = 0; failures < 5; failures++) expect(lockSeconds(failures, 5)).toBe(0);
  });

  it('locks for 2^(N - threshold) seconds from the threshold on', () => {
    expect([5, 6, 7, 8, 14].map((n) => lockSeconds(n, 5))).toEqual([1, 2, 4, 8, 512]);
    expect(lockSeconds(1, 1)).toBe(1);
  });

  it('caps the lock at 900 s', () => {
    expect(MAX_LOCK_SECONDS).toBe(900);
    expect(lockSeconds(15, 5)).toBe(900);
    expect(lockSeconds(10_000, 5)).toBe(900);
    expect(lockSeconds(Number.MAX_SAFE_INTEGER, 1)).toBe(900);
  });

  it('never locks when the threshold is 0 (off) or negative', () => {
    for (const threshold of [0, -1]) expect(lockSeconds(1_000, threshold)).toBe(0);
  });

  it('forgets failures after 12 h', () => {
    expect(FAILURE_MEMORY_SECONDS).toBe(12 * 60 * 60);
  });
});
