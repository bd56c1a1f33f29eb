import { Forbidden } from '../domain/errors.js';
import { isAdmin, toPublicUser } from '../domain/user.js';
import type { PublicUser, User } from '../domain/user.js';
import type { Deps } from './deps.js';

export const MAX_PAGE_SIZE = 500;

/** A page of users: everyone for a superadmin, its own org for an org_admin. */
export async function listUsers(
  deps: Pick<Deps, 'users'>,
  actor: User,
  page: { limit: number; offset: number },
): Promise<{ users: PublicUser[]; total: number }> {
  if (!isAdmin(actor.role)) throw new Forbidden('Admin role required');
  const orgId = actor.role === 'superadmin' ? undefined : actor.orgId;
  const limit = Math.min(page.limit, MAX_PAGE_SIZE);
  const { users, total } = await deps.users.list({ limit, offset: page.offset, orgId });
  return { users: users.map(toPublicUser), total };
}
