import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacRefreshSecrets } from '../../src/adapters/crypto/refresh-secrets.js';
import { describeRefreshSecretsContract } from '../contracts/refresh-secrets.contract.js';

describeRefreshSecretsContract('HmacRefreshSecrets', () => new HmacRefreshSecrets(randomBytes(64)));

const secrets = new HmacRefreshSecrets(randomBytes(64));

describe('HmacRefreshSecrets', () => {
  it('generates 256-bit tokens, base64url, never the same twice', () => {
    const tokens = Array.from({ length: 100 }, () => secrets.generate());
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(100);
  });

  it('stores a keyed hash: 64 hex characters, never the token, nor its plain SHA-256', () => {
    const token = secrets.generate();
    const hash = secrets.hashOf(token);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(secrets.hashOf(token));
    expect(hash).not.toContain(token);
    expect(hash).not.toBe(createHash('sha256').update(token).digest('hex'));
  });

  it("derives a successor no one can compute from the stored hash: a database reader learns no live token", () => {
    const parent = secrets.generate();
    const successor = secrets.successorOf(parent);
    expect(successor).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(successor).toBe(secrets.successorOf(parent));
    expect(successor).not.toBe(Buffer.from(secrets.hashOf(parent), 'hex').toString('base64url'));
    expect(secrets.hashOf(successor)).not.toBe(secrets.hashOf(parent));
  });

  it('keys both on the key material: another instance key gives other hashes and successors', () => {
    const other = new HmacRefreshSecrets(randomBytes(64));
    const token = secrets.generate();
    expect(other.hashOf(token)).not.toBe(secrets.hashOf(token));
    expect(other.successorOf(token)).not.toBe(secrets.successorOf(token));
    // Instances sharing the key directory agree.
    const material = randomBytes(64);
    expect(new HmacRefreshSecrets(material).successorOf(token)).toBe(new HmacRefreshSecrets(material).successorOf(token));
  });
});
