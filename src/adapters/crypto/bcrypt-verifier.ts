import bcrypt from 'bcrypt';

/** pico-auth stored cost 12; anything above 15 is refused rather than computed (login-time DoS). */
const MIN_COST = 4;
const MAX_COST = 15;
/** bcrypt reads only this many bytes of the password; pico-auth cut the UTF-8 bytes there. */
const BCRYPT_MAX_BYTES = 72;
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export function acceptedBcryptCost(cost: number): boolean {
  return Number.isInteger(cost) && cost >= MIN_COST && cost <= MAX_COST;
}

/** The cost of a bcrypt hash worth computing; undefined for anything else. */
export function bcryptCost(hash: string): number | undefined {
  const cost = Number(BCRYPT_HASH.exec(hash)?.[1]);
  return acceptedBcryptCost(cost) ? cost : undefined;
}

/**
 * Checks a legacy bcrypt hash in the thread pool (native bcrypt); the caller bounds how
 * many run at once. bcrypt ignores bytes past the 72nd, exactly as pico-auth's cut did.
 */
export function compareBcrypt(hash: string, password: string): Promise<boolean> {
  // $2y$ (PHP's name) is the same algorithm as $2b$, which is the spelling native bcrypt reads.
  return bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$')).catch(() => false);
}

export function hashBcrypt(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

/**
 * Whether a bcrypt match may be re-hashed: not from 72 bytes up, where a match only proves
 * the first 72, and re-hashing that prefix would lock out the owner of a longer password.
 */
export function bcryptMatchRehashable(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') < BCRYPT_MAX_BYTES;
}
