import { lookupEmail } from '../domain/email.js';
import { InvalidCredentials, InvalidRequest, TooManyRequests, UserSuspended } from '../domain/errors.js';
import { MAX_PASSWORD_LENGTH, meetsPolicy, passwordLength } from '../domain/password-policy.js';
import { checkCountedAttempt } from './counted-attempt.js';
import type { Deps, RequestContext } from './deps.js';
import { issueTokens } from './issue-tokens.js';
import type { TokenPair } from './issue-tokens.js';

export interface LoginInput {
  email: string;
  password: string;
}

/**
 * Email + password login. Unknown email and wrong password fail alike, in about the same
 * time; a suspended account is only revealed to someone who knows its password. The
 * email's shape is not checked: one no account has is just an unknown email.
 */
export async function login(deps: Deps, input: LoginInput, ctx: RequestContext): Promise<TokenPair> {
  const { users, hasher, limiter, clock, settings } = deps;
  const email = lookupEmail(input.email);
  if (passwordLength(input.password) > MAX_PASSWORD_LENGTH) throw new InvalidRequest('password is too long');

  // Looked up before the attempt is counted: a login refused because the database is
  // down (503) checked no password, so it must not count towards a lock.
  const user = await users.findByEmail(email);
  const lockedFor = await limiter.beginLoginAttempt(email, settings.lockoutThreshold, clock.now());
  if (lockedFor > 0) {
    // The email as stored: an unknown one is whatever a client sent, and stays out of the log.
    ctx.audit.record('login_locked', { userId: user?.id, email: user?.email, ip: ctx.ip, retryAfter: lockedFor });
    throw new TooManyRequests(lockedFor);
  }

  const verdict = await checkCountedAttempt(deps, email, () => (user ? hasher.verify(user.passwordHash, input.password) : burn(deps, input.password)));
  if (!user || !verdict.ok) {
    ctx.audit.record('login_failed', { userId: user?.id, ip: ctx.ip });
    throw new InvalidCredentials();
  }
  await limiter.resetLoginFailures(email);
  if (user.status !== 'active') throw new UserSuspended();

  let verifiedHash = user.passwordHash;
  if (verdict.rehash) {
    const rehashed = await hasher.hash(input.password);
    if (!(await users.updatePasswordHash(user.id, rehashed, verifiedHash))) throw new InvalidCredentials();
    verifiedHash = rehashed;
  }
  const now = clock.now();
  const { refreshToken, familyId } = await openSession(deps, user.id, now);
  // A password change that landed while this login was verifying leaves it no session:
  // checked once the session exists, so a change that revoked the user's sessions before
  // this one was saved is still seen here.
  if (!(await users.recordLogin(user.id, now, verifiedHash))) {
    await deps.tokens.revokeFamily(familyId, now);
    throw new InvalidCredentials();
  }
  ctx.audit.record('login_succeeded', { userId: user.id, ip: ctx.ip });
  // An account from before the policy (pico-auth's admin/admin) keeps its password, but
  // the log names it for a change (ASVS 2.1.7: checked at login too).
  if (!meetsPolicy(input.password, settings.passwordPolicy)) ctx.audit.record('login_weak_password', { userId: user.id, ip: ctx.ip });
  return issueTokens(deps, user, refreshToken);
}

/** Starts a new refresh-token family, with the lifetime counted from now. */
async function openSession(deps: Deps, userId: string, now: Date): Promise<{ refreshToken: string; familyId: string }> {
  const refreshToken = deps.secrets.generate();
  const familyId = deps.ids.newId();
  await deps.tokens.create({
    hash: deps.secrets.hashOf(refreshToken),
    familyId,
    userId,
    expiresAt: new Date(now.getTime() + deps.settings.refreshTokenTtlSeconds * 1000),
    createdAt: now,
    consumedAt: null,
    revokedAt: null,
  });
  return { refreshToken, familyId };
}

/** The work of a verify, for an email with no account: the same time, and never a match. */
async function burn(deps: Deps, password: string): Promise<{ ok: boolean; rehash: boolean }> {
  await deps.hasher.burn(password);
  return { ok: false, rehash: false };
}
