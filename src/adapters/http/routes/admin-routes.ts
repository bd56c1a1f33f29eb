import type { Router } from '@koa/router';
import { authenticate } from '../../../application/authenticate.js';
import { changeRole } from '../../../application/change-role.js';
import type { Deps } from '../../../application/deps.js';
import { listUsers } from '../../../application/list-users.js';
import { bearerToken, callerOf } from '../context.js';
import { queryInteger, stringOrField } from '../fields.js';
import { jsonBody } from '../json-body.js';
import { API_PREFIX } from '../paths.js';

const DEFAULT_PAGE_SIZE = 50;

/** User administration for superadmins and org admins. */
export function adminRoutes(router: Router, deps: Deps): void {
  router.get(`${API_PREFIX}/users`, async (ctx) => {
    const actor = await authenticate(deps, bearerToken(ctx));
    const page = {
      limit: queryInteger(ctx.query.limit, 'limit', DEFAULT_PAGE_SIZE),
      offset: queryInteger(ctx.query.offset, 'offset', 0),
    };
    const { users, total } = await listUsers(deps, actor, page);
    ctx.body = {
      users: users.map((u) => ({ id: u.id, email: u.email, display_name: u.displayName, role: u.role, org_id: u.orgId, status: u.status })),
      total,
    };
  });

  router.put(`${API_PREFIX}/users/:id/role`, async (ctx, next) => {
    ctx.state.user = await authenticate(deps, bearerToken(ctx));
    await next();
  }, jsonBody, async (ctx) => {
    const input = { userId: ctx.params.id ?? '', role: stringOrField(ctx.state.body, 'role') };
    ctx.body = await changeRole(deps, ctx.state.user, input, callerOf(ctx));
  });

}
