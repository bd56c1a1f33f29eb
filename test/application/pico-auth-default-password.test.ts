import { describe, expect, it } from 'vitest';
import { hasPicoAuthDefaultPassword } from '../../src/application/pico-auth-default-password.js';
import { makeDeps, seedUser } from '../support/fakes.js';

describe('hasPicoAuthDefaultPassword', () => {
  it("finds an account still on pico-auth's 'admin', under any spelling of its email, and only that one", async () => {
    const deps = makeDeps();
    await seedUser(deps, { email: 'admin@localhost', role: 'superadmin', password: 'admin' });
    await seedUser(deps, { email: 'other@example.com', role: 'superadmin' });

    expect(await hasPicoAuthDefaultPassword(deps, ' Admin@LocalHost ')).toBe(true);
    expect(await hasPicoAuthDefaultPassword(deps, 'other@example.com')).toBe(false);
  });

  it('answers false for an address no account has, or can have', async () => {
    const deps = makeDeps();
    expect(await hasPicoAuthDefaultPassword(deps, 'nobody@example.com')).toBe(false);
    expect(await hasPicoAuthDefaultPassword(deps, `${'a'.repeat(300)}@x.io`)).toBe(false);
    expect(deps.hasher.burns).toBe(0);
  });
});
