import { Unavailable } from '../../domain/errors.js';

/**
 * Calls from a cluster worker to a service its primary process holds (the throttling
 * counters, the password hasher), over the IPC channel cluster gives each worker. Each
 * service tags its messages with a kind of its own, so services and cluster's own
 * messages share one channel.
 */

/** What both ends of an IPC channel offer: a worker's `process`, the primary's `Worker`, a `ChildProcess`. */
export interface Channel {
  send(message: unknown, callback: (error: Error | null) => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

interface Call {
  kind: string;
  id: number;
  method: string;
  args: unknown[];
}

interface Reply {
  kind: string;
  id: number;
  value?: unknown;
  /** Why there is no value: the service is saturated, or the call failed (never more: no error text crosses). */
  failed?: 'busy' | 'error';
}

/** A method of a served service: it checks its own arguments, which crossed a process boundary. */
export type Handler = (args: unknown[]) => Promise<unknown>;

/** Thrown by a handler whose arguments are not what its method takes. */
export class MalformedCall extends Error {
  override name = 'MalformedCall';
}

/**
 * Call ids are unique within the process, not per client: every client on a channel sees
 * every answer of its kind, so two clients numbering alike would take each other's.
 */
let lastCallId = 0;

interface Pending {
  isAnswer: (value: unknown) => boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
}

export interface ClientLimits {
  /** How long an answer may take before the call is Unavailable. */
  timeoutMs: number;
  /** Calls awaiting an answer at once; past it a call is Unavailable at once, so a stuck primary cannot make a worker hold a flood's calls. */
  maxPending: number;
}

/**
 * The worker's end of one service. It fails closed: a disconnect, a send error, a refused
 * or malformed answer, no answer within its timeout, or too many calls awaiting one is
 * Unavailable (503), never a guess.
 */
export class ChannelClient {
  readonly #channel: Channel;
  readonly #kind: string;
  readonly #service: string;
  readonly #limits: ClientLimits;
  readonly #pending = new Map<number, Pending>();
  #connected = true;

  constructor(channel: Channel, kind: string, service: string, limits: ClientLimits) {
    this.#channel = channel;
    this.#kind = kind;
    this.#service = service;
    this.#limits = limits;
    channel.on('message', (message) => this.#settle(message));
    channel.on('disconnect', () => {
      this.#connected = false;
      for (const id of [...this.#pending.keys()]) this.#fail(id, new Error('the primary is gone'));
    });
  }

  call<T>(method: string, args: unknown[], isAnswer: (value: unknown) => value is T): Promise<T> {
    if (!this.#connected) return this.#refuse('the primary is gone');
    if (this.#pending.size >= this.#limits.maxPending) return this.#refuse(`${this.#limits.maxPending} calls already await the primary`);
    const id = ++lastCallId;
    const { timeoutMs } = this.#limits;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(id, new Error(`no answer from the primary within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.set(id, { isAnswer, resolve: resolve as (value: unknown) => void, reject, timer });
      const call: Call = { kind: this.#kind, id, method, args };
      this.#channel.send(call, (error) => {
        if (error) this.#fail(id, error);
      });
    });
  }

  #settle(message: unknown): void {
    if (!isTagged(message, this.#kind)) return;
    const reply = message as Reply;
    // An answer to a call that has timed out already is dropped.
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    if (reply.failed === 'busy') this.#fail(reply.id, new Error('the primary is saturated'));
    else if (reply.failed) this.#fail(reply.id, new Error('the primary could not answer the call'));
    else if (!pending.isAnswer(reply.value)) this.#fail(reply.id, new Error('the primary answered out of shape'));
    else this.#take(reply.id)?.resolve(reply.value);
  }

  #refuse(cause: string): Promise<never> {
    return Promise.reject(new Unavailable(this.#service, { cause: new Error(cause) }));
  }

  #fail(id: number, cause: unknown): void {
    this.#take(id)?.reject(new Unavailable(this.#service, { cause }));
  }

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}

/**
 * The primary's end: answers one worker's calls of `kind` with `handlers`. A call it
 * cannot read is refused at once, not left for the caller to time out. Errors are
 * reported to `onError`, except Unavailable, which is an answer (a saturated hasher).
 * Once the worker is gone, what was still running for it is not answered.
 */
export function serveOnChannel(channel: Channel, kind: string, handlers: Record<string, Handler>, onError: (error: unknown) => void): void {
  let connected = true;
  channel.on('disconnect', () => (connected = false));
  channel.on('message', (message) => {
    if (!isTagged(message, kind)) return;
    const answer = (reply: Omit<Reply, 'kind' | 'id'>) => {
      if (!connected) return;
      try {
        channel.send({ kind, id: message.id, ...reply } satisfies Reply, (error) => {
          if (!error) return;
          // The pipe can break before its 'disconnect' event: the worker went, nothing failed.
          if (isClosedChannel(error)) connected = false;
          else if (connected) onError(error);
        });
      } catch (error) {
        onError(error);
      }
    };
    const { method, args } = message as Partial<Call>;
    const handler = typeof method === 'string' && Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (!handler || !Array.isArray(args)) return void answer({ failed: 'error' });
    Promise.resolve(args)
      .then(handler)
      .then(
        (value) => answer({ value }),
        (error: unknown) => {
          if (error instanceof Unavailable) return answer({ failed: 'busy' });
          onError(error);
          answer({ failed: 'error' });
        },
      );
  });
}

/** How a send fails once the other end has gone, as a worker that exits does. */
const CLOSED_CHANNEL_CODES = new Set(['EPIPE', 'ECONNRESET', 'ERR_IPC_CHANNEL_CLOSED']);

function isClosedChannel(error: Error): boolean {
  return CLOSED_CHANNEL_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

/** One of this kind's messages, with the id its answer goes back under; the rest is cluster's or another service's. */
function isTagged(message: unknown, kind: string): message is { id: number } {
  const tagged = message as Partial<Reply> | null;
  return tagged?.kind === kind && typeof tagged.id === 'number';
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
