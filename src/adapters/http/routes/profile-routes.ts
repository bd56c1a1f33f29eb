import type { Router } from '@koa/router';
import { authenticate } from '../../../application/authenticate.js';
import { changePassword } from '../../../application/change-password.js';
import type { Deps } from '../../../application/deps.js';
import { throttleClient } from '../../../application/throttle-client.js';
import { bearerToken, callerOf } from '../context.js';
import { objectBody, requiredString } from '../fields.js';
import { jsonBody } from '../json-body.js';
import { API_PREFIX } from '../paths.js';

/** The signed-in user's own account: `/me` and `/me/password`. */
export function profileRoutes(router: Router, deps: Deps): void {
  router.get(`${API_PREFIX}/me`, async (ctx) => {
    const user = await authenticate(deps, bearerToken(ctx));
    ctx.body = {
      id: user.id,
      email: user.email,
      display_name: user.displayName,
      role: user.role,
      org_id: user.orgId,
      status: user.status,
      created_at: user.createdAt.toISOString(),
      last_login_at: user.lastLoginAt?.toISOString() ?? null,
    };
  });

  router.post(`${API_PREFIX}/me/password`, async (ctx, next) => {
    await throttleClient(deps, callerOf(ctx).ip);
    ctx.state.user = await authenticate(deps, bearerToken(ctx));
    await next();
  }, jsonBody, async (ctx) => {
    const body = objectBody(ctx.state.body);
    const input = { oldPassword: requiredString(body, 'old_password'), newPassword: requiredString(body, 'new_password') };
    await changePassword(deps, ctx.state.user, input, callerOf(ctx));
    ctx.body = { message: 'Password changed' };
  });

}
