import { describe, expect, it } from 'vitest';
import { clientKey, throttleClient } from '../../src/application/throttle-client.js';
import { TooManyRequests } from '../../src/domain/errors.js';
import { makeDeps } from '../support/fakes.js';

describe('throttleClient', () => {
  it('never throttles with a limit of 0 (off)', async () => {
    const deps = makeDeps({ settings: { ipRateLimitPerMinute: 0 } });
    for (let i = 0; i < 1_000; i++) await throttleClient(deps, '198.51.100.1');
    expect(deps.limiter.size).toBe(0); // nothing was even counted
  });

  it('allows a burst of the per-minute limit, then answers TooManyRequests with the wait', async () => {
    const deps = makeDeps({ settings: { ipRateLimitPerMinute: 3 } });
    for (let i = 0; i < 3; i++) await throttleClient(deps, '198.51.100.1');

    const error = await throttleClient(deps, '198.51.100.1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TooManyRequests);
    expect(error).toMatchObject({ code: 'too_many_requests', retryAfterSeconds: 20 }); // one token per 60/3 s
  });

  it('keeps one bucket per IP', async () => {
    const deps = makeDeps({ settings: { ipRateLimitPerMinute: 1 } });
    await throttleClient(deps, '198.51.100.1');

    await expect(throttleClient(deps, '198.51.100.2')).resolves.toBeUndefined();
    await expect(throttleClient(deps, '198.51.100.1')).rejects.toBeInstanceOf(TooManyRequests);
  });

  it('lets the client in again once the bucket refills', async () => {
    const deps = makeDeps({ settings: { ipRateLimitPerMinute: 3 } });
    for (let i = 0; i < 3; i++) await throttleClient(deps, '198.51.100.1');
    deps.clock.advanceSeconds(15);
    await expect(throttleClient(deps, '198.51.100.1')).rejects.toMatchObject({ retryAfterSeconds: 5 });

    deps.clock.advanceSeconds(5);
    await expect(throttleClient(deps, '198.51.100.1')).resolves.toBeUndefined();
  });
});

describe('clientKey', () => {
  it('keys IPv4 by address and IPv6 by its /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('throttleClient over IPv6', () => {
  it('shares one bucket across the addresses of a /64', async () => {
    const deps = makeDeps({ settings: { ipRateLimitPerMinute: 2 } });
    await throttleClient(deps, '2001:db8:1:2::1');
    await throttleClient(deps, '2001:db8:1:2::2');
    await expect(throttleClient(deps, '2001:db8:1:2::3')).rejects.toBeInstanceOf(TooManyRequests);
    await expect(throttleClient(deps, '2001:db8:1:3::1')).resolves.toBeUndefined();
  });
});
