import { Redis, ReplyError } from 'ioredis';
import { Unavailable } from '../../domain/errors.js';

/** How long a command may wait for its answer before it fails (503), and its connection with it. */
const COMMAND_TIMEOUT_MS = 2_000;

/**
 * A Redis client that fails fast while Redis is away (so requests answer 503 instead of
 * hanging) and reconnects by itself when it is back. A connection that stops carrying
 * answers without closing (a peer lost without a word) is dropped once a command has
 * waited COMMAND_TIMEOUT_MS on it, rather than kept until TCP gives up minutes later.
 * While there is no connection a command fails at once instead of waiting in a queue, and
 * one in flight on a lost connection is not sent again on the next: a command whose
 * caller was told it failed must not run later behind its back (a rotation run so would
 * read as reuse when the client retries with its token, and end the session).
 */
export function openRedis(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    socketTimeout: COMMAND_TIMEOUT_MS,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    // At once after a drop (Redis closing an idle client, a failover), then backing off.
    retryStrategy: (attempt) => (attempt === 1 ? 0 : Math.min(attempt * 200, 2_000)),
  });
  // Without a listener, connection errors would also be logged as unhandled. The last one
  // is kept: with no queue, a command sent while there is no connection only says so.
  client.on('error', (error: Error) => connectionErrors.set(client, error));
  client.on('ready', () => connectionErrors.delete(client));
  return client;
}

const connectionErrors = new WeakMap<Redis, Error>();

/** PING; while there is no connection, the error says why (refused, wrong password, unknown host). */
export async function pingRedis(client: Redis): Promise<void> {
  try {
    await client.ping();
  } catch (error) {
    throw connectionErrors.get(client) ?? error;
  }
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
