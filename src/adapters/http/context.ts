import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { RequestContext } from '../../application/deps.js';
import { auditLog } from '../logging/logger.js';
import type { Logger } from '../logging/logger.js';
import { clientIp } from './client-ip.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Tags each request with an id (a caller's X-Request-Id if it is sane), its client IP and
 * an audit log, and sets the headers every answer carries (`standing`). Auth answers must
 * never be cached by browsers or proxies (RFC 6749 §5.1); the public key documents, which
 * may be, never reach Koa (public-documents.ts). Nothing to do after `next`, so no
 * `async` layer: each one costs every request a promise and a turn of the microtask queue.
 */
export function requestContext(logger: Logger, trustedHops: number, standing: Readonly<Record<string, string>>) {
  return function tagRequest(ctx: Context, next: Next): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    ctx.set(standing);
    const requestId = requestIdFrom(ctx.get('X-Request-Id'));
    ctx.state.requestId = requestId;
    ctx.state.caller = { ip: clientIp(ctx, trustedHops), audit: auditLog(logger, requestId) } satisfies RequestContext;
    ctx.set('X-Request-Id', requestId);
    return next();
  };
}

/** The caller's X-Request-Id if it is sane, else a new one. */
export function requestIdFrom(offered: string | string[] | undefined): string {
  return typeof offered === 'string' && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
}

export function callerOf(ctx: Context): RequestContext {
  return ctx.state.caller as RequestContext;
}

/** The token of an `Authorization: Bearer <token>` header; a token in the query string is never read. */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('Authorization');
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  return token.length > 0 ? token : undefined;
}
