import type { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import type { Deps } from '../../../application/deps.js';
import { login } from '../../../application/login.js';
import { logout } from '../../../application/logout.js';
import { refresh } from '../../../application/refresh.js';
import { assertRegistrationOpen, register } from '../../../application/register.js';
import { throttleClient } from '../../../application/throttle-client.js';
import type { TokenPair } from '../../../application/issue-tokens.js';
import { callerOf } from '../context.js';
import { objectBody, optionalString, requiredString, stringOrField } from '../fields.js';
import { jsonBody } from '../json-body.js';
import { API_PREFIX } from '../paths.js';

/** Public endpoints: register, login, refresh, logout. */
export function accountRoutes(router: Router, deps: Deps): void {
  const throttled = async (ctx: Context, next: Next) => {
    await throttleClient(deps, callerOf(ctx).ip);
    await next();
  };

  const registrationOpen = async (_ctx: Context, next: Next) => {
    assertRegistrationOpen(deps);
    await next();
  };

  router.post(`${API_PREFIX}/register`, registrationOpen, throttled, jsonBody, async (ctx) => {
    const body = objectBody(ctx.state.body);
    const input = {
      email: requiredString(body, 'email'),
      password: requiredString(body, 'password'),
      displayName: optionalString(body, 'display_name', 255),
    };
    const user = await register(deps, input, callerOf(ctx));
    ctx.status = 201;
    ctx.body = { id: user.id, email: user.email, role: user.role, status: user.status };
  });

  router.post(`${API_PREFIX}/login`, throttled, jsonBody, async (ctx) => {
    const body = objectBody(ctx.state.body);
    const input = { email: requiredString(body, 'email'), password: requiredString(body, 'password') };
    sendTokens(ctx, await login(deps, input, callerOf(ctx)));
  });

  router.post(`${API_PREFIX}/refresh`, throttled, jsonBody, async (ctx) => {
    sendTokens(ctx, await refresh(deps, stringOrField(ctx.state.body, 'refresh_token'), callerOf(ctx)));
  });

  router.post(`${API_PREFIX}/logout`, jsonBody, async (ctx) => {
    await logout(deps, stringOrField(ctx.state.body, 'refresh_token'));
    ctx.status = 204;
  });

}

/** RFC 6749 §5.1: beside `Cache-Control: no-store` (set on every answer), `Pragma: no-cache` for HTTP/1.0 caches. */
function sendTokens(ctx: Context, pair: TokenPair): void {
  ctx.set('Pragma', 'no-cache');
  ctx.body = { access_token: pair.accessToken, refresh_token: pair.refreshToken, token_type: 'Bearer', expires_in: pair.expiresIn };
}
