import argon2 from 'argon2';
// An independent implementation builds the legacy hashes, as pico-auth's Python did.
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/application/ports.js';

export interface PasswordHasherFixture {
  hasher: PasswordHasher;
  close?: () => Promise<void>;
}

/** `$argon2id$v=19$m=…,t=…,p=…$salt$hash` → its parameters. */
function phcParams(hash: string): { type: string; m: number; t: number; p: number } {
  const match = /^\$(argon2(?:id|i|d))\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(hash);
  if (!match) throw new Error(`not a PHC argon2 string: ${hash}`);
  const [, type = '', m, t, p] = match;
  return { type, m: Number(m), t: Number(t), p: Number(p) };
}

/** pico-auth's kind of hash, at the cheapest cost so the tests stay fast. */
export function bcryptHash(password: string, prefix: '$2a$' | '$2b$' | '$2y$' = '$2b$'): string {
  return bcrypt.hashSync(password, bcrypt.genSaltSync(4)).replace(/^\$2b\$/, prefix);
}

/**
 * The `PasswordHasher` contract (STYLE rule 8): new hashes are argon2id at OWASP strength
 * or more; pico-auth's bcrypt hashes still verify and ask to be replaced; nothing a
 * stored hash holds makes `verify` throw. The port keeps no state, so one hasher serves
 * the whole suite.
 */
export function describePasswordHasherContract(name: string, makeHasher: () => Promise<PasswordHasherFixture>): void {
  describe(`PasswordHasher contract: ${name}`, () => {
    let fixture: PasswordHasherFixture;
    let hasher: PasswordHasher;

    beforeAll(async () => {
      fixture = await makeHasher();
      hasher = fixture.hasher;
    });

    afterAll(async () => {
      await fixture.close?.();
    });

    it('hashes with argon2id at OWASP strength or more, parameters kept in the PHC string', async () => {
      const params = phcParams(await hasher.hash('correct horse battery staple'));
      expect(params.type).toBe('argon2id');
      expect(params.m).toBeGreaterThanOrEqual(19_456);
      expect(params.t).toBeGreaterThanOrEqual(2);
      expect(params.p).toBeGreaterThanOrEqual(1);
    });

    it('salts every hash', async () => {
      expect(await hasher.hash('same password')).not.toBe(await hasher.hash('same password'));
    });

    it('verifies the right password and refuses a wrong one; a current hash needs no re-hash', async () => {
      const hash = await hasher.hash('correct horse battery staple');
      expect(await hasher.verify(hash, 'correct horse battery staple')).toEqual({ ok: true, rehash: false });
      expect(await hasher.verify(hash, 'correct horse battery stapler')).toEqual({ ok: false, rehash: false });
      expect(await hasher.verify(hash, '')).toEqual({ ok: false, rehash: false });
    });

    it('asks for a re-hash of a weaker argon2id hash, only when the password matched', async () => {
      const weak = await argon2.hash('weakly hashed', { type: argon2.argon2id, memoryCost: 8192, timeCost: 1 });
      expect(await hasher.verify(weak, 'weakly hashed')).toEqual({ ok: true, rehash: true });
      expect(await hasher.verify(weak, 'wrong')).toEqual({ ok: false, rehash: false });
    });

    it.each(['$2a$', '$2b$', '$2y$'] as const)('verifies a pico-auth %s bcrypt hash and asks for a re-hash on success only', async (prefix) => {
      const hash = bcryptHash('pico-auth password', prefix);
      expect(hash.startsWith(prefix)).toBe(true);
      expect(await hasher.verify(hash, 'pico-auth password')).toEqual({ ok: true, rehash: true });
      expect(await hasher.verify(hash, 'pico-auth passwort')).toEqual({ ok: false, rehash: false });
    });

    it('accepts a bcrypt match of a password longer than 72 bytes but does not re-hash it (the match is ambiguous)', async () => {
      // 36 × "é" is 72 bytes in UTF-8 though only 36 characters.
      const password = `${'é'.repeat(36)}tail`;
      const hash = bcryptHash(Buffer.from(password, 'utf8').subarray(0, 72).toString('utf8'));
      expect(await hasher.verify(hash, password)).toEqual({ ok: true, rehash: false });
    });

    it('never truncates: a 100-byte password hashed with argon2 does not verify with its first 72 bytes', async () => {
      const password = 'p'.repeat(100);
      const hash = await hasher.hash(password);
      expect(await hasher.verify(hash, password.slice(0, 72))).toEqual({ ok: false, rehash: false });
      expect(await hasher.verify(hash, password.slice(0, 99))).toEqual({ ok: false, rehash: false });
      expect(await hasher.verify(hash, password)).toEqual({ ok: true, rehash: false });
    });

    it('keeps every character of the password, whatever it is', async () => {
      const password = 'pässwörd "quoted" \\ 🔑\u0000end';
      const hash = await hasher.hash(password);
      expect(await hasher.verify(hash, password)).toEqual({ ok: true, rehash: false });
      expect(await hasher.verify(hash, 'pässwörd "quoted" \\ 🔑')).toEqual({ ok: false, rehash: false });
    });

    it('burn() resolves, whatever the password', async () => {
      await expect(hasher.burn('some password')).resolves.toBeUndefined();
      await expect(hasher.burn('')).resolves.toBeUndefined();
      await expect(hasher.burn('x'.repeat(1024))).resolves.toBeUndefined();
    });

    // An unknown email's login burns what a wrong password's verify spends, or its speed
    // tells which emails have accounts. A burn that skipped the hash would take a
    // fraction of a millisecond against a 19 MiB argon2id check's tens.
    it('burn() takes what a failed verify takes', async () => {
      const stored = await hasher.hash('the right password');
      const elapsed = async (call: () => Promise<unknown>) => {
        const start = performance.now();
        await call();
        return performance.now() - start;
      };
      const failedVerifies: number[] = [];
      const burns: number[] = [];
      for (let i = 0; i < 5; i++) {
        failedVerifies.push(await elapsed(() => hasher.verify(stored, 'a wrong password')));
        burns.push(await elapsed(() => hasher.burn('a wrong password')));
      }
      expect(median(burns)).toBeGreaterThan(median(failedVerifies) / 2);
    });

    it.each([
      ['an empty string', ''],
      ['plain text', 'not a hash at all'],
      ['a truncated bcrypt hash', '$2b$12$tooshort'],
      ['an unknown bcrypt variant', '$2x$04$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
      ['an unknown scheme', '$pbkdf2-sha256$29000$salt$hash'],
      ['a bcrypt hash with cost below the minimum', '$2b$03$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
      ['a bcrypt hash with cost 00', '$2b$00$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
      ['a bcrypt hash of a cost too high to compute', '$2b$31$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
      ['an argon2 prefix and nothing else', '$argon2id$'],
      ['argon2 with no parameters', '$argon2id$garbage'],
      ['argon2 with a broken salt and hash', '$argon2id$v=19$m=19456,t=2,p=1$garbage'],
    ])('answers ok: false, without throwing, for %s', async (_, hash) => {
      await expect(hasher.verify(hash, 'password')).resolves.toEqual({ ok: false, rehash: false });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
