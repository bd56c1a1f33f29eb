import { beforeEach, describe, expect, it } from 'vitest';
import type { AccessClaims, Clock, TokenSigner } from '../../src/application/ports.js';
import { CLOCK_TOLERANCE_SECONDS } from '../../src/adapters/crypto/jose-signer.js';
import { InvalidToken, TokenExpired } from '../../src/domain/errors.js';

/** A signer on `clock` whose tokens live `expiresInSeconds`. */
export type MakeSigner = (clock: Clock, expiresInSeconds: number) => Promise<TokenSigner>;

const START = Date.parse('2026-03-01T12:00:00.000Z');
const CLAIMS: AccessClaims = { sub: 'a1b2c3d4e5f6', email: 'bob@example.com', role: 'operator', org_id: 'acme' };

async function refusal(signer: TokenSigner, token: string): Promise<unknown> {
  return signer.verify(token).then(
    () => undefined,
    (error: unknown) => error,
  );
}

/**
 * The `TokenSigner` contract (STYLE rule 8): what the use cases rely on, so the fake
 * stands in for the real signer honestly. Tampering cannot be refused by an unsigned
 * fake: those checks belong to the real signer's own tests.
 */
export function describeTokenSignerContract(name: string, makeSigner: MakeSigner): void {
  describe(`TokenSigner contract: ${name}`, () => {
    let now: number;
    const clock: Clock = { now: () => new Date(now) };
    const advanceSeconds = (seconds: number) => (now += seconds * 1000);

    beforeEach(() => {
      now = START;
    });

    it('verifies what it signed, giving back the claims', async () => {
      const signer = await makeSigner(clock, 900);
      expect(await signer.verify(await signer.sign(CLAIMS))).toEqual(CLAIMS);
      const admin: AccessClaims = { sub: 'other-user', email: 'root@example.org', role: 'superadmin', org_id: 'default' };
      expect(await signer.verify(await signer.sign(admin))).toEqual(admin);
    });

    it('never signs the same token twice, even for the same claims at the same instant', async () => {
      const signer = await makeSigner(clock, 900);
      expect(await signer.sign(CLAIMS)).not.toBe(await signer.sign(CLAIMS));
    });

    it.each([900, 60])('lets a token live expiresInSeconds (%i s), with 30 s of clock skew past exp, then answers TokenExpired', async (lifetime) => {
      const signer = await makeSigner(clock, lifetime);
      expect(signer.expiresInSeconds).toBe(lifetime);
      const checked = await signer.sign(CLAIMS);
      const unchecked = await signer.sign(CLAIMS);
      advanceSeconds(lifetime + CLOCK_TOLERANCE_SECONDS - 1);
      expect(await signer.verify(checked)).toEqual(CLAIMS);

      advanceSeconds(1);
      // From exactly exp + 30 s on, both a token verified before and one never seen are refused.
      for (const token of [checked, unchecked]) {
        const error = await refusal(signer, token);
        expect(error).toBeInstanceOf(TokenExpired);
        expect((error as TokenExpired).bearer).toBe(true);
      }
    });

    it('refuses malformed input with InvalidToken (bearer)', async () => {
      const signer = await makeSigner(clock, 900);
      const token = await signer.sign(CLAIMS);
      for (const malformed of ['', 'not-a-token', 'a.b.c', token.slice(0, Math.floor(token.length / 2))]) {
        const error = await refusal(signer, malformed);
        expect(error, malformed).toBeInstanceOf(InvalidToken);
        expect((error as InvalidToken).bearer).toBe(true);
      }
    });
  });
}
