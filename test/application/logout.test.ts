import { describe, expect, it } from 'vitest';
import { login } from '../../src/application/login.js';
import { logout } from '../../src/application/logout.js';
import { refresh } from '../../src/application/refresh.js';
import { makeContext, makeDeps, PASSWORD, seedUser } from '../support/fakes.js';

describe('logout', () => {
  it('revokes the whole family, the consumed older token included', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    const first = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
    const second = await refresh(deps, first.refreshToken, makeContext());
    const other = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
    deps.clock.advanceSeconds(42);

    await logout(deps, second.refreshToken);

    const held = await deps.tokens.all();
    const at = deps.clock.now();
    expect(held.map((t) => [t.hash, t.revokedAt])).toEqual([
      [deps.secrets.hashOf(first.refreshToken), at],
      [deps.secrets.hashOf(second.refreshToken), at],
      [deps.secrets.hashOf(other.refreshToken), null],
    ]);
  });

  it('accepts any token of the family, an old consumed one too', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    const first = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
    const second = await refresh(deps, first.refreshToken, makeContext());

    await logout(deps, first.refreshToken);

    expect((await deps.tokens.findByHash(deps.secrets.hashOf(second.refreshToken)))?.revokedAt).not.toBeNull();
  });

  it.each([
    ['an unknown token', 'rt-never-issued'],
    ['an empty token', ''],
    ['a token over 512 characters', 'r'.repeat(513)],
  ])('quietly does nothing for %s', async (_label, presented) => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    await login(deps, { email: user.email, password: PASSWORD }, makeContext());
    const before = await deps.tokens.all();

    await expect(logout(deps, presented)).resolves.toBeUndefined();
    expect(await deps.tokens.all()).toEqual(before);
  });

  it('is idempotent: logging out twice keeps the first revocation time', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    const pair = await login(deps, { email: user.email, password: PASSWORD }, makeContext());
    await logout(deps, pair.refreshToken);
    const firstTime = deps.clock.now();
    deps.clock.advanceSeconds(60);

    await logout(deps, pair.refreshToken);

    expect((await deps.tokens.findByHash(deps.secrets.hashOf(pair.refreshToken)))?.revokedAt).toEqual(firstTime);
  });
});
