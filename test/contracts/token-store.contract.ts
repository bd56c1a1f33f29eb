import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TokenStore } from '../../src/application/ports.js';
import { isLive } from '../../src/domain/refresh-token.js';
import type { RefreshToken } from '../../src/domain/refresh-token.js';

export interface TokenStoreFixture {
  store: TokenStore;
  close?: () => Promise<void>;
}

// Anchored to the wall clock: stores such as Redis expire keys at a token's real
// `expiresAt`, so a token must not be born already expired.
const BASE = Math.floor(Date.now() / 1000) * 1000 + 123;
const DAY = 86_400_000;

function at(offsetMs: number): Date {
  return new Date(BASE + offsetMs);
}

/** A 64-hex-character hash, the shape of an HMAC-SHA-256. */
function newHash(): string {
  return (randomUUID() + randomUUID()).replaceAll('-', '');
}

function newToken(overrides: Partial<RefreshToken> = {}): RefreshToken {
  return {
    hash: newHash(),
    familyId: randomUUID(),
    userId: randomUUID().replaceAll('-', '').slice(0, 12),
    expiresAt: at(7 * DAY),
    createdAt: at(0),
    consumedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** The successor `refresh` hands to `rotate`: same family, user and absolute expiry. */
function successorOf(parent: RefreshToken, now: Date): RefreshToken {
  return { ...parent, hash: newHash(), createdAt: now, consumedAt: null, revokedAt: null };
}

/**
 * The `TokenStore` contract (STYLE rule 8). Every test makes its own hashes, families and
 * users, so the store may be shared with other data.
 */
export function describeTokenStoreContract(name: string, makeStore: () => Promise<TokenStoreFixture>): void {
  describe(`TokenStore contract: ${name}`, () => {
    let fixture: TokenStoreFixture;
    let store: TokenStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.close?.();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('creates a token and finds it by hash, every field intact to the millisecond', async () => {
      const token = newToken({ expiresAt: at(7 * DAY + 876), createdAt: at(-122) });
      await store.create(token);
      const found = await store.findByHash(token.hash);
      expect(found).toEqual(token);
      expect(found?.expiresAt.getTime()).toBe(token.expiresAt.getTime());
      expect(found?.createdAt.getTime()).toBe(token.createdAt.getTime());
    });

    it('answers undefined for an unknown hash', async () => {
      expect(await store.findByHash(newHash())).toBeUndefined();
    });

    it('does not share state with its callers', async () => {
      const token = newToken();
      await store.create(token);
      token.familyId = 'changed';
      token.expiresAt.setTime(0);
      const found = await store.findByHash(token.hash);
      if (!found) throw new Error('token not found');
      expect(found.familyId).not.toBe('changed');
      expect(found.expiresAt.getTime()).toBe(at(7 * DAY).getTime());
      found.consumedAt = at(1);
      expect((await store.findByHash(token.hash))?.consumedAt).toBeNull();
    });

    it('rotates a live token: the parent is consumed, the successor stored in its family', async () => {
      const parent = newToken();
      await store.create(parent);
      const now = at(60_000 + 7);
      const successor = successorOf(parent, now);

      expect(await store.rotate(parent.hash, successor, now)).toBe(true);

      const consumed = await store.findByHash(parent.hash);
      expect(consumed?.consumedAt?.getTime()).toBe(now.getTime());
      expect(consumed?.revokedAt).toBeNull();
      const stored = await store.findByHash(successor.hash);
      expect(stored).toEqual(successor);
      expect(stored).toMatchObject({ familyId: parent.familyId, userId: parent.userId, consumedAt: null, revokedAt: null });
      expect(stored?.expiresAt.getTime()).toBe(parent.expiresAt.getTime());
      expect(stored?.createdAt.getTime()).toBe(now.getTime());
    });

    it('rotates a chain: each successor can be rotated in turn', async () => {
      const first = newToken();
      await store.create(first);
      const second = successorOf(first, at(1_000));
      const third = successorOf(second, at(2_000));
      expect(await store.rotate(first.hash, second, at(1_000))).toBe(true);
      expect(await store.rotate(second.hash, third, at(2_000))).toBe(true);
      expect(await store.rotate(first.hash, successorOf(first, at(3_000)), at(3_000))).toBe(false);
      expect(isLive((await store.findByHash(third.hash)) as RefreshToken, at(3_000))).toBe(true);
    });

    it('refuses to rotate a consumed parent and stores nothing', async () => {
      const parent = newToken();
      await store.create(parent);
      expect(await store.rotate(parent.hash, successorOf(parent, at(1_000)), at(1_000))).toBe(true);
      const late = successorOf(parent, at(2_000));
      expect(await store.rotate(parent.hash, late, at(2_000))).toBe(false);
      expect(await store.findByHash(late.hash)).toBeUndefined();
      expect((await store.findByHash(parent.hash))?.consumedAt?.getTime()).toBe(at(1_000).getTime());
    });

    it('refuses to rotate a revoked parent and stores nothing', async () => {
      const parent = newToken();
      await store.create(parent);
      await store.revokeFamily(parent.familyId, at(500));
      const successor = successorOf(parent, at(1_000));
      expect(await store.rotate(parent.hash, successor, at(1_000))).toBe(false);
      expect(await store.findByHash(successor.hash)).toBeUndefined();
      expect((await store.findByHash(parent.hash))?.consumedAt).toBeNull();
    });

    it('refuses to rotate an expired parent and stores nothing', async () => {
      const parent = newToken({ expiresAt: at(DAY) });
      await store.create(parent);
      const successor = successorOf(parent, at(DAY + 1));
      expect(await store.rotate(parent.hash, successor, at(DAY + 1))).toBe(false);
      expect(await store.findByHash(successor.hash)).toBeUndefined();
      expect((await store.findByHash(parent.hash))?.consumedAt).toBeNull();
    });

    it('changes nothing when the successor cannot be stored (its hash is taken)', async () => {
      const parent = newToken();
      const squatter = newToken();
      await store.create(parent);
      await store.create(squatter);
      const rotation = store.rotate(parent.hash, { ...successorOf(parent, at(1_000)), hash: squatter.hash }, at(1_000));
      // Refused or failed, the store is as it was: the parent still live, the other token untouched.
      await rotation.then((rotated) => expect(rotated).toBe(false), (error: unknown) => expect(error).toBeInstanceOf(Error));
      expect(await store.findByHash(parent.hash)).toEqual(parent);
      expect(await store.findByHash(squatter.hash)).toEqual(squatter);
    });

    it('refuses to rotate an unknown parent and stores nothing', async () => {
      const successor = newToken();
      expect(await store.rotate(newHash(), successor, at(1_000))).toBe(false);
      expect(await store.findByHash(successor.hash)).toBeUndefined();
    });

    it('lets exactly one of 20 concurrent rotations win, leaving one live token in the family', async () => {
      const parent = newToken();
      await store.create(parent);
      const now = at(5_000);
      const successors = Array.from({ length: 20 }, () => successorOf(parent, now));

      const results = await Promise.all(successors.map((s) => store.rotate(parent.hash, s, now)));

      expect(results.filter((won) => won)).toHaveLength(1);
      const stored = await Promise.all([parent, ...successors].map((t) => store.findByHash(t.hash)));
      const present = stored.filter((t): t is RefreshToken => t !== undefined);
      expect(present).toHaveLength(2);
      expect(present.filter((t) => isLive(t, now))).toHaveLength(1);
      const winner = successors[results.indexOf(true)];
      expect(present.find((t) => isLive(t, now))?.hash).toBe(winner?.hash);
    });

    it('leaves nothing live when revocations race rotations (logout during a refresh)', async () => {
      const now = at(5_000);
      const races = Array.from({ length: 20 }, async (_, i) => {
        const parent = newToken();
        await store.create(parent);
        const successor = successorOf(parent, now);
        const revoke = () => (i % 2 ? store.revokeFamily(parent.familyId, now) : store.revokeAllForUser(parent.userId, now));
        await Promise.all([store.rotate(parent.hash, successor, now), revoke()]);
        return [parent, successor];
      });
      for (const tokens of await Promise.all(races)) {
        for (const token of tokens) {
          const found = await store.findByHash(token.hash);
          expect(found === undefined || !isLive(found, now)).toBe(true);
        }
      }
    });

    it('revokes every token of a family, consumed ones included, and no other family', async () => {
      const first = newToken();
      const bystander = newToken({ userId: first.userId });
      await store.create(first);
      await store.create(bystander);
      const second = successorOf(first, at(1_000));
      await store.rotate(first.hash, second, at(1_000));

      await store.revokeFamily(first.familyId, at(2_000));

      for (const hash of [first.hash, second.hash]) {
        const token = await store.findByHash(hash);
        expect(token?.revokedAt?.getTime()).toBe(at(2_000).getTime());
        expect(isLive(token as RefreshToken, at(2_000))).toBe(false);
      }
      expect((await store.findByHash(first.hash))?.consumedAt?.getTime()).toBe(at(1_000).getTime());
      expect(await store.findByHash(bystander.hash)).toEqual(bystander);
    });

    it('keeps the first revocation time when a family is revoked twice', async () => {
      const token = newToken();
      await store.create(token);
      await store.revokeFamily(token.familyId, at(1_000));
      await store.revokeFamily(token.familyId, at(9_000));
      expect((await store.findByHash(token.hash))?.revokedAt?.getTime()).toBe(at(1_000).getTime());
    });

    it('revokes every token of a user, across families, and no other user', async () => {
      const userId = randomUUID().replaceAll('-', '').slice(0, 12);
      const a = newToken({ userId });
      const b = newToken({ userId });
      const earlier = newToken({ userId });
      const other = newToken();
      for (const t of [a, b, earlier, other]) await store.create(t);
      const a2 = successorOf(a, at(1_000));
      await store.rotate(a.hash, a2, at(1_000));
      await store.revokeFamily(earlier.familyId, at(1_500));

      await store.revokeAllForUser(userId, at(3_000));

      for (const hash of [a.hash, a2.hash, b.hash]) {
        expect((await store.findByHash(hash))?.revokedAt?.getTime()).toBe(at(3_000).getTime());
      }
      expect((await store.findByHash(earlier.hash))?.revokedAt?.getTime()).toBe(at(1_500).getTime());
      expect(await store.findByHash(other.hash)).toEqual(other);
    });

    it('deletes tokens whose family expired before the cutoff, and keeps the rest', async () => {
      const stale = newToken({ expiresAt: at(-2 * DAY), createdAt: at(-9 * DAY) });
      const live = newToken({ expiresAt: at(DAY) });
      await store.create(stale);
      await store.create(live);
      await store.deleteExpired(at(-DAY));
      expect(await store.findByHash(stale.hash)).toBeUndefined();
      expect((await store.findByHash(live.hash))?.hash).toBe(live.hash);
    });

    it('keeps what expired after the cutoff, and what is old but not yet expired', async () => {
      // Within the retention window a late client still learns its token expired (token_expired, not invalid_token).
      const recentlyExpired = newToken({ expiresAt: at(-DAY / 2), createdAt: at(-8 * DAY) });
      const oldButLive = newToken({ expiresAt: at(DAY), createdAt: at(-30 * DAY) });
      await store.create(recentlyExpired);
      await store.create(oldButLive);
      await store.deleteExpired(at(-DAY));
      expect((await store.findByHash(recentlyExpired.hash))?.hash).toBe(recentlyExpired.hash);
      expect((await store.findByHash(oldButLive.hash))?.hash).toBe(oldButLive.hash);
    });

    it('does nothing for an unknown family or user', async () => {
      await expect(store.revokeFamily(randomUUID(), at(0))).resolves.toBeUndefined();
      await expect(store.revokeAllForUser(randomUUID(), at(0))).resolves.toBeUndefined();
    });
  });
}
