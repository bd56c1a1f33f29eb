import type { Context } from 'koa';

/**
 * The client address: the socket's, or with `trustedHops` reverse proxies in front, the
 * address that many entries from the right of X-Forwarded-For. Entries further left
 * were written by the client and are never trusted.
 */
export function clientIp(ctx: Context, trustedHops: number): string {
  const socketAddress = ctx.req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return unmapped(socketAddress);
  const chain = (ctx.get('X-Forwarded-For') || '').split(',').map((entry) => entry.trim()).filter(Boolean);
  return unmapped(chain[chain.length - trustedHops] ?? chain[0] ?? socketAddress);
}

/** `::ffff:192.0.2.1` (IPv4 on a dual-stack socket) is the IPv4 client 192.0.2.1. */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
