import type { RateLimiter } from '../../application/ports.js';
import { ChannelClient, MalformedCall, serveOnChannel } from './channel.js';
import type { Channel, ClientLimits } from './channel.js';

/**
 * Throttling counters shared by the workers of one server: the primary process holds them
 * (in a MemoryRateLimiter) and each worker asks it over IPC. Counters held per worker
 * would let a client that spreads its guesses over N connections try N times as often.
 */

const KIND = 'pico-auth:rate-limiter';
/** The primary answers in microseconds; one that has not answered in this long is stuck (503). */
const REPLY_TIMEOUT_MS = 5_000;
/** A worker awaiting this many answers at once has a stuck primary: more would only hold memory (503). */
const MAX_PENDING = 10_000;

/** The worker's end: fails closed, since without the primary there is no counting, so no guessing either (503). */
export class ChannelRateLimiter implements RateLimiter {
  readonly #client: ChannelClient;

  constructor(channel: Channel, limits: Partial<ClientLimits> = {}) {
    this.#client = new ChannelClient(channel, KIND, 'rate limiter', { timeoutMs: REPLY_TIMEOUT_MS, maxPending: MAX_PENDING, ...limits });
  }

  take(key: string, perMinute: number, now: Date): Promise<number> {
    // The decision uses the caller's clock, as the port says: `now` travels as epoch ms.
    return this.#client.call('take', [key, perMinute, now.getTime()], isNumber);
  }

  beginLoginAttempt(key: string, threshold: number, now: Date): Promise<number> {
    return this.#client.call('beginLoginAttempt', [key, threshold, now.getTime()], isNumber);
  }

  async resetLoginFailures(key: string): Promise<void> {
    await this.#client.call('resetLoginFailures', [key], isNumber);
  }

  async abandonLoginAttempt(key: string): Promise<void> {
    await this.#client.call('abandonLoginAttempt', [key], isNumber);
  }
}

/** The primary's end: answers one worker's calls from the counters every worker shares. */
export function serveRateLimiter(channel: Channel, limiter: RateLimiter, onError: (error: unknown) => void): void {
  serveOnChannel(
    channel,
    KIND,
    {
      take: async ([key, limit, at]) => limiter.take(...counted(key, limit, at)),
      beginLoginAttempt: async ([key, limit, at]) => limiter.beginLoginAttempt(...counted(key, limit, at)),
      resetLoginFailures: async ([key]) => {
        await limiter.resetLoginFailures(keyOf(key));
        return 0;
      },
      abandonLoginAttempt: async ([key]) => {
        await limiter.abandonLoginAttempt(keyOf(key));
        return 0;
      },
    },
    onError,
  );
}

function counted(key: unknown, limit: unknown, at: unknown): [string, number, Date] {
  if (typeof limit !== 'number' || typeof at !== 'number') throw new MalformedCall('malformed rate limiter call');
  return [keyOf(key), limit, new Date(at)];
}

function keyOf(key: unknown): string {
  if (typeof key !== 'string') throw new MalformedCall('malformed rate limiter call');
  return key;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number';
}
