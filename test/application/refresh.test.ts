import { describe, expect, it } from 'vitest';
import { login } from '../../src/application/login.js';
import { logout } from '../../src/application/logout.js';
import { refresh } from '../../src/application/refresh.js';
import type { RefreshToken } from '../../src/domain/refresh-token.js';
import { InvalidToken, TokenExpired, TokenReused, UserSuspended } from '../../src/domain/errors.js';
import type { AccessClaims } from '../../src/application/ports.js';
import { FakeClock, FakeSigner, InspectableTokenStore, makeContext, makeDeps, PASSWORD, seedRefreshToken, seedUser } from '../support/fakes.js';
import type { DepsOverrides, TestDeps } from '../support/fakes.js';

/** A token store where something else happens just before each rotation (a concurrent request). */
class InterleavedTokenStore extends InspectableTokenStore {
  beforeRotate: (() => Promise<void>) | undefined;

  override async rotate(parentHash: string, successor: RefreshToken, now: Date): Promise<boolean> {
    const hook = this.beforeRotate;
    this.beforeRotate = undefined;
    if (hook) await hook();
    return super.rotate(parentHash, successor, now);
  }
}

/** A signer that fails its next signature once `failNext` is set (a key or thread pool gone wrong). */
class FlakySigner extends FakeSigner {
  failNext = false;

  override async sign(claims: AccessClaims): Promise<string> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('signing failed');
    }
    return super.sign(claims);
  }
}

async function loggedIn(overrides: DepsOverrides = {}) {
  const deps = makeDeps(overrides);
  const user = await seedUser(deps, { role: 'viewer', orgId: 'acme' });
  const pair = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
  const [first] = await deps.tokens.all();
  return { deps, user, pair, first: first as RefreshToken };
}

const stored = (deps: TestDeps, token: string) => deps.tokens.findByHash(deps.secrets.hashOf(token));

describe('refresh', () => {
  it('consumes the presented token and stores its successor in the same family', async () => {
    const { deps, user, pair, first } = await loggedIn();
    deps.clock.advanceSeconds(30);
    const now = deps.clock.now();

    const next = await refresh(deps, pair.refreshToken, makeContext());

    expect(next.refreshToken).toBe(deps.secrets.successorOf(pair.refreshToken));
    expect(next.expiresIn).toBe(deps.signer.expiresInSeconds);
    expect(await deps.tokens.all()).toEqual([
      { ...first, consumedAt: now },
      {
        hash: deps.secrets.hashOf(next.refreshToken),
        familyId: first.familyId,
        userId: user.id,
        expiresAt: first.expiresAt, // the family's life is fixed at login
        createdAt: now,
        consumedAt: null,
        revokedAt: null,
      },
    ]);
    expect(await deps.signer.verify(next.accessToken)).toMatchObject({ sub: user.id, role: 'viewer', org_id: 'acme' });
  });

  it('signs the access token with the role the user has now', async () => {
    const { deps, user, pair } = await loggedIn();
    await deps.users.updateRole(user.id, 'operator');

    const next = await refresh(deps, pair.refreshToken, makeContext());

    expect(await deps.signer.verify(next.accessToken)).toMatchObject({ role: 'operator' });
  });

  it('rotates the successor in turn, down the chain', async () => {
    const { deps, pair } = await loggedIn();
    const second = await refresh(deps, pair.refreshToken, makeContext());
    const third = await refresh(deps, second.refreshToken, makeContext());

    expect((await stored(deps, second.refreshToken))?.consumedAt).not.toBeNull();
    expect(await stored(deps, third.refreshToken)).toMatchObject({ consumedAt: null, revokedAt: null });
    expect(await deps.tokens.all()).toHaveLength(3);
  });

  it.each([
    ['empty', ''],
    ['longer than 512 characters', 'r'.repeat(513)],
    ['unknown', 'rt-never-issued'],
  ])('refuses an %s token with InvalidToken', async (_label, presented) => {
    const { deps, first } = await loggedIn();

    const error = await refresh(deps, presented, makeContext()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidToken);
    expect(error).toMatchObject({ code: 'invalid_token', bearer: false });
    expect(await deps.tokens.all()).toEqual([first]);
  });

  it('refuses a revoked token with InvalidToken and stores nothing', async () => {
    const { deps, pair } = await loggedIn();
    await logout(deps, pair.refreshToken);
    const before = await deps.tokens.all();

    await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toBeInstanceOf(InvalidToken);
    expect(await deps.tokens.all()).toEqual(before);
  });

  it('refuses an expired token with TokenExpired and stores nothing', async () => {
    const { deps, pair, first } = await loggedIn();
    deps.clock.set(first.expiresAt);

    const error = await refresh(deps, pair.refreshToken, makeContext()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenExpired);
    expect(error).toMatchObject({ code: 'token_expired' });
    expect(await deps.tokens.all()).toEqual([first]);
  });

  describe('reuse', () => {
    it('revokes the whole family when a consumed token comes back (no grace)', async () => {
      const { deps, user, pair, first } = await loggedIn();
      const other = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
      const next = await refresh(deps, pair.refreshToken, makeContext());
      deps.clock.advanceSeconds(5);
      const ctx = makeContext();

      const error = await refresh(deps, pair.refreshToken, ctx).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TokenReused);
      expect(error).toMatchObject({ code: 'token_reused' });
      expect((await stored(deps, pair.refreshToken))?.revokedAt).toEqual(deps.clock.now());
      expect((await stored(deps, next.refreshToken))?.revokedAt).toEqual(deps.clock.now());
      expect((await stored(deps, other.refreshToken))?.revokedAt).toBeNull(); // another session lives on
      expect(ctx.audit.events).toEqual([
        { event: 'refresh_reused', fields: { userId: user.id, familyId: first.familyId, ip: ctx.ip } },
      ]);
      await expect(refresh(deps, next.refreshToken, makeContext())).rejects.toBeInstanceOf(InvalidToken);
    });

    it('takes the retry of a refresh whose signing failed after its rotation committed as reuse, without grace', async () => {
      const clock = new FakeClock();
      const signer = new FlakySigner(clock);
      const { deps, pair } = await loggedIn({ clock, signer });
      signer.failNext = true;

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toThrow('signing failed');
      const retry = makeContext();

      await expect(refresh(deps, pair.refreshToken, retry)).rejects.toBeInstanceOf(TokenReused);
      expect((await deps.tokens.all()).every((token) => token.revokedAt !== null)).toBe(true);
      // As for any answer lost on its way: without a grace window, the retry reads as theft.
      expect(retry.audit.names).toEqual(['refresh_reused']);
    });

    it('reports reuse over revocation for a token that is both consumed and revoked', async () => {
      const { deps, pair } = await loggedIn();
      await refresh(deps, pair.refreshToken, makeContext());
      await logout(deps, pair.refreshToken);

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toBeInstanceOf(TokenReused);
    });

    it('lets exactly one of two concurrent refreshes win without grace; the other is reuse', async () => {
      const { deps, pair } = await loggedIn();

      const results = await Promise.allSettled([
        refresh(deps, pair.refreshToken, makeContext()),
        refresh(deps, pair.refreshToken, makeContext()),
      ]);

      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected.map((r) => r.reason)).toEqual([expect.any(TokenReused)]);
      expect(await deps.tokens.all()).toHaveLength(2); // a family never has two live tokens
    });
  });

  describe('retry grace (10 s)', () => {
    const settings = { refreshReuseGraceSeconds: 10 };

    it('hands out the same successor again inside the window, storing nothing new', async () => {
      const { deps, pair } = await loggedIn({ settings });
      const next = await refresh(deps, pair.refreshToken, makeContext());
      const before = await deps.tokens.all();
      deps.clock.advanceSeconds(9);

      const again = await refresh(deps, pair.refreshToken, makeContext());

      expect(again.refreshToken).toBe(next.refreshToken);
      expect(again.accessToken).not.toBe(next.accessToken); // a fresh access token
      expect(await deps.signer.verify(again.accessToken)).toEqual(await deps.signer.verify(next.accessToken));
      expect(await deps.tokens.all()).toEqual(before);
    });

    it('gives two concurrent refreshes the same successor', async () => {
      const { deps, pair } = await loggedIn({ settings });

      const [a, b] = await Promise.all([
        refresh(deps, pair.refreshToken, makeContext()),
        refresh(deps, pair.refreshToken, makeContext()),
      ]);

      expect(a.refreshToken).toBe(b.refreshToken);
      expect(await deps.tokens.all()).toHaveLength(2);
      expect((await stored(deps, a.refreshToken))?.revokedAt).toBeNull();
    });

    it('treats a replay at the end of the window as reuse', async () => {
      const { deps, pair } = await loggedIn({ settings });
      const next = await refresh(deps, pair.refreshToken, makeContext());
      deps.clock.advanceSeconds(10);

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toBeInstanceOf(TokenReused);
      expect((await stored(deps, next.refreshToken))?.revokedAt).not.toBeNull();
    });

    it('treats a replay as reuse once the successor was itself used', async () => {
      const { deps, pair } = await loggedIn({ settings });
      const next = await refresh(deps, pair.refreshToken, makeContext());
      const third = await refresh(deps, next.refreshToken, makeContext());

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toBeInstanceOf(TokenReused);
      expect((await stored(deps, third.refreshToken))?.revokedAt).not.toBeNull();
    });

    it('lets a client retry a refresh whose signing failed after its rotation committed: the retry is a replay', async () => {
      const clock = new FakeClock();
      const signer = new FlakySigner(clock);
      const { deps, user, pair } = await loggedIn({ settings, clock, signer });
      signer.failNext = true;

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toThrow('signing failed');
      expect((await stored(deps, pair.refreshToken))?.consumedAt).not.toBeNull();
      clock.advanceSeconds(1);
      const retried = await refresh(deps, pair.refreshToken, makeContext());

      expect(await deps.signer.verify(retried.accessToken)).toMatchObject({ sub: user.id });
      expect(await stored(deps, retried.refreshToken)).toMatchObject({ consumedAt: null, revokedAt: null });
      expect((await deps.tokens.all()).filter((token) => token.consumedAt === null)).toHaveLength(1);
    });

    it('still checks the owner on a replay', async () => {
      const { deps, user, pair } = await loggedIn({ settings });
      await refresh(deps, pair.refreshToken, makeContext());
      deps.users.suspend(user.id);

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toBeInstanceOf(UserSuspended);
      expect((await deps.tokens.all()).every((t) => t.revokedAt !== null)).toBe(true);
    });
  });

  describe('owner', () => {
    it('revokes every token of a suspended owner and answers UserSuspended', async () => {
      const { deps, user, pair } = await loggedIn();
      await login(deps, { email: user.email, password: PASSWORD }, makeContext());
      const bystander = await seedUser(deps);
      const theirs = await seedRefreshToken(deps, bystander.id);
      deps.users.suspend(user.id);

      const error = await refresh(deps, pair.refreshToken, makeContext()).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(UserSuspended);
      const all = await deps.tokens.all();
      const owned = all.filter((t) => t.userId === user.id);
      expect(owned).toHaveLength(2);
      expect(owned.every((t) => t.revokedAt !== null && t.consumedAt === null)).toBe(true);
      expect(await stored(deps, theirs.token)).toEqual(theirs.stored);
    });

    it('revokes the family of a deleted owner and answers InvalidToken', async () => {
      const deps = makeDeps();
      const ghost = await seedRefreshToken(deps, 'deleted-user');

      const error = await refresh(deps, ghost.token, makeContext()).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidToken);
      expect(await deps.tokens.all()).toEqual([{ ...ghost.stored, revokedAt: deps.clock.now() }]);
    });
  });

  describe('losing the race to rotate', () => {
    it('answers InvalidToken when the family is revoked between the look-up and the rotation', async () => {
      const tokens = new InterleavedTokenStore();
      const { deps, pair } = await loggedIn({ tokens });
      tokens.beforeRotate = () => logout(deps, pair.refreshToken);

      await expect(refresh(deps, pair.refreshToken, makeContext())).rejects.toBeInstanceOf(InvalidToken);
      expect(await deps.tokens.all()).toHaveLength(1);
    });

    it('replays the winner\'s successor inside the grace window', async () => {
      const tokens = new InterleavedTokenStore();
      const { deps, pair } = await loggedIn({ tokens, settings: { refreshReuseGraceSeconds: 10 } });
      let winner: string | undefined;
      tokens.beforeRotate = async () => {
        winner = (await refresh(deps, pair.refreshToken, makeContext())).refreshToken;
      };

      const loser = await refresh(deps, pair.refreshToken, makeContext());

      expect(loser.refreshToken).toBe(winner);
      expect(await deps.tokens.all()).toHaveLength(2);
    });

    it('gives up with InvalidToken after two passes rather than looping', async () => {
      const deps = makeDeps();
      const user = await seedUser(deps);
      const live = await seedRefreshToken(deps, user.id);
      // The successor's hash is already taken, so every rotation fails although the parent is live.
      await seedRefreshToken(deps, 'someone-else', { hash: deps.secrets.hashOf(deps.secrets.successorOf(live.token)) });

      await expect(refresh(deps, live.token, makeContext())).rejects.toBeInstanceOf(InvalidToken);
      expect(await stored(deps, live.token)).toEqual(live.stored);
    });
  });
});

