import { Redis, ReplyError } from 'ioredis';
import { Unavailable } from '../../domain/errors.js';

/**
 * A Redis client that fails fast while Redis is away (so requests answer 503 instead of
 * hanging) and reconnects by itself when it is back.
 */
export function openRedis(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Connection errors surface on each command; without a listener they would also be logged as unhandled.
  client.on('error', () => {});
  return client;
}

/** Runs a Redis call; "Redis does not answer" becomes `Unavailable`, an error reply from Redis stays a bug. */
export async function guardedRedis<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ReplyError) throw error;
    throw new Unavailable('redis', { cause: error });
  }
}

/** A Lua script run atomically by Redis (EVALSHA, loaded on first use by ioredis). */
export function defineScript(client: Redis, name: string, lua: string): (keys: string[], args: (string | number)[]) => Promise<unknown> {
  client.defineCommand(name, { lua });
  const command = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
  if (!command) throw new Error(`Redis script ${name} was not defined`);
  return (keys, args) => guardedRedis(() => command.call(client, keys.length, ...keys, ...args));
}
