import { InvalidToken, TokenReused, UserSuspended } from '../domain/errors.js';
import { decideRefresh, MAX_REFRESH_TOKEN_LENGTH } from '../domain/refresh-token.js';
import type { RefreshToken } from '../domain/refresh-token.js';
import type { User } from '../domain/user.js';
import type { Deps, RequestContext } from './deps.js';
import { issueTokens } from './issue-tokens.js';
import type { TokenPair } from './issue-tokens.js';

/**
 * Rotates a refresh token (SPEC §5): the presented token is consumed, its successor
 * returned, and a consumed token coming back revokes its whole family.
 */
export async function refresh(deps: Deps, presented: string, ctx: RequestContext): Promise<TokenPair> {
  if (presented.length === 0 || presented.length > MAX_REFRESH_TOKEN_LENGTH) {
    throw new InvalidToken('Refresh token is invalid');
  }
  const { secrets, tokens, clock } = deps;
  const hash = secrets.hashOf(presented);
  const successorToken = secrets.successorOf(presented);
  const successorHash = secrets.hashOf(successorToken);

  // Two passes at most: losing the race to rotate means the token is now consumed,
  // and the second look decides between a grace replay and reuse.
  for (let attempt = 0; attempt < 2; attempt++) {
    const now = clock.now();
    const token = await tokens.findByHash(hash);
    const successor = token?.consumedAt ? await tokens.findByHash(successorHash) : undefined;
    const decision = decideRefresh(token, successor, now, deps.settings.refreshReuseGraceSeconds);
    if (decision.kind === 'reject') throw decision.error;
    const found = token as RefreshToken; // every decision but 'reject' means it exists
    if (decision.kind === 'reuse') {
      await tokens.revokeFamily(found.familyId, now);
      ctx.audit.record('refresh_reused', { userId: found.userId, familyId: found.familyId, ip: ctx.ip });
      throw new TokenReused();
    }
    const user = await activeOwner(deps, found, now);
    if (decision.kind === 'replay') return issueTokens(deps, user, successorToken);
    const next = { ...found, hash: successorHash, createdAt: now, consumedAt: null, revokedAt: null };
    // Signed while the rotation commits; a rotation lost to a concurrent one discards it
    // unseen. A signature that fails once the rotation stands is a 500 whose retry is, like
    // any answer lost on its way, a replay inside the grace window and reuse without one.
    const [rotated, issued] = await Promise.all([tokens.rotate(hash, next, now), issueTokens(deps, user, successorToken)]);
    if (rotated) return issued;
  }
  throw new InvalidToken('Refresh token is invalid');
}

/** Re-reads the owner, so the new access token carries the current role and status. */
async function activeOwner(deps: Deps, token: RefreshToken, now: Date): Promise<User> {
  const user = await deps.users.findById(token.userId);
  if (!user) {
    await deps.tokens.revokeFamily(token.familyId, now);
    throw new InvalidToken('Refresh token is invalid');
  }
  if (user.status !== 'active') {
    await deps.tokens.revokeAllForUser(user.id, now);
    throw new UserSuspended();
  }
  return user;
}
