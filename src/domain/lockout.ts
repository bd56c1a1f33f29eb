/** Longest lock, whatever the number of failures (SPEC §4 "Throttling"). */
export const MAX_LOCK_SECONDS = 900;
/** Quiet time after which the failure count starts again from zero. */
export const FAILURE_MEMORY_SECONDS = 12 * 60 * 60;

/** Seconds an account stays locked after its `failures`-th consecutive failure. */
export function lockSeconds(failures: number, threshold: number): number {
  if (threshold <= 0 || failures < threshold) return 0;
  return Math.min(MAX_LOCK_SECONDS, 2 ** (failures - threshold));
}
