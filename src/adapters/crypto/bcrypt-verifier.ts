import bcrypt from 'bcryptjs';

/** What pico-auth stored is cost 12; anything above this is refused rather than computed (login-time DoS). */
const MAX_COST = 15;
/** bcrypt reads only this many bytes of the password; pico-auth cut the UTF-8 bytes there. */
const BCRYPT_MAX_BYTES = 72;
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export function isBcryptHash(hash: string): boolean {
  return BCRYPT_HASH.test(hash);
}

/**
 * Verifies a legacy bcrypt hash. bcrypt itself ignores bytes past the 72nd, exactly as
 * pico-auth's cut did; `rehash` is false for longer passwords, since a match then only
 * proves their first 72 bytes.
 */
export async function verifyBcrypt(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
  const cost = Number(BCRYPT_HASH.exec(hash)?.[1]);
  if (!(cost <= MAX_COST)) return { ok: false, rehash: false };
  const ok = await bcrypt.compare(password, hash);
  return { ok, rehash: ok && Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES };
}
