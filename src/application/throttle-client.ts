import { TooManyRequests } from '../domain/errors.js';
import type { Deps } from './deps.js';

/** The per-IP token bucket shared by login, register, refresh and password change. */
export async function throttleClient(deps: Pick<Deps, 'limiter' | 'clock' | 'settings'>, ip: string): Promise<void> {
  const perMinute = deps.settings.ipRateLimitPerMinute;
  if (perMinute <= 0) return;
  const waitSeconds = await deps.limiter.take(`ip:${ip}`, perMinute, deps.clock.now());
  if (waitSeconds > 0) throw new TooManyRequests(waitSeconds);
}
