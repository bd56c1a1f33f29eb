import { describe, expect, it } from 'vitest';
import { bootstrapAdmin } from '../../src/application/bootstrap-admin.js';
import { login } from '../../src/application/login.js';
import { InvalidRequest, WeakPassword } from '../../src/domain/errors.js';
import type { User } from '../../src/domain/user.js';
import { makeContext, makeDeps, PASSWORD, RacingUserStore, seedUser, START } from '../support/fakes.js';

describe('bootstrapAdmin', () => {
  it('creates an active superadmin in the default org with the configured password, once', async () => {
    const deps = makeDeps();

    const result = await bootstrapAdmin(deps, { email: ' Admin@Example.com ', password: PASSWORD });

    expect(result).toEqual({ created: true });
    expect(await deps.users.findByEmail('admin@example.com')).toEqual({
      id: 'id-1',
      email: 'admin@example.com',
      displayName: 'Administrator',
      passwordHash: `fake$${PASSWORD}`,
      role: 'superadmin',
      orgId: 'default',
      status: 'active',
      createdAt: new Date(START),
      lastLoginAt: null,
    });
  });

  it('is idempotent: a second call creates nothing and changes nothing', async () => {
    const deps = makeDeps();
    await bootstrapAdmin(deps, { email: 'admin@example.com', password: PASSWORD });
    const first = await deps.users.findByEmail('admin@example.com');

    const again = await bootstrapAdmin(deps, { email: 'admin@example.com', password: 'a-different-password' });

    expect(again).toEqual({ created: false });
    expect(await deps.users.findByEmail('admin@example.com')).toEqual(first);
    expect((await deps.users.list({ limit: 10, offset: 0 })).total).toBe(1);
  });

  it('generates a password of at least 20 characters when none is configured, and returns it once', async () => {
    const deps = makeDeps();

    const result = await bootstrapAdmin(deps, { email: 'admin@example.com', password: undefined });

    expect(result.created).toBe(true);
    const generated = result.generatedPassword ?? '';
    expect(generated.length).toBeGreaterThanOrEqual(20);
    expect((await deps.users.findByEmail('admin@example.com'))?.passwordHash).toBe(`fake$${generated}`);
    await expect(login(deps, { email: 'admin@example.com', password: generated }, makeContext())).resolves.toBeDefined();

    expect(await bootstrapAdmin(deps, { email: 'admin@example.com', password: undefined })).toEqual({ created: false });
  });

  it('generates a password that meets a minimum length above the 43 characters of a random token', async () => {
    // AUTH_PASSWORD_MIN_LENGTH accepts up to 1024; the generated password must still pass.
    const deps = makeDeps({ settings: { passwordPolicy: { minLength: 64, isCommon: () => false } } });

    const result = await bootstrapAdmin(deps, { email: 'admin@example.com', password: undefined });

    expect(result.created).toBe(true);
    expect(result.generatedPassword?.length).toBeGreaterThanOrEqual(64);
  });

  it.each([
    ['too short', 'short'],
    ['too common', 'password'],
  ])('refuses a configured password that is %s with WeakPassword, creating nothing', async (_label, password) => {
    const deps = makeDeps();

    const error = await bootstrapAdmin(deps, { email: 'admin@example.com', password }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WeakPassword);
    expect(error).toMatchObject({ code: 'weak_password' });
    expect(await deps.users.findByEmail('admin@example.com')).toBeUndefined();
  });

  it('leaves an existing account with that email untouched, even a weak configured password aside', async () => {
    const deps = makeDeps();
    const existing = await seedUser(deps, { email: 'admin@example.com', role: 'viewer', orgId: 'acme' });

    expect(await bootstrapAdmin(deps, { email: 'ADMIN@example.com', password: 'short' })).toEqual({ created: false });
    expect(await deps.users.findByEmail('admin@example.com')).toEqual(existing);
  });

  it('finds an existing admin stored under an address registration now refuses (pico-auth never checked one)', async () => {
    const deps = makeDeps();
    const existing = await seedUser(deps, { email: 'admin@localhost', role: 'superadmin' });

    expect(await bootstrapAdmin(deps, { email: 'Admin@localhost', password: PASSWORD })).toEqual({ created: false });
    expect(await deps.users.findByEmail('admin@localhost')).toEqual(existing);
  });

  it('refuses to create an admin under a malformed address, with InvalidRequest', async () => {
    const deps = makeDeps();

    await expect(bootstrapAdmin(deps, { email: 'admin@localhost', password: PASSWORD })).rejects.toBeInstanceOf(InvalidRequest);
    expect((await deps.users.list({ limit: 10, offset: 0 })).total).toBe(0);
  });

  it('answers created: false when another instance creates the admin first', async () => {
    const users = new RacingUserStore();
    const deps = makeDeps({ users });
    const winner: User = {
      id: 'other-instance',
      email: 'admin@example.com',
      displayName: 'Administrator',
      passwordHash: 'fake$other-instance-password',
      role: 'superadmin',
      orgId: 'default',
      status: 'active',
      createdAt: new Date(START),
      lastLoginAt: null,
    };
    users.competitor = winner;

    expect(await bootstrapAdmin(deps, { email: 'admin@example.com', password: PASSWORD })).toEqual({ created: false });
    expect(await deps.users.findByEmail('admin@example.com')).toEqual(winner);
  });
});
