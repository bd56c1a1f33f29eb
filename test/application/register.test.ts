import { describe, expect, it } from 'vitest';
import { register } from '../../src/application/register.js';
import { InvalidRequest, RegistrationDisabled, UserExists, WeakPassword } from '../../src/domain/errors.js';
import { makeContext, makeDeps, PASSWORD, RacingUserStore, seedUser, START } from '../support/fakes.js';

describe('register', () => {
  it('creates an active viewer in the default org and returns it without the hash', async () => {
    const deps = makeDeps();
    const ctx = makeContext();

    const created = await register(deps, { email: ' New.User@Example.COM', password: PASSWORD, displayName: 'New' }, ctx);

    const expected = {
      id: 'id-1',
      email: 'new.user@example.com',
      displayName: 'New',
      role: 'viewer',
      orgId: 'default',
      status: 'active',
      createdAt: new Date(START),
      lastLoginAt: null,
    };
    expect(created).toEqual(expected);
    expect(await deps.users.findByEmail('new.user@example.com')).toEqual({ ...expected, passwordHash: `fake$${PASSWORD}` });
    expect(ctx.audit.events).toEqual([{ event: 'user_registered', fields: { userId: 'id-1', ip: ctx.ip } }]);
  });

  it('defaults the display name to empty', async () => {
    const deps = makeDeps();
    const created = await register(deps, { email: 'a@example.com', password: PASSWORD }, makeContext());
    expect(created.displayName).toBe('');
  });

  it('takes no role, status or org from the input', async () => {
    const deps = makeDeps();
    const input = { email: 'sneaky@example.com', password: PASSWORD, role: 'superadmin', status: 'suspended', orgId: 'x' };

    const created = await register(deps, input, makeContext());

    expect(created).toMatchObject({ role: 'viewer', status: 'active', orgId: 'default' });
  });

  it('refuses with RegistrationDisabled when public sign-up is off, creating nothing', async () => {
    const deps = makeDeps({ settings: { registrationEnabled: false } });
    const ctx = makeContext();

    const error = await register(deps, { email: 'a@example.com', password: PASSWORD }, ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistrationDisabled);
    expect(error).toMatchObject({ code: 'registration_disabled' });
    expect(await deps.users.findByEmail('a@example.com')).toBeUndefined();
    expect(ctx.audit.events).toEqual([]);
  });

  it.each([
    ['too short', 'short'],
    ['too common', 'password'],
    ['over 1024 characters', 'p'.repeat(1025)],
  ])('refuses a password that is %s with WeakPassword', async (_label, password) => {
    const deps = makeDeps();

    const error = await register(deps, { email: 'a@example.com', password }, makeContext()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WeakPassword);
    expect(error).toMatchObject({ code: 'weak_password' });
    expect(await deps.users.findByEmail('a@example.com')).toBeUndefined();
  });

  it('refuses a password with a lone surrogate with InvalidRequest: hashed as UTF-8 it would equal one with U+FFFD', async () => {
    const deps = makeDeps();
    await expect(register(deps, { email: 'a@example.com', password: 'long enough \uD800 password' }, makeContext())).rejects.toBeInstanceOf(InvalidRequest);
    expect(await deps.users.findByEmail('a@example.com')).toBeUndefined();
    await expect(register(deps, { email: 'a@example.com', password: 'long enough \uD83D\uDE00 password' }, makeContext())).resolves.toMatchObject({ email: 'a@example.com' });
  });

  it('refuses a malformed email with InvalidRequest', async () => {
    const deps = makeDeps();
    await expect(register(deps, { email: 'no-at-sign', password: PASSWORD }, makeContext())).rejects.toBeInstanceOf(
      InvalidRequest,
    );
  });

  it('refuses a taken email, whatever its case, with UserExists and leaves the owner alone', async () => {
    const deps = makeDeps();
    const owner = await seedUser(deps, { email: 'taken@example.com', role: 'operator' });

    const error = await register(deps, { email: 'TAKEN@example.com', password: 'another-password' }, makeContext()).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(UserExists);
    expect(error).toMatchObject({ code: 'user_exists' });
    expect(await deps.users.findByEmail('taken@example.com')).toEqual(owner);
  });

  it('answers UserExists from the store when a concurrent sign-up wins the race', async () => {
    const users = new RacingUserStore();
    const deps = makeDeps({ users });
    const ctx = makeContext();
    users.competitor = {
      id: 'winner',
      email: 'race@example.com',
      displayName: 'Winner',
      passwordHash: 'fake$winner-password',
      role: 'viewer',
      orgId: 'default',
      status: 'active',
      createdAt: new Date(START),
      lastLoginAt: null,
    };

    await expect(register(deps, { email: 'race@example.com', password: PASSWORD }, ctx)).rejects.toBeInstanceOf(UserExists);
    expect((await deps.users.findByEmail('race@example.com'))?.id).toBe('winner');
    expect(ctx.audit.events).toEqual([]);
  });
});
