import { InvalidCredentials } from '../domain/errors.js';
import { assertAcceptablePassword, MAX_PASSWORD_LENGTH, passwordLength } from '../domain/password-policy.js';
import type { User } from '../domain/user.js';
import type { Deps, RequestContext } from './deps.js';

export interface ChangePasswordInput {
  oldPassword: string;
  newPassword: string;
}

/** Changes the caller's password and ends every session they have. */
export async function changePassword(deps: Deps, user: User, input: ChangePasswordInput, ctx: RequestContext): Promise<void> {
  const { hasher, tokens, users, clock } = deps;
  if (passwordLength(input.oldPassword) > MAX_PASSWORD_LENGTH) throw new InvalidCredentials(false);
  const { ok } = await hasher.verify(user.passwordHash, input.oldPassword);
  if (!ok) throw new InvalidCredentials(false);
  assertAcceptablePassword(input.newPassword, deps.settings.passwordPolicy);
  const newHash = await hasher.hash(input.newPassword);

  // Revoke, write, revoke: the stores may be different systems (SQL and Redis), so no
  // crash point leaves the new password with an old session alive, and a session opened
  // with the old password in between dies too.
  await tokens.revokeAllForUser(user.id, clock.now());
  await users.updatePasswordHash(user.id, newHash);
  await tokens.revokeAllForUser(user.id, clock.now());
  ctx.audit.record('password_changed', { userId: user.id, ip: ctx.ip });
}
