/**
 * The ports: everything the use cases need from the outside world, shaped by what they
 * do with it. Adapters in `src/adapters` implement them; `test/contracts` holds one
 * contract suite per port that every adapter must pass.
 */
import type { RefreshToken } from '../domain/refresh-token.js';
import type { Role, User } from '../domain/user.js';

export interface UserStore {
  /** Saves a new user; throws `UserExists` if the (normalized) email is taken. */
  create(user: User): Promise<void>;
  findById(id: string): Promise<User | undefined>;
  /** `email` must already be normalized. */
  findByEmail(email: string): Promise<User | undefined>;
  /** Newest first; `orgId` limits the page and the total to one org. */
  list(page: { limit: number; offset: number; orgId?: string | undefined }): Promise<{ users: User[]; total: number }>;
  /** Users of `role` whose status is active. */
  countActive(role: Role): Promise<number>;
  /**
   * Sets a user's role unless that would leave no active superadmin, or (with `expected`) the
   * role is no longer `expected`; returns false and changes nothing in those cases.
   * Atomic, so two admins demoting each other cannot both win, and a decision taken on
   * a role that changed meanwhile is never applied.
   */
  updateRole(id: string, role: Role, expected?: Role): Promise<boolean>;
  /**
   * Replaces the hash only if it is still `replacing` (compare-and-set), so a late
   * re-hash at login can never undo a password change. Returns whether it did.
   */
  updatePasswordHash(id: string, passwordHash: string, replacing: string): Promise<boolean>;
  /**
   * Records a login verified against `passwordHash`, only if that is still the user's
   * hash; returns whether it did. False means the password changed (or the user went)
   * while the login was verifying: that login must not stand.
   */
  recordLogin(id: string, at: Date, passwordHash: string): Promise<boolean>;
  /** Throws `Unavailable` if the store does not answer. */
  ping(): Promise<void>;
}

export interface TokenStore {
  /** Saves the first token of a new family (at login). */
  create(token: RefreshToken): Promise<void>;
  findByHash(hash: string): Promise<RefreshToken | undefined>;
  /**
   * Atomically consumes the live token `parentHash` and saves `successor` in its family.
   * Returns false, changing nothing, if the parent was no longer live (a concurrent
   * refresh won, or it was revoked): of N concurrent calls exactly one returns true.
   */
  rotate(parentHash: string, successor: RefreshToken, now: Date): Promise<boolean>;
  /** Revokes every token of the family, consumed ones included. */
  revokeFamily(familyId: string, now: Date): Promise<void>;
  /** Revokes every token of the user (password change, suspension). */
  revokeAllForUser(userId: string, now: Date): Promise<void>;
  /** Deletes tokens whose family expired before `before` (stores that expire keys by themselves may do nothing). */
  deleteExpired(before: Date): Promise<void>;
  ping(): Promise<void>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `rehash` is true when the hash should be replaced by a fresh one of the current kind. */
  verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }>;
  /** Spends about the time of one `verify`, for accounts that do not exist. */
  burn(password: string): Promise<void>;
}

export interface AccessClaims {
  sub: string;
  email: string;
  role: Role;
  org_id: string;
}

export interface TokenSigner {
  /** Signs a short-lived access token; adds iss, aud, iat, exp and a unique jti. */
  sign(claims: AccessClaims): Promise<string>;
  /** Throws `InvalidToken` or `TokenExpired` (with `bearer` set). */
  verify(token: string): Promise<AccessClaims>;
  readonly expiresInSeconds: number;
}

/** Opaque refresh-token secrets and their keyed hashes. */
export interface RefreshSecrets {
  /** A fresh random token of at least 256 bits, URL-safe. */
  generate(): string;
  /** The token that rotating `parent` yields: derived with a server key, so retries get the same one. */
  successorOf(parent: string): string;
  /** The keyed hash under which a token is stored. */
  hashOf(token: string): string;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}

export interface RateLimiter {
  /**
   * Takes one request from the token bucket `key` (burst = `perMinute`, refilled at
   * `perMinute` per minute). Returns 0 if allowed, else the seconds to wait.
   */
  take(key: string, perMinute: number, now: Date): Promise<number>;
  /**
   * Counts a login attempt for `key` before the password is checked, so concurrent
   * guesses cannot race past a lock. Returns 0 if the attempt may proceed, else the
   * seconds the account stays locked (and then counts nothing).
   */
  beginLoginAttempt(key: string, threshold: number, now: Date): Promise<number>;
  /** A successful login: the consecutive-failure count starts again from zero. */
  resetLoginFailures(key: string): Promise<void>;
  /**
   * An attempt counted by `beginLoginAttempt` that checked no password after all (the
   * hasher could not answer: 503): it no longer counts, and a lock it set is lifted.
   */
  abandonLoginAttempt(key: string): Promise<void>;
}
