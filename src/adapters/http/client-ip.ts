import { isIP } from 'node:net';
import type { Context } from 'koa';

/**
 * The client address: the socket's, or with `trustedHops` reverse proxies in front, the
 * address that many entries from the right of X-Forwarded-For. Entries further left
 * were written by the client and are never trusted. An entry that is no address falls
 * back to the socket's: one bucket for all of them, not a new one per made-up value.
 */
export function clientIp(ctx: Context, trustedHops: number): string {
  const socketAddress = ctx.req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return unmapped(socketAddress);
  const chain = (ctx.get('X-Forwarded-For') || '').split(',').map((entry) => entry.trim()).filter(Boolean);
  const entry = chain[chain.length - trustedHops] ?? chain[0];
  return unmapped((entry === undefined ? undefined : addressOf(entry)) ?? socketAddress);
}

/**
 * An entry's address without the port some proxies add (`192.0.2.1:5555`,
 * `[2001:db8::1]:443`): a port differs per connection, and would give each its own bucket.
 */
function addressOf(entry: string): string | undefined {
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(entry);
  const ipv4WithPort = /^([\d.]+):\d{1,5}$/.exec(entry);
  const address = bracketed?.[1] ?? ipv4WithPort?.[1] ?? entry;
  return isIP(address) === 0 ? undefined : address;
}

/** `::ffff:192.0.2.1` (IPv4 on a dual-stack socket) is the IPv4 client 192.0.2.1. */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
