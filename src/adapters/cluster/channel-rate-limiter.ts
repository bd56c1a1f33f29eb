import type { RateLimiter } from '../../application/ports.js';
import { Unavailable } from '../../domain/errors.js';

/**
 * Throttling counters shared by the workers of one server: the primary process holds them
 * (in a MemoryRateLimiter) and each worker asks it over the IPC channel cluster gives it.
 * Counters held per worker would let a client that spreads its guesses over N
 * connections try N times as often.
 */

/** What both ends of an IPC channel offer: a worker's `process`, the primary's `Worker`, a `ChildProcess`. */
export interface Channel {
  send(message: unknown, callback: (error: Error | null) => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

type Method = 'take' | 'beginLoginAttempt' | 'resetLoginFailures';

interface Call {
  kind: typeof KIND;
  id: number;
  method: Method;
  key: string;
  limit: number;
  /** Epoch ms of the caller's `now`: the decision uses the caller's clock, as the port says. */
  at: number;
}

interface Reply {
  kind: typeof KIND;
  id: number;
  value?: number;
  failed?: true;
}

const KIND = 'pico-auth:rate-limiter';
/** The primary answers in microseconds; one that has not answered in this long is stuck (503). */
const REPLY_TIMEOUT_MS = 5_000;
const METHODS: readonly Method[] = ['take', 'beginLoginAttempt', 'resetLoginFailures'];

/** The worker's end: every call is a message to the primary, answered in order. */
export class ChannelRateLimiter implements RateLimiter {
  readonly #channel: Channel;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, { resolve: (value: number) => void; reject: (error: unknown) => void; timer: NodeJS.Timeout }>();
  #nextId = 0;
  #connected = true;

  constructor(channel: Channel, options: { replyTimeoutMs?: number } = {}) {
    this.#channel = channel;
    this.#timeoutMs = options.replyTimeoutMs ?? REPLY_TIMEOUT_MS;
    channel.on('message', (message) => this.#settle(message));
    channel.on('disconnect', () => {
      this.#connected = false;
      for (const id of [...this.#pending.keys()]) this.#fail(id);
    });
  }

  take(key: string, perMinute: number, now: Date): Promise<number> {
    return this.#call('take', key, perMinute, now);
  }

  beginLoginAttempt(key: string, threshold: number, now: Date): Promise<number> {
    return this.#call('beginLoginAttempt', key, threshold, now);
  }

  async resetLoginFailures(key: string): Promise<void> {
    await this.#call('resetLoginFailures', key, 0, new Date(0));
  }

  /** Fails closed: without the primary there is no counting, so no guessing either (503). */
  #call(method: Method, key: string, limit: number, now: Date): Promise<number> {
    if (!this.#connected) return Promise.reject(new Unavailable('rate limiter'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(id), this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      const call: Call = { kind: KIND, id, method, key, limit, at: now.getTime() };
      this.#channel.send(call, (error) => {
        if (error) this.#fail(id, error);
      });
    });
  }

  #settle(message: unknown): void {
    if (!isOurs(message)) return;
    const call = this.#take(message.id);
    if (message.failed || typeof message.value !== 'number') call?.reject(new Unavailable('rate limiter'));
    else call?.resolve(message.value);
  }

  #fail(id: number, cause?: unknown): void {
    this.#take(id)?.reject(new Unavailable('rate limiter', { cause }));
  }

  #take(id: number) {
    const call = this.#pending.get(id);
    if (!call) return undefined;
    this.#pending.delete(id);
    clearTimeout(call.timer);
    return call;
  }
}

/** The primary's end: answers one worker's calls from the counters every worker shares. */
export function serveRateLimiter(channel: Channel, limiter: RateLimiter, onError: (error: unknown) => void): void {
  channel.on('message', (message) => {
    if (!isOurs(message)) return;
    const answer = (reply: Omit<Reply, 'kind' | 'id'>) =>
      channel.send({ kind: KIND, id: message.id, ...reply } satisfies Reply, (error) => {
        // The worker is gone; its own callers learn that from the disconnect.
        if (error) onError(error);
      });
    // A call this end cannot read is refused at once, not left for the caller to time out.
    if (!isCall(message)) return void answer({ failed: true });
    run(limiter, message).then(
      (value) => answer({ value }),
      (error: unknown) => {
        onError(error);
        answer({ failed: true });
      },
    );
  });
}

async function run(limiter: RateLimiter, call: Call): Promise<number> {
  const now = new Date(call.at);
  if (call.method === 'take') return limiter.take(call.key, call.limit, now);
  if (call.method === 'beginLoginAttempt') return limiter.beginLoginAttempt(call.key, call.limit, now);
  await limiter.resetLoginFailures(call.key);
  return 0;
}

function isCall(message: unknown): message is Call {
  const call = message as Partial<Call> | null;
  return (
    call?.kind === KIND &&
    typeof call.id === 'number' &&
    METHODS.includes(call.method as Method) &&
    typeof call.key === 'string' &&
    typeof call.limit === 'number' &&
    typeof call.at === 'number'
  );
}

/** One of this channel's messages, with the id its answer goes back under; the rest is cluster's or someone else's. */
function isOurs(message: unknown): message is Reply {
  const tagged = message as Partial<Reply> | null;
  return tagged?.kind === KIND && typeof tagged.id === 'number';
}

/** A cluster worker's channel to its primary. */
export function primaryChannel(): Channel {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this process has no IPC channel to a primary');
  return {
    send: (message, callback) => send(message, undefined, undefined, callback),
    on: (event: 'message' | 'disconnect', listener: (message?: unknown) => void) => process.on(event, listener),
  };
}
