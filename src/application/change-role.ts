import { Forbidden, LastSuperadmin, NotFound } from '../domain/errors.js';
import { assertCanAssignRole, isAdmin, parseRole } from '../domain/user.js';
import type { Role, User } from '../domain/user.js';
import type { Deps, RequestContext } from './deps.js';

/** Gives a user another role, within the ranking rules of SPEC §4. */
export async function changeRole(
  deps: Pick<Deps, 'users'>,
  actor: User,
  input: { userId: string; role: string },
  ctx: RequestContext,
): Promise<{ id: string; email: string; role: Role }> {
  if (!isAdmin(actor.role)) throw new Forbidden('Admin role required');
  const role = parseRole(input.role);
  const target = await deps.users.findById(input.userId);
  if (!target) throw new NotFound('User not found');
  const superadmins = target.role === 'superadmin' ? await deps.users.countByRole('superadmin') : 0;
  assertCanAssignRole(actor, target, role, superadmins);
  // The store re-checks the last-superadmin rule atomically against concurrent demotions.
  if (!(await deps.users.updateRole(target.id, role))) throw new LastSuperadmin();
  ctx.audit.record('role_changed', { userId: target.id, actorId: actor.id, from: target.role, to: role, ip: ctx.ip });
  return { id: target.id, email: target.email, role };
}
