import { InvalidToken, TokenExpired } from './errors.js';
import type { AuthError } from './errors.js';

/** Refresh tokens are 43 characters; anything far longer is refused before it is hashed. */
export const MAX_REFRESH_TOKEN_LENGTH = 512;

/** A stored refresh token. Only its keyed hash is kept, never the token itself. */
export interface RefreshToken {
  hash: string;
  familyId: string;
  userId: string;
  /** Absolute end of the family's life, fixed at login and inherited by every successor. */
  expiresAt: Date;
  createdAt: Date;
  consumedAt: Date | null;
  revokedAt: Date | null;
}

export type RefreshDecision =
  | { kind: 'rotate' }
  /** Inside the retry grace: hand out the same successor again. */
  | { kind: 'replay' }
  /** An already-consumed token came back: revoke the family. */
  | { kind: 'reuse' }
  | { kind: 'reject'; error: AuthError };

export function isLive(token: RefreshToken, now: Date): boolean {
  return token.consumedAt === null && token.revokedAt === null && token.expiresAt > now;
}

/**
 * What to do with a presented refresh token (SPEC §5). `successor` is the token that
 * rotating `token` produced, if any. Reuse wins over revocation and expiry.
 */
export function decideRefresh(
  token: RefreshToken | undefined,
  successor: RefreshToken | undefined,
  now: Date,
  graceSeconds: number,
): RefreshDecision {
  if (!token) return { kind: 'reject', error: new InvalidToken('Refresh token is invalid') };
  if (token.consumedAt) {
    const inGrace = now.getTime() - token.consumedAt.getTime() < graceSeconds * 1000;
    return inGrace && successor && isLive(successor, now) ? { kind: 'replay' } : { kind: 'reuse' };
  }
  if (token.revokedAt) return { kind: 'reject', error: new InvalidToken('Refresh token has been revoked') };
  if (token.expiresAt <= now) return { kind: 'reject', error: new TokenExpired() };
  return { kind: 'rotate' };
}
