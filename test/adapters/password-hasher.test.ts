import argon2 from 'argon2';
import nativeBcrypt from 'bcrypt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ArgonFirstPasswordHasher } from '../../src/adapters/crypto/password-hasher.js';
import { OWASP_ARGON2ID } from '../../src/adapters/crypto/argon2-hasher.js';
import { Gate } from '../../src/adapters/crypto/gate.js';
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
  // Costs 4 and 6 keep the test fast; pico-auth's were 12. Cost 16 is refused, so never matched.
  const hasher = new ArgonFirstPasswordHasher(undefined, 4, 128, [16, 4, 6]);
  const argon2Hash = hasher.hash('right password');
  const bcrypt4Hash = nativeBcrypt.hashSync('right password', 4);
  const bcrypt6Hash = nativeBcrypt.hashSync('right password', 6);

  /** Counts the checks each scheme ran, and the bcrypt work in cost-4 units (a cost-c check is 2^(c−4)). */
  function meter() {
    const originalVerify = argon2.verify.bind(argon2);
    const originalCompare = nativeBcrypt.compare.bind(nativeBcrypt) as (data: string, hash: string) => Promise<boolean>;
    const work = { argon2Checks: 0, bcryptUnits: 0, running: 0, hashesMade: 0 };
    // A dummy made during a failed check would make that check dearer than the others.
    vi.spyOn(argon2, 'hash').mockImplementation(async () => (work.hashesMade++, 'unexpected'));
    vi.spyOn(nativeBcrypt, 'hash').mockImplementation((async () => (work.hashesMade++, 'unexpected')) as typeof nativeBcrypt.hash);
    // A check that throws (an unreadable hash) computed nothing, so it is not counted.
    vi.spyOn(argon2, 'verify').mockImplementation(async (...args: Parameters<typeof argon2.verify>) => {
      work.running++;
      try {
        const ok = await originalVerify(...args);
        work.argon2Checks++;
        return ok;
      } finally {
        work.running--;
      }
    });
    vi.spyOn(nativeBcrypt, 'compare').mockImplementation((async (data: string, hash: string) => {
      work.running++;
      try {
        return await originalCompare(data, hash);
      } finally {
        work.running--;
        work.bcryptUnits += 2 ** (Number(hash.slice(4, 6)) - 4);
      }
    }) as typeof nativeBcrypt.compare);
    return work;
  }

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['an unknown email (burn)', () => hasher.burn('a guess')],
    ['a wrong password for an argon2id hash', async () => hasher.verify(await argon2Hash, 'a guess')],
    ['a wrong password for a bcrypt hash of the dearest cost', () => hasher.verify(bcrypt6Hash, 'a guess')],
    ['a wrong password for a cheaper bcrypt hash', () => hasher.verify(bcrypt4Hash, 'a guess')],
    ['a malformed argon2id hash', () => hasher.verify('$argon2id$v=19$broken', 'a guess')],
    ['a hash no scheme accepts', () => hasher.verify('$2b$31$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234', 'a guess')],
  ])('spends one argon2id check and a cost-6 bcrypt check, all finished, on %s', async (_name, fail) => {
    await hasher.warmUp();
    await argon2Hash;
    const work = meter();
    await fail();
    expect(work).toEqual({ argon2Checks: 1, bcryptUnits: 4, running: 0, hashesMade: 0 });
  });

  it('admits a failed check to the hashing gate once, whole: it cannot be refused half-way', async () => {
    await hasher.warmUp();
    const run = vi.spyOn(Gate.prototype, 'run');
    await hasher.verify(bcrypt4Hash, 'a guess');
    await hasher.burn('a guess');
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('spends only its own scheme on a match', async () => {
    const hash = await argon2Hash;
    const work = meter();
    expect(await hasher.verify(hash, 'right password')).toEqual({ ok: true, rehash: false });
    expect(await hasher.verify(bcrypt4Hash, 'right password')).toEqual({ ok: true, rehash: true });
    expect(work).toEqual({ argon2Checks: 1, bcryptUnits: 1, running: 0, hashesMade: 0 });
  });

  it('spends no bcrypt check on a failure once none remain, or only refused costs do', async () => {
    for (const costs of [[], [16]]) {
      const argonOnly = new ArgonFirstPasswordHasher(undefined, 4, 128, costs);
      await argonOnly.warmUp();
      const hash = await argonOnly.hash('right password');
      const work = meter();
      await argonOnly.burn('a guess');
      await argonOnly.verify(hash, 'a guess');
      expect(work).toEqual({ argon2Checks: 2, bcryptUnits: 0, running: 0, hashesMade: 0 });
      vi.restoreAllMocks();
    }
  });

  it('queues fewer failed checks than argon2id ones, so the queue still holds about the same work', async () => {
    const limitWaiting = vi.spyOn(Gate.prototype, 'limitWaiting');
    await new ArgonFirstPasswordHasher(undefined, 1, 64, [10]).warmUp();
    expect(limitWaiting).toHaveBeenCalledTimes(1);
    const [bound] = limitWaiting.mock.calls[0] ?? [];
    // A cost-10 bcrypt check costs several argon2id ones, so the queue is a fraction of 64.
    expect(bound).toBeGreaterThanOrEqual(1);
    expect(bound).toBeLessThan(48);
  });

  it('keeps the queue as it is when no bcrypt hashes remain', async () => {
    const limitWaiting = vi.spyOn(Gate.prototype, 'limitWaiting');
    await new ArgonFirstPasswordHasher(undefined, 1, 64).warmUp();
    expect(limitWaiting).not.toHaveBeenCalled();
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
