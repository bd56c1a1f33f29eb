import { InvalidCredentials, TooManyRequests } from '../domain/errors.js';
import { assertAcceptablePassword, MAX_PASSWORD_LENGTH, passwordLength } from '../domain/password-policy.js';
import type { User } from '../domain/user.js';
import { checkCountedAttempt } from './counted-attempt.js';
import type { Deps, RequestContext } from './deps.js';

export interface ChangePasswordInput {
  oldPassword: string;
  newPassword: string;
}

/** Changes the caller's password and ends every session they have. */
export async function changePassword(deps: Deps, user: User, input: ChangePasswordInput, ctx: RequestContext): Promise<void> {
  const { hasher, tokens, users, clock } = deps;
  if (passwordLength(input.oldPassword) > MAX_PASSWORD_LENGTH) throw new InvalidCredentials(false);
  // The old password is what stops a thief holding an access token: guesses count
  // towards the same lock as failed logins.
  const lockedFor = await deps.limiter.beginLoginAttempt(user.email, deps.settings.lockoutThreshold, clock.now());
  if (lockedFor > 0) {
    ctx.audit.record('login_locked', { userId: user.id, email: user.email, ip: ctx.ip, retryAfter: lockedFor });
    throw new TooManyRequests(lockedFor);
  }
  const { ok } = await checkCountedAttempt(deps, user.email, () => hasher.verify(user.passwordHash, input.oldPassword));
  if (!ok) {
    ctx.audit.record('password_change_failed', { userId: user.id, ip: ctx.ip });
    throw new InvalidCredentials(false);
  }
  await deps.limiter.resetLoginFailures(user.email);
  assertAcceptablePassword(input.newPassword, deps.settings.passwordPolicy);
  const newHash = await hasher.hash(input.newPassword);

  // Revoke, write, revoke: the stores may be different systems (SQL and Redis), so no
  // crash point leaves the new password with an old session alive, and a session opened
  // with the old password in between dies too.
  await tokens.revokeAllForUser(user.id, clock.now());
  // Compare-and-set: if the password changed since it was verified, this change is refused.
  if (!(await users.updatePasswordHash(user.id, newHash, user.passwordHash))) throw new InvalidCredentials(false);
  await tokens.revokeAllForUser(user.id, clock.now());
  ctx.audit.record('password_changed', { userId: user.id, ip: ctx.ip });
}
