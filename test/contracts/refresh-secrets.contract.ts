import { describe, expect, it } from 'vitest';
import type { RefreshSecrets } from '../../src/application/ports.js';

/** URL-safe (RFC 3986 unreserved characters), and as long as 256 bits in base64url. */
const URL_SAFE_TOKEN = /^[A-Za-z0-9._~-]{43,}$/;

/**
 * The `RefreshSecrets` contract (STYLE rule 8): fresh tokens never repeat, and rotation
 * and storage are pure functions of the token, so a retried rotation finds what the
 * first attempt stored.
 */
export function describeRefreshSecretsContract(name: string, makeSecrets: () => RefreshSecrets): void {
  describe(`RefreshSecrets contract: ${name}`, () => {
    it('generates distinct URL-safe tokens', () => {
      const secrets = makeSecrets();
      const tokens = Array.from({ length: 50 }, () => secrets.generate());
      for (const token of tokens) expect(token).toMatch(URL_SAFE_TOKEN);
      expect(new Set(tokens).size).toBe(tokens.length);
    });

    it('derives the same successor from a parent every time, never the parent itself', () => {
      const secrets = makeSecrets();
      const [a, b] = [secrets.generate(), secrets.generate()];
      expect(secrets.successorOf(a)).toBe(secrets.successorOf(a));
      expect(secrets.successorOf(a)).not.toBe(a);
      expect(secrets.successorOf(a)).not.toBe(secrets.successorOf(b));
      expect(secrets.successorOf(a)).toMatch(URL_SAFE_TOKEN);
    });

    it('hashes a token the same way every time, and distinct tokens apart', () => {
      const secrets = makeSecrets();
      const token = secrets.generate();
      const others = [secrets.generate(), secrets.successorOf(token)];
      expect(secrets.hashOf(token)).toBe(secrets.hashOf(token));
      expect(secrets.hashOf(token)).not.toBe(token);
      for (const other of others) expect(secrets.hashOf(other)).not.toBe(secrets.hashOf(token));
    });
  });
}
