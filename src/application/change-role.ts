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
  // Decide on the role as read, write only if it is still that role: a concurrent
  // change sends us round again to decide on the new state.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const target = await deps.users.findById(input.userId);
    if (!target) throw new NotFound('User not found');
    const otherActive = target.role === 'superadmin' ? (await deps.users.countActive('superadmin')) - (target.status === 'active' ? 1 : 0) : 0;
    assertCanAssignRole(actor, target, role, otherActive);
    if (await deps.users.updateRole(target.id, role, target.role)) {
      ctx.audit.record('role_changed', { userId: target.id, actorId: actor.id, from: target.role, to: role, ip: ctx.ip });
      return { id: target.id, email: target.email, role };
    }
    // Refused with the role unchanged: the store's atomic last-active-superadmin check said no.
    if ((await deps.users.findById(target.id))?.role === target.role) throw new LastSuperadmin();
  }
  throw new Forbidden('The user changed while this request ran; try again');
}

const MAX_ATTEMPTS = 3;
