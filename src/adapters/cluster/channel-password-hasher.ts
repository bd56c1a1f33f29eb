import type { PasswordHasher } from '../../application/ports.js';
import { ChannelClient, MalformedCall, serveOnChannel } from './channel.js';
import type { Channel, ClientLimits } from './channel.js';

/**
 * Password hashing for the workers of one server, done by the primary process. Four
 * argon2id hashes at once ran 7 % faster in one process's thread pool than two in each of
 * two processes (19 MiB each: cores switching between processes cost them their caches),
 * and logins ran at least as fast (4 % faster in one measurement, within noise in a later
 * one: bench/HISTORY.md). One gate also bounds the hashes in flight, and so their memory,
 * whatever the worker count. Passwords cross only the IPC channel between a worker and
 * its own parent.
 */

const KIND = 'pico-auth:password-hasher';
/** Longer than the hasher's queue takes to drain on a busy machine; a primary this late is stuck (503). */
const REPLY_TIMEOUT_MS = 10_000;
/** More than the primary's gate holds for all workers (4 hashing, 128 waiting): past it, the primary would refuse anyway. */
const MAX_PENDING = 256;

/** The worker's end: fails closed (503) when the primary cannot answer. */
export class ChannelPasswordHasher implements PasswordHasher {
  readonly #client: ChannelClient;

  constructor(channel: Channel, limits: Partial<ClientLimits> = {}) {
    this.#client = new ChannelClient(channel, KIND, 'password hashing', { timeoutMs: REPLY_TIMEOUT_MS, maxPending: MAX_PENDING, ...limits });
  }

  hash(password: string): Promise<string> {
    return this.#client.call('hash', [password], (value): value is string => typeof value === 'string');
  }

  verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    return this.#client.call('verify', [hash, password], isVerdict);
  }

  async burn(password: string): Promise<void> {
    await this.#client.call('burn', [password], (value): value is null => value === null);
  }
}

/** The primary's end: hashes for one worker with the hasher every worker shares. */
export function servePasswordHasher(channel: Channel, hasher: PasswordHasher, onError: (error: unknown) => void): void {
  serveOnChannel(
    channel,
    KIND,
    {
      hash: async ([password]) => hasher.hash(text(password)),
      verify: async ([hash, password]) => hasher.verify(text(hash), text(password)),
      burn: async ([password]) => {
        await hasher.burn(text(password));
        return null;
      },
    },
    onError,
  );
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw new MalformedCall('malformed password hasher call');
  return value;
}

function isVerdict(value: unknown): value is { ok: boolean; rehash: boolean } {
  const verdict = value as { ok?: unknown; rehash?: unknown } | null;
  return typeof verdict?.ok === 'boolean' && typeof verdict.rehash === 'boolean';
}
