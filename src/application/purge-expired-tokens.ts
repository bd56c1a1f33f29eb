import type { Deps } from './deps.js';

/**
 * Expired refresh tokens are kept this long, so a late client still hears
 * `token_expired` and a late replay is still caught as reuse; then they are deleted.
 */
export const EXPIRED_TOKEN_RETENTION_SECONDS = 24 * 60 * 60;

/** Keeps the token store from growing without bound. */
export async function purgeExpiredTokens(deps: Pick<Deps, 'tokens' | 'clock'>): Promise<void> {
  const cutoff = new Date(deps.clock.now().getTime() - EXPIRED_TOKEN_RETENTION_SECONDS * 1000);
  await deps.tokens.deleteExpired(cutoff);
}
