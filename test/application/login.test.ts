import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { login } from '../../src/application/login.js';
import {
  InvalidCredentials,
  InvalidRequest,
  TooManyRequests,
  Unavailable,
  UserSuspended,
} from '../../src/domain/errors.js';
import { EditableUserStore, FakeHasher, makeContext, makeDeps, PASSWORD, SaturatedHasher, seedUser, START } from '../support/fakes.js';

/** A user store whose database is down for the next `failures` email look-ups. */
class FlakyUserStore extends EditableUserStore {
  failures = 0;

  override async findByEmail(email: string) {
    if (this.failures > 0) {
      this.failures--;
      throw new Unavailable('database');
    }
    return super.findByEmail(email);
  }
}

describe('login', () => {
  it('issues an access token for the stored user and saves a new refresh-token family', async () => {
    const deps = makeDeps();
    const ctx = makeContext();
    const user = await seedUser(deps, { email: 'alice@example.com', role: 'operator', orgId: 'acme' });
    deps.clock.advanceSeconds(60);

    const pair = await login(deps, { email: '  Alice@Example.COM ', password: PASSWORD }, ctx);

    expect(pair.expiresIn).toBe(deps.signer.expiresInSeconds);
    expect(await deps.signer.verify(pair.accessToken)).toEqual({
      sub: user.id,
      email: 'alice@example.com',
      role: 'operator',
      org_id: 'acme',
    });
    const now = new Date(START + 60_000);
    expect(await deps.tokens.all()).toEqual([
      {
        hash: deps.secrets.hashOf(pair.refreshToken),
        familyId: 'id-1',
        userId: user.id,
        expiresAt: new Date(now.getTime() + deps.settings.refreshTokenTtlSeconds * 1000),
        createdAt: now,
        consumedAt: null,
        revokedAt: null,
      },
    ]);
    expect((await deps.users.findById(user.id))?.lastLoginAt).toEqual(now);
    expect(ctx.audit.events).toEqual([{ event: 'login_succeeded', fields: { userId: user.id, ip: ctx.ip } }]);
  });

  it('starts a separate family on each login', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    const first = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
    const second = await login(deps, { email: user.email, password: PASSWORD }, makeContext());

    expect(second.refreshToken).not.toBe(first.refreshToken);
    const families = (await deps.tokens.all()).map((t) => t.familyId);
    expect(new Set(families).size).toBe(2);
  });

  it('replaces a hash that asks for a rehash with a fresh one', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps, { passwordHash: `old$${PASSWORD}` });

    await login(deps, { email: user.email, password: PASSWORD }, makeContext());

    expect((await deps.users.findById(user.id))?.passwordHash).toBe(`fake$${PASSWORD}`);
  });

  it('keeps a current hash as it is', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);

    await login(deps, { email: user.email, password: PASSWORD }, makeContext());

    expect((await deps.users.findById(user.id))?.passwordHash).toBe(user.passwordHash);
  });

  it('refuses a wrong password with InvalidCredentials and changes nothing', async () => {
    const deps = makeDeps();
    const ctx = makeContext();
    const user = await seedUser(deps, { passwordHash: `old$${PASSWORD}` });

    const error = await login(deps, { email: user.email, password: 'not-the-password' }, ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidCredentials);
    expect(error).toMatchObject({ code: 'invalid_credentials', atLogin: true });
    expect(await deps.users.findById(user.id)).toEqual(user); // no rehash, no last login
    expect(await deps.tokens.all()).toEqual([]);
    expect(deps.hasher.burns).toBe(0);
    expect(ctx.audit.events).toEqual([{ event: 'login_failed', fields: { userId: user.id, ip: ctx.ip } }]);
  });

  it('answers an unknown email like a wrong password, after burning a verification', async () => {
    const deps = makeDeps();
    const ctx = makeContext();

    const error = await login(deps, { email: 'nobody@example.com', password: PASSWORD }, ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidCredentials);
    expect(error).toMatchObject({ code: 'invalid_credentials', atLogin: true });
    expect(deps.hasher.burns).toBe(1);
    expect(await deps.tokens.all()).toEqual([]);
    expect(ctx.audit.events).toEqual([{ event: 'login_failed', fields: { userId: undefined, ip: ctx.ip } }]);
  });

  it('reveals a suspended account only after a correct password, and issues nothing', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps, { status: 'suspended' });

    await expect(login(deps, { email: user.email, password: 'wrong-password' }, makeContext())).rejects.toBeInstanceOf(
      InvalidCredentials,
    );
    await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toMatchObject({
      code: 'user_suspended',
    });
    await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(
      UserSuspended,
    );
    expect(await deps.tokens.all()).toEqual([]);
    expect((await deps.users.findById(user.id))?.lastLoginAt).toBeNull();
  });

  it('refuses a password over 1024 characters before looking anything up', async () => {
    const deps = makeDeps({ settings: { lockoutThreshold: 1 } });
    const user = await seedUser(deps);

    const error = await login(deps, { email: user.email, password: 'x'.repeat(1025) }, makeContext()).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(InvalidRequest);
    // Not counted as an attempt: with a threshold of 1 a counted one would lock the next.
    await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).resolves.toBeDefined();
  });

  it('answers an address no account could register like an unknown email', async () => {
    const deps = makeDeps();
    for (const email of ['not-an-email', 'a b@example.com']) {
      await expect(login(deps, { email, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(InvalidCredentials);
    }
    expect(deps.hasher.burns).toBe(2);
  });

  it('records a login whose password the policy would refuse today, and lets it in', async () => {
    const deps = makeDeps();
    const weak = await seedUser(deps, { password: 'admin' });
    const strong = await seedUser(deps);
    const ctx = makeContext();

    await login(deps, { email: weak.email, password: 'admin' }, ctx);
    await login(deps, { email: strong.email, password: PASSWORD }, ctx);

    expect(ctx.audit.events.filter((entry) => entry.event === 'login_weak_password')).toEqual([{ event: 'login_weak_password', fields: { userId: weak.id, ip: ctx.ip } }]);
  });

  it('signs in an account pico-auth stored under an address registration now refuses', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps, { email: 'ops@intranet' });

    const tokens = await login(deps, { email: ' OPS@Intranet ', password: PASSWORD }, makeContext());

    expect(deps.signer.decode(tokens.accessToken).sub).toBe(user.id);
  });

  it('refuses an email longer than any account can have with InvalidRequest, before any lookup', async () => {
    const deps = makeDeps();
    await expect(login(deps, { email: `${'a'.repeat(250)}@x.io`, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(InvalidRequest);
    expect(deps.hasher.burns).toBe(0);
  });

  describe('account lockout (threshold 2)', () => {
    const settings = { lockoutThreshold: 2 };

    it('locks after the threshold-th failure, whatever the password, with Retry-After', async () => {
      const deps = makeDeps({ settings });
      const ctx = makeContext();
      const user = await seedUser(deps);
      for (let i = 0; i < 2; i++) {
        await expect(login(deps, { email: user.email, password: 'wrong-password' }, ctx)).rejects.toBeInstanceOf(
          InvalidCredentials,
        );
      }

      const error = await login(deps, { email: user.email, password: PASSWORD }, ctx).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TooManyRequests);
      expect(error).toMatchObject({ code: 'too_many_requests', retryAfterSeconds: 1 });
      expect(await deps.tokens.all()).toEqual([]);
      expect(ctx.audit.events.at(-1)).toEqual({
        event: 'login_locked',
        fields: { userId: user.id, email: user.email, ip: ctx.ip, retryAfter: 1 },
      });
    });

    it('locks an unknown email alike, and logs none of what the client sent as its email', async () => {
      const deps = makeDeps({ settings });
      const ctx = makeContext();
      const sent = 'Nobody\u202e@Example.test';
      for (let i = 0; i < 2; i++) await expect(login(deps, { email: sent, password: 'wrong-password' }, ctx)).rejects.toBeInstanceOf(InvalidCredentials);

      await expect(login(deps, { email: sent, password: 'wrong-password' }, ctx)).rejects.toBeInstanceOf(TooManyRequests);
      expect(ctx.audit.events.at(-1)).toEqual({ event: 'login_locked', fields: { userId: undefined, email: undefined, ip: ctx.ip, retryAfter: 1 } });
    });

    it('doubles the lock with each further failure, and a success after it resets the count', async () => {
      const deps = makeDeps({ settings });
      const user = await seedUser(deps);
      const attempt = (password: string) => login(deps, { email: user.email, password }, makeContext());
      await attempt('wrong-password').catch(() => undefined);
      await attempt('wrong-password').catch(() => undefined);
      deps.clock.advanceSeconds(1);
      await expect(attempt('wrong-password')).rejects.toBeInstanceOf(InvalidCredentials); // 3rd failure: 2 s
      await expect(attempt(PASSWORD)).rejects.toMatchObject({ retryAfterSeconds: 2 });

      deps.clock.advanceSeconds(2);
      await expect(attempt(PASSWORD)).resolves.toBeDefined();
      // Reset: one failure is below the threshold again, so the next attempt goes through.
      await expect(attempt('wrong-password')).rejects.toBeInstanceOf(InvalidCredentials);
      await expect(attempt(PASSWORD)).resolves.toBeDefined();
    });

    it('locks an unknown email the same way, so a lock reveals nothing', async () => {
      const deps = makeDeps({ settings });
      const email = 'ghost@example.com';
      await login(deps, { email, password: 'wrong-password' }, makeContext()).catch(() => undefined);
      await login(deps, { email, password: 'wrong-password' }, makeContext()).catch(() => undefined);

      await expect(login(deps, { email, password: 'wrong-password' }, makeContext())).rejects.toBeInstanceOf(
        TooManyRequests,
      );
      expect(deps.hasher.burns).toBe(2); // the locked attempt checked nothing
    });

    it('counts the normalized email, so case and spaces do not buy extra guesses', async () => {
      const deps = makeDeps({ settings });
      const user = await seedUser(deps, { email: 'bob@example.com' });
      await login(deps, { email: 'BOB@example.com', password: 'wrong-password' }, makeContext()).catch(() => undefined);
      await login(deps, { email: ' bob@EXAMPLE.com', password: 'wrong-password' }, makeContext()).catch(() => undefined);

      await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(
        TooManyRequests,
      );
    });

    it('does not count a login the user store could not answer', async () => {
      const users = new FlakyUserStore();
      const deps = makeDeps({ users, settings });
      const user = await seedUser(deps);
      users.failures = 3;
      for (let i = 0; i < 3; i++) {
        await expect(login(deps, { email: user.email, password: 'wrong-password' }, makeContext())).rejects.toBeInstanceOf(
          Unavailable,
        );
      }

      await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).resolves.toBeDefined();
    });

    it('does not count a login the hasher could not check (503), for an account or an unknown email', async () => {
      const hasher = new SaturatedHasher();
      const deps = makeDeps({ hasher, settings });
      const user = await seedUser(deps);
      const attempt = (email: string, password: string) => login(deps, { email, password }, makeContext());
      hasher.refusals = 6;
      for (const email of [user.email, user.email, user.email, 'nobody@example.com', 'nobody@example.com', 'nobody@example.com']) {
        await expect(attempt(email, 'wrong-password')).rejects.toBeInstanceOf(Unavailable);
      }

      await expect(attempt('nobody@example.com', 'wrong-password')).rejects.toBeInstanceOf(InvalidCredentials);
      await expect(attempt(user.email, PASSWORD)).resolves.toBeDefined();
    });

    it("answers the hasher's 503 even when the counters cannot take the attempt back either", async () => {
      const hasher = new SaturatedHasher();
      const limiter = new MemoryRateLimiter();
      limiter.abandonLoginAttempt = async () => {
        throw new Unavailable('rate limiter');
      };
      const deps = makeDeps({ hasher, limiter, settings });
      const user = await seedUser(deps);
      hasher.refusals = 1;

      await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toThrow('(password hashing)');
    });

    it('does not lock at all with a threshold of 0', async () => {
      const deps = makeDeps({ settings: { lockoutThreshold: 0 } });
      const user = await seedUser(deps);
      for (let i = 0; i < 10; i++) {
        await expect(login(deps, { email: user.email, password: 'wrong-password' }, makeContext())).rejects.toBeInstanceOf(
          InvalidCredentials,
        );
      }
      await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).resolves.toBeDefined();
    });
  });
});

/** A hasher whose verify lets `during` run before it answers: a request landing mid-login. */
class InterleavingHasher extends FakeHasher {
  during: (() => Promise<void>) | undefined;

  override async verify(hash: string, password: string) {
    const verdict = await super.verify(hash, password);
    const interleaved = this.during;
    this.during = undefined;
    await interleaved?.();
    return verdict;
  }
}

describe('login racing a password change', () => {
  it('never undoes the change with a late re-hash of the old password, and opens no session', async () => {
    const hasher = new InterleavingHasher();
    const deps = makeDeps({ hasher });
    const user = await seedUser(deps, { passwordHash: `old$${PASSWORD}` });
    hasher.during = async () => void (await deps.users.updatePasswordHash(user.id, 'fake$new-password-1', `old$${PASSWORD}`));

    await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(InvalidCredentials);
    expect((await deps.users.findById(user.id))?.passwordHash).toBe('fake$new-password-1');
    expect(await deps.tokens.all()).toEqual([]);
  });

  it('revokes the session it opened when the password changed while it was verifying', async () => {
    const hasher = new InterleavingHasher();
    const deps = makeDeps({ hasher });
    const user = await seedUser(deps);
    hasher.during = async () => void (await deps.users.updatePasswordHash(user.id, 'fake$new-password-1', user.passwordHash));

    await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(InvalidCredentials);
    const tokens = await deps.tokens.all();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.revokedAt).not.toBeNull();
    // A login that did not stand is not the user's last login.
    expect((await deps.users.findById(user.id))?.lastLoginAt).toBeNull();
  });
});
