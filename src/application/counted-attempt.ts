import { Unavailable } from '../domain/errors.js';
import type { Deps } from './deps.js';

/**
 * Runs the password check of an attempt already counted by `beginLoginAttempt`. A check
 * the hasher could not make (503: saturated, or its process gone) tested no password, so
 * the attempt stops counting towards the lock: a flood that saturates hashing must not
 * lock out the users whose logins it turned away. Should the counters be unreachable too,
 * the attempt stays counted, and the 503 stands.
 */
export async function checkCountedAttempt<T>(deps: Deps, key: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof Unavailable) await deps.limiter.abandonLoginAttempt(key).catch(() => undefined);
    throw error;
  }
}
