import { describe, expect, it } from 'vitest';
import { InvalidToken, TokenExpired } from '../../src/domain/errors.js';
import { decideRefresh, isLive } from '../../src/domain/refresh-token.js';
import type { RefreshToken } from '../../src/domain/refresh-token.js';

const BASE = Date.parse('2026-03-01T12:00:00.000Z');
const at = (offsetMs: number): Date => new Date(BASE + offsetMs);

function token(overrides: Partial<RefreshToken> = {}): RefreshToken {
  return {
    hash: 'h'.repeat(64),
    familyId: 'family',
    userId: 'user',
    expiresAt: at(60_000),
    createdAt: at(0),
    consumedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

describe('isLive', () => {
  it('is true for an unused, unrevoked, unexpired token', () => {
    expect(isLive(token(), at(59_999))).toBe(true);
  });

  it('is false once consumed, revoked or expired', () => {
    expect(isLive(token({ consumedAt: at(1) }), at(2))).toBe(false);
    expect(isLive(token({ revokedAt: at(1) }), at(2))).toBe(false);
    expect(isLive(token(), at(60_000))).toBe(false);
    expect(isLive(token(), at(60_001))).toBe(false);
  });
});

describe('decideRefresh', () => {
  const grace = 10;
  const consumed = token({ consumedAt: at(1_000) });
  const liveSuccessor = token({ hash: 's'.repeat(64), createdAt: at(1_000) });

  it('rejects an unknown token as invalid', () => {
    const decision = decideRefresh(undefined, undefined, at(0), grace);
    expect(decision.kind).toBe('reject');
    if (decision.kind === 'reject') expect(decision.error).toBeInstanceOf(InvalidToken);
  });

  it('rotates a live token', () => {
    expect(decideRefresh(token(), undefined, at(500), grace)).toEqual({ kind: 'rotate' });
  });

  it('replays a token consumed within the grace whose successor is still live', () => {
    expect(decideRefresh(consumed, liveSuccessor, at(1_000), grace)).toEqual({ kind: 'replay' });
    expect(decideRefresh(consumed, liveSuccessor, at(10_999), grace)).toEqual({ kind: 'replay' });
  });

  it('treats a token consumed just past the grace as reuse', () => {
    expect(decideRefresh(consumed, liveSuccessor, at(11_000), grace)).toEqual({ kind: 'reuse' });
    expect(decideRefresh(consumed, liveSuccessor, at(60_000 * 5), grace)).toEqual({ kind: 'reuse' });
  });

  it('treats a token consumed within the grace as reuse when its successor was used, revoked, expired or is missing', () => {
    const now = at(2_000);
    expect(decideRefresh(consumed, { ...liveSuccessor, consumedAt: at(1_500) }, now, grace).kind).toBe('reuse');
    expect(decideRefresh(consumed, { ...liveSuccessor, revokedAt: at(1_500) }, now, grace).kind).toBe('reuse');
    expect(decideRefresh(consumed, { ...liveSuccessor, expiresAt: at(1_500) }, now, grace).kind).toBe('reuse');
    expect(decideRefresh(consumed, undefined, now, grace).kind).toBe('reuse');
  });

  it('treats any consumed token as reuse when the grace is 0, even at the same instant', () => {
    expect(decideRefresh(consumed, liveSuccessor, at(1_000), 0)).toEqual({ kind: 'reuse' });
  });

  it('lets reuse win over revocation and expiry', () => {
    expect(decideRefresh(token({ consumedAt: at(1_000), revokedAt: at(2_000) }), undefined, at(3_000), 0).kind).toBe('reuse');
    expect(decideRefresh(token({ consumedAt: at(1_000) }), undefined, at(120_000), 0).kind).toBe('reuse');
  });

  it('rejects a revoked token as invalid, even when expired too', () => {
    for (const now of [at(2_000), at(120_000)]) {
      const decision = decideRefresh(token({ revokedAt: at(1_000) }), undefined, now, grace);
      expect(decision.kind).toBe('reject');
      if (decision.kind === 'reject') {
        expect(decision.error).toBeInstanceOf(InvalidToken);
        expect(decision.error.code).toBe('invalid_token');
      }
    }
  });

  it('rejects an expired token as expired, from its expiry instant on', () => {
    for (const now of [at(60_000), at(60_001)]) {
      const decision = decideRefresh(token(), undefined, now, grace);
      expect(decision.kind).toBe('reject');
      if (decision.kind === 'reject') {
        expect(decision.error).toBeInstanceOf(TokenExpired);
        expect(decision.error.code).toBe('token_expired');
      }
    }
  });
});
