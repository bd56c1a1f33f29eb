import type { Context } from 'koa';

/**
 * The client address: the socket's, or with `trustedHops` reverse proxies in front, the
 * address that many entries from the right of X-Forwarded-For. Entries further left
 * were written by the client and are never trusted.
 */
export function clientIp(ctx: Context, trustedHops: number): string {
  const socketAddress = ctx.req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return socketAddress;
  const chain = (ctx.get('X-Forwarded-For') || '').split(',').map((entry) => entry.trim()).filter(Boolean);
  return chain[chain.length - trustedHops] ?? chain[0] ?? socketAddress;
}
