import { InvalidRequest, WeakPassword } from './errors.js';

/** Longest password accepted anywhere, so hashing cost stays bounded (SPEC §6). */
export const MAX_PASSWORD_LENGTH = 1024;

export interface PasswordPolicy {
  minLength: number;
  isCommon: (password: string) => boolean;
}

/** Length counts characters (code points), as a user would. */
export function passwordLength(password: string): number {
  let count = 0;
  for (const _ of password) count++;
  return count;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Whether a password would be accepted as a new one; one from before the policy may not be. */
export function meetsPolicy(password: string, policy: PasswordPolicy): boolean {
  try {
    assertAcceptablePassword(password, policy);
    return true;
  } catch {
    return false;
  }
}

/** NIST 800-63B: a length floor and ceiling and a blocklist; no composition rules. */
export function assertAcceptablePassword(password: string, policy: PasswordPolicy): void {
  // A lone surrogate is no character: hashed as UTF-8 it becomes U+FFFD, so two passwords would be one.
  if (LONE_SURROGATE.test(password)) throw new InvalidRequest('password must be valid Unicode text');
  const length = passwordLength(password);
  if (length < policy.minLength) throw new WeakPassword(`Password must be at least ${policy.minLength} characters`);
  if (length > MAX_PASSWORD_LENGTH) throw new WeakPassword(`Password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (policy.isCommon(password)) throw new WeakPassword('Password is too common');
}
