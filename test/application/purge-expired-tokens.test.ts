import { describe, expect, it } from 'vitest';
import { EXPIRED_TOKEN_RETENTION_SECONDS, purgeExpiredTokens } from '../../src/application/purge-expired-tokens.js';
import { makeDeps, seedRefreshToken, START } from '../support/fakes.js';

describe('purgeExpiredTokens', () => {
  it(`deletes tokens that expired more than ${EXPIRED_TOKEN_RETENTION_SECONDS} s ago and keeps the rest`, async () => {
    const deps = makeDeps();
    const retentionMs = EXPIRED_TOKEN_RETENTION_SECONDS * 1000;
    const long = await seedRefreshToken(deps, 'u1', { expiresAt: new Date(START - retentionMs - 1) });
    const edge = await seedRefreshToken(deps, 'u1', { expiresAt: new Date(START - retentionMs) });
    const recent = await seedRefreshToken(deps, 'u2', { expiresAt: new Date(START - 1) });
    const live = await seedRefreshToken(deps, 'u2');

    await purgeExpiredTokens(deps);

    expect(await deps.tokens.findByHash(long.stored.hash)).toBeUndefined();
    expect(await deps.tokens.all()).toEqual([edge.stored, recent.stored, live.stored]);
  });

  it('follows the clock: what was recent is purged a day later', async () => {
    const deps = makeDeps();
    const recent = await seedRefreshToken(deps, 'u1', { expiresAt: new Date(START - 1) });
    await purgeExpiredTokens(deps);
    expect(await deps.tokens.all()).toEqual([recent.stored]);

    deps.clock.advanceSeconds(EXPIRED_TOKEN_RETENTION_SECONDS);
    await purgeExpiredTokens(deps);

    expect(await deps.tokens.all()).toEqual([]);
  });
});
