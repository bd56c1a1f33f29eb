import { InvalidRequest } from './errors.js';

const MAX_EMAIL_LENGTH = 254;
const MAX_LOCAL_PART_LENGTH = 64;
/** RFC 1035 §2.3.4. An internationalized label is never shorter as its xn-- form, so the bound holds for it too. */
const MAX_LABEL_LENGTH = 63;

/**
 * Trims, NFC-normalizes and lower-cases an email, then checks its shape with a single
 * linear scan (no regex, so no backtracking on hostile input). For new accounts.
 */
export function normalizeEmail(raw: string): string {
  const email = lookupEmail(raw);
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (at < 1 || local.length > MAX_LOCAL_PART_LENGTH || local.includes('@')) throw invalidEmail();
  if (!isPlausibleDomain(domain) || hasForbiddenCharacter(local)) throw invalidEmail();
  return email;
}

/**
 * The spelling an existing account is looked up under: canonical and of a length one can
 * have, but not shape-checked. pico-auth stored emails unchecked (`ops@intranet`), and
 * their owners must still sign in; an address no account has matches nobody.
 */
export function lookupEmail(raw: string): string {
  if (raw.length > MAX_EMAIL_LENGTH * 4) throw invalidEmail();
  const email = canonicalEmail(raw);
  if (email.length === 0 || email.length > MAX_EMAIL_LENGTH) throw invalidEmail();
  return email;
}

/** The spelling under which an email is stored and looked up. */
export function canonicalEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase();
}

function isPlausibleDomain(domain: string): boolean {
  if (domain.length < 3 || !domain.includes('.') || hasForbiddenCharacter(domain)) return false;
  return domain.split('.').every((label) => label.length > 0 && label.length <= MAX_LABEL_LENGTH && !label.startsWith('-') && !label.endsWith('-'));
}

/**
 * Invisible or malformed characters: controls, format characters (zero-width spaces,
 * soft hyphens, bidirectional overrides), lone surrogates, private-use and unassigned
 * code points, and every kind of space. An address made with them would pass for
 * another one (`admin\u200B@…` for `admin@…`) wherever emails are shown.
 */
const UNSAFE = /[\p{C}\p{Z}]/u;

function hasForbiddenCharacter(part: string): boolean {
  for (const char of part) {
    if (UNSAFE.test(char) || '"(),:;<>[\\]'.includes(char)) return true;
  }
  return false;
}

function invalidEmail(): InvalidRequest {
  return new InvalidRequest('email must be a valid email address of at most 254 characters');
}
