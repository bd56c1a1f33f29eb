import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Algorithm } from '../config/config.js';


export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const KEY_TYPE: Record<Algorithm, { type: string; curve?: string; label: string }> = {
  RS256: { type: 'rsa', label: 'RSA' },
  ES256: { type: 'ec', curve: 'prime256v1', label: 'EC P-256' },
  EdDSA: { type: 'ed25519', label: 'Ed25519' },
};

/**
 * Loads `private.pem` (PKCS#8) from `dir` — pico-auth's layout — or generates a key pair
 * and writes it there (private key mode 0600). The public key is always derived from the
 * private one, and `public.pem` (SPKI) is written for other services to read.
 */
export function loadOrCreateKeyPair(dir: string, algorithm: Algorithm, options: { create: boolean } = { create: true }): KeyPair {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privatePath = join(dir, 'private.pem');
  const privatePem = readIfExists(privatePath) ?? (options.create ? createPrivateKeyFile(privatePath, algorithm) : missing(privatePath));
  const privateKey = createPrivateKey(privatePem);
  assertKeyType(privateKey, algorithm, privatePath);
  const publicKey = createPublicKey(privateKey);
  const publicPath = join(dir, 'public.pem');
  if (readIfExists(publicPath) === undefined) {
    writeAtomically(publicPath, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  }
  return { privateKey, publicKey };
}

/** A cluster worker signs with the key its primary loaded: one that vanished since is an error, not a new key. */
function missing(path: string): never {
  throw new Error(`${path} is missing: the key files changed while the server was running`);
}

function createPrivateKeyFile(path: string, algorithm: Algorithm): string {
  const pem = generatePrivatePem(algorithm);
  writeAtomically(path, pem, 0o600);
  // Another instance may have won the race to create it: the file on disk is the truth.
  return readFileSync(path, 'utf8');
}

function generatePrivatePem(algorithm: Algorithm): string {
  const { privateKey } =
    algorithm === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : algorithm === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Writes a temporary file, then hard-links it into place: readers never see half a key, and an existing file is never replaced. */
function writeAtomically(path: string, content: string, mode: number): void {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, content, { mode, flag: 'wx' });
  chmodSync(temporary, mode);
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** RFC 7518 §3.3: RS256 keys of 2048 bits or more (jose refuses to sign with less). */
const MIN_RSA_BITS = 2048;

function assertKeyType(key: KeyObject, algorithm: Algorithm, path: string): void {
  const expected = KEY_TYPE[algorithm];
  const { namedCurve: curve, modulusLength: bits } = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType !== expected.type || (expected.curve && curve !== expected.curve)) {
    const found = [key.asymmetricKeyType ?? 'unknown', curve].filter(Boolean).join(' ');
    throw new Error(`Key file ${path} holds a ${found} key, but AUTH_ALGORITHM is ${algorithm} (needs ${expected.label})`);
  }
  // Refused at start-up, rather than by every login once the server is serving.
  if (expected.type === 'rsa' && (bits ?? 0) < MIN_RSA_BITS) {
    throw new Error(`Key file ${path} holds a ${bits}-bit RSA key; ${algorithm} needs ${MIN_RSA_BITS} bits or more`);
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
