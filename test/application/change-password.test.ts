import { describe, expect, it } from 'vitest';
import { changePassword } from '../../src/application/change-password.js';
import { login } from '../../src/application/login.js';
import { InvalidCredentials, TooManyRequests, Unavailable, WeakPassword } from '../../src/domain/errors.js';
import { makeContext, makeDeps, PASSWORD, SaturatedHasher, seedRefreshToken, seedUser } from '../support/fakes.js';

const NEW_PASSWORD = 'a-brand-new-passphrase';

async function withSessions() {
  const deps = makeDeps();
  const seeded = await seedUser(deps);
  await login(deps, { email: seeded.email, password: PASSWORD }, makeContext());
  await login(deps, { email: seeded.email, password: PASSWORD }, makeContext());
  // As `authenticate` hands it over: read back after the logins.
  const user = (await deps.users.findById(seeded.id)) ?? seeded;
  const bystander = await seedUser(deps);
  const theirs = await seedRefreshToken(deps, bystander.id);
  const before = await deps.tokens.all();
  return { deps, user, theirs, before };
}

describe('changePassword', () => {
  it('stores the new hash and revokes every refresh token of the user, and only theirs', async () => {
    const { deps, user, theirs } = await withSessions();
    deps.clock.advanceSeconds(10);
    const ctx = makeContext();

    await changePassword(deps, user, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, ctx);

    expect((await deps.users.findById(user.id))?.passwordHash).toBe(`fake$${NEW_PASSWORD}`);
    const owned = (await deps.tokens.all()).filter((t) => t.userId === user.id);
    expect(owned).toHaveLength(2);
    expect(owned.map((t) => t.revokedAt)).toEqual([deps.clock.now(), deps.clock.now()]);
    expect(await deps.tokens.findByHash(theirs.stored.hash)).toEqual(theirs.stored);
    expect(ctx.audit.events).toEqual([{ event: 'password_changed', fields: { userId: user.id, ip: ctx.ip } }]);
  });

  it('makes the new password the one that logs in', async () => {
    const { deps, user } = await withSessions();
    await changePassword(deps, user, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, makeContext());

    await expect(login(deps, { email: user.email, password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(
      InvalidCredentials,
    );
    await expect(login(deps, { email: user.email, password: NEW_PASSWORD }, makeContext())).resolves.toBeDefined();
  });

  it('accepts an old password held under a hash of an older kind', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps, { passwordHash: `old$${PASSWORD}` });

    await changePassword(deps, user, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, makeContext());

    expect((await deps.users.findById(user.id))?.passwordHash).toBe(`fake$${NEW_PASSWORD}`);
  });

  it.each([
    ['wrong', 'not-the-old-password', ['password_change_failed']],
    // Refused before it is checked or counted: no password can be that long.
    ['over 1024 characters', 'x'.repeat(1025), []],
  ])('refuses a %s old password with InvalidCredentials (not at login), changing nothing', async (_label, oldPassword, events) => {
    const { deps, user, before } = await withSessions();
    const ctx = makeContext();

    const error = await changePassword(deps, user, { oldPassword, newPassword: NEW_PASSWORD }, ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidCredentials);
    expect(error).toMatchObject({ code: 'invalid_credentials', atLogin: false });
    expect(await deps.users.findById(user.id)).toEqual(user);
    expect(await deps.tokens.all()).toEqual(before);
    expect(ctx.audit.events).toEqual(events.map((event) => ({ event, fields: { userId: user.id, ip: ctx.ip } })));
  });

  it.each([
    ['too short', 'short'],
    ['too common', 'qwertyuiop'],
    ['over 1024 characters', 'n'.repeat(1025)],
  ])('refuses a new password that is %s with WeakPassword, changing nothing', async (_label, newPassword) => {
    const { deps, user, before } = await withSessions();

    const error = await changePassword(deps, user, { oldPassword: PASSWORD, newPassword }, makeContext()).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(WeakPassword);
    expect(error).toMatchObject({ code: 'weak_password' });
    expect(await deps.users.findById(user.id)).toEqual(user);
    expect(await deps.tokens.all()).toEqual(before);
  });
});

describe('changePassword guards', () => {
  it('counts wrong old passwords towards the account lock, like failed logins', async () => {
    const deps = makeDeps({ settings: { lockoutThreshold: 2 } });
    const user = await seedUser(deps);
    const attempt = (oldPassword: string) => changePassword(deps, user, { oldPassword, newPassword: 'brand-new-password-7' }, makeContext());
    await expect(attempt('wrong-1')).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(attempt('wrong-2')).rejects.toBeInstanceOf(InvalidCredentials);
    const ctx = makeContext();
    await expect(changePassword(deps, user, { oldPassword: PASSWORD, newPassword: 'brand-new-password-7' }, ctx)).rejects.toBeInstanceOf(TooManyRequests);
    expect(ctx.audit.events).toEqual([{ event: 'login_locked', fields: { userId: user.id, email: user.email, ip: ctx.ip, retryAfter: 1 } }]);
    expect((await deps.users.findById(user.id))?.passwordHash).toBe(user.passwordHash);
  });

  it('does not count an old password the hasher could not check (503) towards the lock', async () => {
    const hasher = new SaturatedHasher();
    const deps = makeDeps({ hasher, settings: { lockoutThreshold: 2 } });
    const user = await seedUser(deps);
    const attempt = () => changePassword(deps, user, { oldPassword: PASSWORD, newPassword: 'brand-new-password-7' }, makeContext());
    hasher.refusals = 3;
    for (let i = 0; i < 3; i++) await expect(attempt()).rejects.toBeInstanceOf(Unavailable);

    await attempt();
    expect((await deps.users.findById(user.id))?.passwordHash).toBe('fake$brand-new-password-7');
  });

  it('refuses a change based on a password that was changed meanwhile (compare-and-set)', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    await deps.users.updatePasswordHash(user.id, 'fake$changed-elsewhere-9', user.passwordHash);
    // `user` is the copy authenticate loaded before the other change landed.
    await expect(
      changePassword(deps, user, { oldPassword: PASSWORD, newPassword: 'brand-new-password-7' }, makeContext()),
    ).rejects.toBeInstanceOf(InvalidCredentials);
    expect((await deps.users.findById(user.id))?.passwordHash).toBe('fake$changed-elsewhere-9');
  });
});
