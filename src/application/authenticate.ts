import { InvalidToken, Unauthenticated, UserSuspended } from '../domain/errors.js';
import type { User } from '../domain/user.js';
import type { Deps } from './deps.js';

/**
 * Resolves a bearer token to its user as stored now: a deleted user's token stops
 * working at once, and callers check the current role, not the token's.
 */
export async function authenticate(deps: Pick<Deps, 'signer' | 'users'>, bearer: string | undefined): Promise<User> {
  if (!bearer) throw new Unauthenticated();
  const claims = await deps.signer.verify(bearer);
  const user = await deps.users.findById(claims.sub);
  if (!user) throw new InvalidToken('Token is invalid', true);
  if (user.status !== 'active') throw new UserSuspended();
  return user;
}
