import { TooManyRequests } from '../domain/errors.js';
import type { Deps } from './deps.js';

/** The per-IP token bucket shared by login, register, refresh and password change. */
export async function throttleClient(deps: Pick<Deps, 'limiter' | 'clock' | 'settings'>, ip: string): Promise<void> {
  const perMinute = deps.settings.ipRateLimitPerMinute;
  if (perMinute <= 0) return;
  const waitSeconds = await deps.limiter.take(`ip:${clientKey(ip)}`, perMinute, deps.clock.now());
  if (waitSeconds > 0) throw new TooManyRequests(waitSeconds);
}

/**
 * IPv4 addresses are throttled one by one; IPv6 ones by /64, the block a single
 * subscriber usually holds, so a client cannot hop through its own addresses.
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const address = ip.split('%')[0] ?? ip;
  const [head = '', tail] = address.split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups.slice(0, 4).map((group) => (Number.parseInt(group, 16) || 0).toString(16)).join(':')}::/64`;
}
