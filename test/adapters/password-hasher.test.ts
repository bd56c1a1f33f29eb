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
