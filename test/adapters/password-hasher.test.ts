import argon2 from 'argon2';
import nativeBcrypt from 'bcrypt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ArgonFirstPasswordHasher } from '../../src/adapters/crypto/password-hasher.js';
import { OWASP_ARGON2ID } from '../../src/adapters/crypto/argon2-hasher.js';
import { Unavailable } from '../../src/domain/errors.js';
import { bcryptHash, describePasswordHasherContract } from '../contracts/password-hasher.contract.js';

describePasswordHasherContract('argon2id first, bcrypt for legacy hashes', async () => ({ hasher: new ArgonFirstPasswordHasher() }));

describe('ArgonFirstPasswordHasher', () => {
  const hasher = new ArgonFirstPasswordHasher();

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(['16', '20', '31', '99'])('refuses a bcrypt hash of cost %s without computing it', async (cost) => {
    const compare = vi.spyOn(nativeBcrypt, 'compare');
    const compareSync = vi.spyOn(nativeBcrypt, 'compareSync');
    const forged = bcryptHash('heavy password').replace(/^\$2b\$04\$/, `$2b$${cost}$`);
    expect(await hasher.verify(forged, 'heavy password')).toEqual({ ok: false, rehash: false });
    expect(compare).not.toHaveBeenCalled();
    expect(compareSync).not.toHaveBeenCalled();
  });

  it('still computes a bcrypt hash of cost 15 or less', async () => {
    const compare = vi.spyOn(nativeBcrypt, 'compare');
    expect(await hasher.verify(bcryptHash('light password'), 'light password')).toMatchObject({ ok: true });
    expect(compare).toHaveBeenCalledTimes(1);
  });
});

describe('ArgonFirstPasswordHasher while pico-auth bcrypt hashes remain', () => {
  // Cost 4 keeps the test fast; pico-auth's were 12. Cost 16 is refused, so never matched.
  const hasher = new ArgonFirstPasswordHasher(undefined, 4, 128, [16, 4, 5]);
  let argon2Hash: string;
  const bcrypt5Hash = nativeBcrypt.hashSync('right password', 5);

  const spies = () => ({ argon2: vi.spyOn(argon2, 'verify'), bcrypt: vi.spyOn(nativeBcrypt, 'compare') });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['an unknown email (burn)', () => hasher.burn('a guess')],
    ['a wrong password for an argon2id hash', () => hasher.verify(argon2Hash, 'a guess')],
    ['a wrong password for a bcrypt hash', () => hasher.verify(bcrypt5Hash, 'a guess')],
    ['a hash no scheme accepts', () => hasher.verify('$2b$31$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234', 'a guess')],
  ])('spends one argon2id and one bcrypt check on %s, at the dearest cost found', async (_name, fail) => {
    argon2Hash ??= await hasher.hash('right password');
    await hasher.burn('make the dummy hashes first');
    const { argon2: argon2Verify, bcrypt: bcryptCompare } = spies();
    await fail();
    expect(argon2Verify).toHaveBeenCalledTimes(1);
    expect(bcryptCompare).toHaveBeenCalledTimes(1);
    expect(bcryptCompare.mock.calls[0]?.[1]).toMatch(/^\$2b\$05\$/);
  });

  it('spends only its own scheme on a match', async () => {
    argon2Hash ??= await hasher.hash('right password');
    const { argon2: argon2Verify, bcrypt: bcryptCompare } = spies();
    expect(await hasher.verify(argon2Hash, 'right password')).toEqual({ ok: true, rehash: false });
    expect(await hasher.verify(bcrypt5Hash, 'right password')).toEqual({ ok: true, rehash: true });
    expect(argon2Verify).toHaveBeenCalledTimes(1);
    expect(bcryptCompare).toHaveBeenCalledTimes(1);
  });

  it('spends no bcrypt check on a failure once none remain, or only refused costs do', async () => {
    for (const costs of [[], [16]]) {
      const argonOnly = new ArgonFirstPasswordHasher(undefined, 4, 128, costs);
      await argonOnly.burn('make the dummy hash first');
      const { bcrypt: bcryptCompare } = spies();
      await argonOnly.burn('a guess');
      await argonOnly.verify(await argonOnly.hash('right password'), 'a guess');
      expect(bcryptCompare).not.toHaveBeenCalled();
      vi.restoreAllMocks();
    }
  });
});

describe('ArgonFirstPasswordHasher under a flood', () => {
  it('runs maxConcurrent at once, queues maxWaiting, and refuses the rest with Unavailable (503)', async () => {
    const flooded = new ArgonFirstPasswordHasher(OWASP_ARGON2ID, 1, 1);
    const hash = await flooded.hash('flood-password-123');
    const results = await Promise.allSettled([1, 2, 3].map(() => flooded.verify(hash, 'flood-password-123')));
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ ok: boolean }>).value.ok)).toEqual([true, true]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.reason).toBeInstanceOf(Unavailable);
    // Once the queue drains, work is accepted again.
    expect((await flooded.verify(hash, 'flood-password-123')).ok).toBe(true);
  });
});
