import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, jwtVerify, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Algorithm } from '../../src/adapters/config/config.js';
import { JoseTokenSigner } from '../../src/adapters/crypto/jose-signer.js';
import type { SignerOptions } from '../../src/adapters/crypto/jose-signer.js';
import { loadOrCreateKeyPair } from '../../src/adapters/crypto/key-files.js';
import type { KeyPair } from '../../src/adapters/crypto/key-files.js';
import type { AccessClaims, Clock } from '../../src/application/ports.js';
import { InvalidToken, TokenExpired } from '../../src/domain/errors.js';
import { describeTokenSignerContract } from '../contracts/token-signer.contract.js';

const ALGORITHMS: Algorithm[] = ['RS256', 'ES256', 'EdDSA'];
const EXPECTED_TYPE: Record<Algorithm, { type: string; curve?: string }> = {
  RS256: { type: 'rsa' },
  ES256: { type: 'ec', curve: 'prime256v1' },
  EdDSA: { type: 'ed25519' },
};

const temporaryDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-keys-'));
  temporaryDirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function der(key: KeyObject): Buffer {
  return key.type === 'private' ? key.export({ type: 'pkcs8', format: 'der' }) : key.export({ type: 'spki', format: 'der' });
}

/** RFC 7638, computed by hand: the required members in lexicographic order, no whitespace, SHA-256. */
function thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

describe('loadOrCreateKeyPair', () => {
  it.each(ALGORITHMS)('generates a %s key pair: private.pem (PKCS#8, mode 0600) and public.pem (SPKI)', (algorithm) => {
    const dir = join(tempDir(), 'keys');
    const keys = loadOrCreateKeyPair(dir, algorithm);

    expect(readdirSync(dir).sort()).toEqual(['private.pem', 'public.pem']);
    expect(statSync(join(dir, 'private.pem')).mode & 0o777).toBe(0o600);

    const privatePem = readFileSync(join(dir, 'private.pem'), 'utf8');
    const publicPem = readFileSync(join(dir, 'public.pem'), 'utf8');
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    expect(keys.privateKey.asymmetricKeyType).toBe(EXPECTED_TYPE[algorithm].type);
    expect(keys.privateKey.asymmetricKeyDetails?.namedCurve).toBe(EXPECTED_TYPE[algorithm].curve);
    if (algorithm === 'RS256') expect(keys.privateKey.asymmetricKeyDetails?.modulusLength).toBeGreaterThanOrEqual(2048);
    expect(der(createPublicKey(publicPem))).toEqual(der(keys.publicKey));
    expect(der(createPublicKey(privatePem))).toEqual(der(keys.publicKey));
  });

  it.each(ALGORITHMS)('loads the same %s key the second time, leaving the files as they were', (algorithm) => {
    const dir = tempDir();
    const first = loadOrCreateKeyPair(dir, algorithm);
    const files = readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))] as const);
    const second = loadOrCreateKeyPair(dir, algorithm);

    expect(der(second.privateKey)).toEqual(der(first.privateKey));
    expect(der(second.publicKey)).toEqual(der(first.publicKey));
    expect(readdirSync(dir).sort()).toEqual(files.map(([name]) => name).sort());
    for (const [name, bytes] of files) expect(readFileSync(join(dir, name)).equals(bytes), name).toBe(true);
  });

  it('refuses, creating nothing, when told not to create and private.pem is missing (a cluster worker)', () => {
    const dir = tempDir();
    expect(() => loadOrCreateKeyPair(dir, 'RS256', { create: false })).toThrow(/private\.pem is missing/);
    expect(readdirSync(dir)).toEqual([]);
    loadOrCreateKeyPair(dir, 'RS256');
    expect(loadOrCreateKeyPair(dir, 'RS256', { create: false }).privateKey.asymmetricKeyType).toBe('rsa');
  });

  it('uses a pico-auth key directory as is, and writes public.pem only when it is missing', () => {
    const dir = tempDir();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(join(dir, 'private.pem'), privatePem, { mode: 0o600 });

    const keys = loadOrCreateKeyPair(dir, 'RS256');
    expect(der(keys.privateKey)).toEqual(der(privateKey));
    expect(readFileSync(join(dir, 'private.pem'), 'utf8')).toBe(privatePem);
    expect(der(createPublicKey(readFileSync(join(dir, 'public.pem'))))).toEqual(der(createPublicKey(privateKey)));
  });

  it.each([
    ['an RSA key', 'ES256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, /rsa/i],
    ['an EC P-256 key', 'RS256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, /\bec\b/i],
    ['an Ed25519 key', 'ES256', () => generateKeyPairSync('ed25519').privateKey, /ed25519/i],
    ['an EC P-384 key', 'ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, /secp384r1|P-384/i],
    ['an RSA key', 'EdDSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, /rsa/i],
    ['a 1024-bit RSA key', 'RS256', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, /1024-bit RSA.*2048/],
  ] as const)('refuses %s when AUTH_ALGORITHM is %s, naming both', (_, algorithm, makeKey, keyType) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'private.pem'), makeKey().export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const before = readFileSync(join(dir, 'private.pem'));

    let error: unknown;
    try {
      loadOrCreateKeyPair(dir, algorithm);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(keyType);
    expect((error as Error).message).toContain(algorithm);
    expect(readFileSync(join(dir, 'private.pem')).equals(before)).toBe(true);
  });
});

describe('JoseTokenSigner', () => {
  const NOW = new Date('2026-03-01T12:00:00.000Z');
  const NOW_S = Math.floor(NOW.getTime() / 1000);
  const at = (offsetSeconds: number): Clock => ({ now: () => new Date(NOW.getTime() + offsetSeconds * 1000) });
  const clock: Clock = at(0);
  const OPTIONS: SignerOptions = { algorithm: 'RS256', issuer: 'https://auth.example.test', audience: 'pico-bot', expiresInSeconds: 900 };
  const CLAIMS: AccessClaims = { sub: 'a1b2c3d4e5f6', email: 'bob@example.com', role: 'operator', org_id: 'acme' };

  let keysDir: string;
  let keys: KeyPair;
  let signer: JoseTokenSigner;
  let kid: string;

  beforeAll(async () => {
    keysDir = mkdtempSync(join(tmpdir(), 'pico-auth-signer-'));
    keys = loadOrCreateKeyPair(keysDir, 'RS256');
    signer = await JoseTokenSigner.create(keys, OPTIONS, clock);
    kid = thumbprint(keys.publicKey);
    return () => rmSync(keysDir, { recursive: true, force: true });
  });

  for (const algorithm of ALGORITHMS) {
    let pair: KeyPair | undefined;
    describeTokenSignerContract(`JoseTokenSigner ${algorithm}`, async (moving, expiresInSeconds) => {
      pair ??= loadOrCreateKeyPair(tempDir(), algorithm);
      return JoseTokenSigner.create(pair, { ...OPTIONS, algorithm, expiresInSeconds }, moving);
    });
  }

  /** A token with our header and claims by default; `edit` changes either before signing. */
  function forge(
    edit: { header?: Record<string, unknown>; claims?: Record<string, unknown>; drop?: string[] } = {},
    key: KeyObject | Uint8Array = keys.privateKey,
  ): Promise<string> {
    const claims: Record<string, unknown> = {
      ...CLAIMS,
      iss: OPTIONS.issuer,
      aud: OPTIONS.audience,
      iat: NOW_S,
      exp: NOW_S + 900,
      jti: randomUUID(),
      ...edit.claims,
    };
    for (const name of edit.drop ?? []) delete claims[name];
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid, ...edit.header } as { alg: string }).sign(key);
  }

  async function refusal(token: string, verifier: JoseTokenSigner = signer): Promise<unknown> {
    return verifier.verify(token).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  /** `token` with one signature character changed: in the middle, as the last may carry only padding bits. */
  function withSignatureFlipped(token: string): string {
    const [header, payload, signature = ''] = token.split('.');
    const middle = Math.floor(signature.length / 2);
    return `${header}.${payload}.${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
  }

  async function expectInvalid(token: string, verifier: JoseTokenSigner = signer): Promise<void> {
    const error = await refusal(token, verifier);
    expect(error).toBeInstanceOf(InvalidToken);
    expect((error as InvalidToken).bearer).toBe(true);
  }

  it.each(ALGORITHMS)('signs %s tokens that verify, with kid = the RFC 7638 thumbprint of the public key', async (algorithm) => {
    const dir = tempDir();
    const pair = loadOrCreateKeyPair(dir, algorithm);
    const ours = await JoseTokenSigner.create(pair, { ...OPTIONS, algorithm }, clock);
    const token = await ours.sign(CLAIMS);

    expect(await ours.verify(token)).toEqual(CLAIMS);
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: algorithm, typ: 'JWT', kid: thumbprint(pair.publicKey) });
    expect(header.kid).toBe(await calculateJwkThumbprint(await exportJWK(pair.publicKey), 'sha256'));

    // Any standard verifier accepts it with the public key alone.
    const { payload } = await jwtVerify(token, pair.publicKey, {
      algorithms: [algorithm],
      issuer: OPTIONS.issuer,
      audience: OPTIONS.audience,
      currentDate: NOW,
    });
    expect(payload).toMatchObject({ ...CLAIMS, iss: OPTIONS.issuer, aud: OPTIONS.audience, iat: NOW_S, exp: NOW_S + 900 });
    expect(typeof payload.jti).toBe('string');

    expect(ours.jwks().keys).toEqual([expect.objectContaining({ kid: header.kid, use: 'sig', alg: algorithm })]);
    expect(ours.jwks().keys[0]).not.toHaveProperty('d');
  });

  it('gives every token its own jti', async () => {
    const [a, b] = await Promise.all([signer.sign(CLAIMS), signer.sign(CLAIMS)]);
    expect(decodeJwt(a!).jti).not.toBe(decodeJwt(b!).jti);
  });

  it('accepts a token it did not sign itself when key, kid and claims are right', async () => {
    expect(await signer.verify(await forge())).toEqual(CLAIMS);
  });

  it('rejects alg "none"', async () => {
    const encode = (value: object) => base64url.encode(JSON.stringify(value));
    const claims = { ...CLAIMS, iss: OPTIONS.issuer, aud: OPTIONS.audience, iat: NOW_S, exp: NOW_S + 900 };
    await expectInvalid(`${encode({ alg: 'none', typ: 'JWT', kid })}.${encode(claims)}.`);
    await expectInvalid(`${encode({ alg: 'none', typ: 'JWT', kid })}.${encode(claims)}`);
  });

  it('rejects HS256 signed with the public key PEM as the secret', async () => {
    const publicPem = readFileSync(join(keysDir, 'public.pem'));
    await expectInvalid(await forge({ header: { alg: 'HS256' } }, new Uint8Array(publicPem)));
    const exported = new TextEncoder().encode(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    await expectInvalid(await forge({ header: { alg: 'HS256' } }, exported));
  });

  it('rejects another algorithm made with our own key (PS256 for an RS256 server)', async () => {
    await expectInvalid(await forge({ header: { alg: 'PS256' } }));
  });

  it('rejects a foreign kid, even when the signature is ours, and a missing kid', async () => {
    await expectInvalid(await forge({ header: { kid: 'some-other-key' } }));
    await expectInvalid(await forge({ header: { kid: undefined } }));
  });

  it('rejects a token signed by another key under our kid', async () => {
    const { privateKey: stranger } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectInvalid(await forge({}, stranger));
  });

  it('never trusts a key embedded in the header', async () => {
    const { privateKey: stranger, publicKey: strangerPublic } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = await exportJWK(strangerPublic);
    await expectInvalid(await forge({ header: { jwk } }, stranger));
  });

  it('rejects a wrong issuer or audience', async () => {
    await expectInvalid(await forge({ claims: { iss: 'https://evil.example.test' } }));
    await expectInvalid(await forge({ claims: { aud: 'another-service' } }));
    await expectInvalid(await forge({ drop: ['iss'] }));
    await expectInvalid(await forge({ drop: ['aud'] }));
  });

  it('rejects a token without exp', async () => {
    await expectInvalid(await forge({ drop: ['exp'] }));
  });

  it('tolerates 30 s of clock skew on exp, and answers TokenExpired beyond it', async () => {
    const token = await signer.sign(CLAIMS);
    const within = await JoseTokenSigner.create(keys, OPTIONS, at(900 + 20));
    expect(await within.verify(token)).toEqual(CLAIMS);

    const beyond = await JoseTokenSigner.create(keys, OPTIONS, at(900 + 31));
    const error = await refusal(token, beyond);
    expect(error).toBeInstanceOf(TokenExpired);
    expect((error as TokenExpired).bearer).toBe(true);

    const forged = await forge({ claims: { iat: NOW_S - 100, exp: NOW_S - 31 } });
    expect(await refusal(forged)).toBeInstanceOf(TokenExpired);
  });

  it('remembers a verified token, but still expires it on time', async () => {
    let now = NOW.getTime();
    const moving: Clock = { now: () => new Date(now) };
    const caching = await JoseTokenSigner.create(keys, OPTIONS, moving);
    const token = await caching.sign(CLAIMS);
    expect(await caching.verify(token)).toEqual(CLAIMS);
    now += (900 + 20) * 1000;
    expect(await caching.verify(token)).toEqual(CLAIMS);
    now += 11 * 1000;
    expect(await refusal(token, caching)).toBeInstanceOf(TokenExpired);
    // A tampered copy is a different string: it is never served from what was remembered.
    now = NOW.getTime();
    await expectInvalid(withSignatureFlipped(token), caching);
  });

  it('ends a token issued with a longer lifetime than the one configured now at iat + that lifetime, remembered or not', async () => {
    let now = NOW.getTime();
    const moving: Clock = { now: () => new Date(now) };
    // Issued for an hour; the server now gives 15 minutes (OPTIONS), as after a restart with a lower setting.
    const longLived = await forge({ claims: { iat: NOW_S, exp: NOW_S + 3600 } });
    const remembering = await JoseTokenSigner.create(keys, OPTIONS, moving);
    expect(await remembering.verify(longLived)).toEqual(CLAIMS);
    now += (900 + 29) * 1000;
    expect(await remembering.verify(longLived)).toEqual(CLAIMS);

    now += 2 * 1000;
    expect(await refusal(longLived, remembering)).toBeInstanceOf(TokenExpired);
    expect(await refusal(longLived, await JoseTokenSigner.create(keys, OPTIONS, moving))).toBeInstanceOf(TokenExpired);
  });

  it('tolerates an iat up to 30 s in the future, and rejects one beyond', async () => {
    const slightlyAhead = await (await JoseTokenSigner.create(keys, OPTIONS, at(20))).sign(CLAIMS);
    expect(await signer.verify(slightlyAhead)).toEqual(CLAIMS);

    const farAhead = await (await JoseTokenSigner.create(keys, OPTIONS, at(31))).sign(CLAIMS);
    await expectInvalid(farAhead);
    await expectInvalid(await forge({ claims: { iat: NOW_S + 3600, exp: NOW_S + 3600 + 900 } }));
  });

  it('rejects a tampered payload', async () => {
    const [header, payload, signature] = (await signer.sign(CLAIMS)).split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    const promoted = base64url.encode(JSON.stringify({ ...claims, role: 'superadmin' }));
    await expectInvalid(`${header}.${promoted}.${signature}`);
  });

  it('rejects garbage', async () => {
    for (const token of ['', 'not-a-jwt', 'a.b.c', `${base64url.encode('{}')}.${base64url.encode('{}')}.`]) await expectInvalid(token);
  });
});
