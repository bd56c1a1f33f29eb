import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/application/ports.js';
import type { Channel } from '../../src/adapters/cluster/channel.js';
import { ChannelPasswordHasher, servePasswordHasher } from '../../src/adapters/cluster/channel-password-hasher.js';
import { ChannelRateLimiter, serveRateLimiter } from '../../src/adapters/cluster/channel-rate-limiter.js';
import { ArgonFirstPasswordHasher } from '../../src/adapters/crypto/password-hasher.js';
import { OWASP_ARGON2ID } from '../../src/adapters/crypto/argon2-hasher.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { Unavailable } from '../../src/domain/errors.js';
import { describePasswordHasherContract } from '../contracts/password-hasher.contract.js';
import { describeRateLimiterContract } from '../contracts/rate-limiter.contract.js';

const PRIMARY = resolve(import.meta.dirname, '../support/primary.mjs');

async function primaryProcess(): Promise<ChildProcess> {
  const child = fork(PRIMARY, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'spawn');
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Two ends of an in-process channel that, like IPC, copies each message through JSON. */
function channelPair(): [Channel, Channel] {
  const ends = [new EventEmitter(), new EventEmitter()] as const;
  const end = (own: EventEmitter, other: EventEmitter): Channel => ({
    send: (message, callback) => setImmediate(() => (other.emit('message', JSON.parse(JSON.stringify(message))), callback(null))),
    on: (event: 'message' | 'disconnect', listener: (message?: unknown) => void) => own.on(event, listener),
  });
  return [end(ends[0], ends[1]), end(ends[1], ends[0])];
}

describeRateLimiterContract('memory of another process, over IPC (cluster workers)', async () => {
  const primary = await primaryProcess();
  return { limiter: new ChannelRateLimiter(primary), close: () => stop(primary) };
});

describePasswordHasherContract('hashing in another process, over IPC (cluster workers)', async () => {
  const primary = await primaryProcess();
  return { hasher: new ChannelPasswordHasher(primary), close: () => stop(primary) };
});

describe('ChannelRateLimiter', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await stop(child);
  });

  it('shares one count between workers on channels of their own', async () => {
    const counters = new MemoryRateLimiter();
    const workers = [channelPair(), channelPair()].map(([workerEnd, primaryEnd]) => {
      serveRateLimiter(primaryEnd, counters, (error) => {
        throw error;
      });
      return new ChannelRateLimiter(workerEnd);
    });
    const [first, second] = workers as [ChannelRateLimiter, ChannelRateLimiter];
    const now = new Date();
    expect(await first.beginLoginAttempt('account:shared', 2, now)).toBe(0);
    expect(await second.beginLoginAttempt('account:shared', 2, now)).toBe(0);
    expect(await first.beginLoginAttempt('account:shared', 2, now)).toBeGreaterThan(0);
    expect(await second.take('ip:shared', 1, now)).toBe(0);
    expect(await first.take('ip:shared', 1, now)).toBeGreaterThan(0);
  });

  it('fails closed once the primary is gone: calls in flight and later ones are 503s', async () => {
    const primary = await primaryProcess();
    children.push(primary);
    const limiter = new ChannelRateLimiter(primary);
    expect(await limiter.beginLoginAttempt('account:a', 5, new Date())).toBe(0);
    primary.kill('SIGSTOP');
    const inFlight = limiter.beginLoginAttempt('account:a', 5, new Date());
    await new Promise((r) => setTimeout(r, 50));
    primary.kill('SIGKILL');
    await expect(inFlight).rejects.toBeInstanceOf(Unavailable);
    await expect(limiter.take('ip:b', 10, new Date())).rejects.toBeInstanceOf(Unavailable);
  });

  it('answers 503 when a primary that still lives does not answer in time', async () => {
    const primary = await primaryProcess();
    children.push(primary);
    const limiter = new ChannelRateLimiter(primary, { timeoutMs: 200 });
    primary.kill('SIGSTOP');
    await expect(limiter.take('ip:c', 10, new Date())).rejects.toBeInstanceOf(Unavailable);
  });

  it('refuses a call the primary cannot read at once, rather than leaving it to time out', async () => {
    const [workerEnd, primaryEnd] = channelPair();
    serveRateLimiter(primaryEnd, new MemoryRateLimiter(), () => undefined);
    const limiter = new ChannelRateLimiter(workerEnd, { timeoutMs: 60_000 });
    // An invalid date travels as null through JSON: the primary must say so, not stay silent.
    await expect(limiter.take('ip:d', 10, new Date(Number.NaN))).rejects.toBeInstanceOf(Unavailable);
  });
});

describe('ChannelPasswordHasher', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await stop(child);
  });

  /** A worker's hasher whose primary hashes with `hasher`, reporting errors to `errors`. */
  function served(hasher: PasswordHasher, errors: unknown[] = []): ChannelPasswordHasher {
    const [workerEnd, primaryEnd] = channelPair();
    servePasswordHasher(primaryEnd, hasher, (error) => errors.push(error));
    return new ChannelPasswordHasher(workerEnd, { timeoutMs: 60_000 });
  }

  it('fails closed once the primary is gone: calls in flight and later ones are 503s', async () => {
    const primary = await primaryProcess();
    children.push(primary);
    const hasher = new ChannelPasswordHasher(primary);
    const hash = await hasher.hash('a password to check');
    primary.kill('SIGSTOP');
    const inFlight = hasher.verify(hash, 'a password to check');
    await new Promise((r) => setTimeout(r, 50));
    primary.kill('SIGKILL');
    await expect(inFlight).rejects.toBeInstanceOf(Unavailable);
    await expect(hasher.burn('another')).rejects.toBeInstanceOf(Unavailable);
  });

  it('answers 503 when a primary that still lives does not answer in time', async () => {
    const primary = await primaryProcess();
    children.push(primary);
    const hasher = new ChannelPasswordHasher(primary, { timeoutMs: 200 });
    primary.kill('SIGSTOP');
    await expect(hasher.hash('a password')).rejects.toBeInstanceOf(Unavailable);
  });

  it("shares the primary's bound on hashes in flight: past it, workers get 503s, and nothing is logged", async () => {
    const errors: unknown[] = [];
    const shared = new ArgonFirstPasswordHasher(OWASP_ARGON2ID, 1, 1);
    const hash = await shared.hash('flood-password-123');
    const [first, second] = [served(shared, errors), served(shared, errors)];
    const results = await Promise.allSettled([first, second, first].map((worker) => worker.verify(hash, 'flood-password-123')));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')?.reason).toBeInstanceOf(Unavailable);
    expect(errors).toEqual([]);
  });

  it("reports the primary's failures as 503s, and its log holds no password", async () => {
    const errors: unknown[] = [];
    const broken: PasswordHasher = {
      hash: async () => {
        throw new Error('out of memory');
      },
      verify: async () => {
        throw new Error('out of memory');
      },
      burn: async () => undefined,
    };
    const hasher = served(broken, errors);
    const refusals = await Promise.allSettled([hasher.hash('secret-hunter2-password'), hasher.verify('$argon2id$x', 'secret-hunter2-password')]);
    for (const refusal of refusals) expect(refusal).toMatchObject({ status: 'rejected', reason: expect.any(Unavailable) });
    expect(errors).toHaveLength(2);
    expect(inspect([errors, refusals], { depth: 10 })).not.toContain('hunter2');
  });

  it.each([
    ['a verdict with a truthy non-boolean', 'verify', { ok: 1, rehash: false }],
    ['half a verdict', 'verify', { ok: true }],
    ['a bare true', 'verify', true],
    ['a string', 'verify', 'ok'],
    ['a hash that is not a string', 'hash', 42],
    ['a burn that answers something', 'burn', { ok: true }],
  ])('refuses an answer out of shape (%s): a 503, never a login', async (_, method, value) => {
    const [workerEnd, primaryEnd] = channelPair();
    primaryEnd.on('message', (message) => {
      const { kind, id } = message as { kind: string; id: number };
      primaryEnd.send({ kind, id, value }, () => undefined);
    });
    const hasher = new ChannelPasswordHasher(workerEnd, { timeoutMs: 60_000 });
    const call = method === 'verify' ? hasher.verify('$argon2id$x', 'pw') : method === 'hash' ? hasher.hash('pw') : hasher.burn('pw');
    await expect(call).rejects.toBeInstanceOf(Unavailable);
  });

  it('shares one channel with the counters: calls numbered alike still get their own answers', async () => {
    const [workerEnd, primaryEnd] = channelPair();
    const onError = (error: unknown) => {
      throw error;
    };
    serveRateLimiter(primaryEnd, new MemoryRateLimiter(), onError);
    servePasswordHasher(primaryEnd, new ArgonFirstPasswordHasher(), onError);
    const limiter = new ChannelRateLimiter(workerEnd);
    const hasher = new ChannelPasswordHasher(workerEnd);
    // Calls of both services travel at once, interleaved, on the one channel.
    const [hash, wait, lock] = await Promise.all([hasher.hash('shared channel'), limiter.take('ip:e', 1, new Date()), limiter.beginLoginAttempt('account:e', 3, new Date())]);
    expect([wait, lock]).toEqual([0, 0]);
    expect(await Promise.all([hasher.verify(hash, 'shared channel'), limiter.take('ip:e', 1, new Date())])).toEqual([{ ok: true, rehash: false }, expect.any(Number)]);
    expect(await limiter.take('ip:e', 1, new Date())).toBeGreaterThan(0);
  });

  it("never lets one client take the answer to another client's call on the same channel", async () => {
    const [workerEnd, primaryEnd] = channelPair();
    const checker: PasswordHasher = {
      hash: async () => 'unused',
      verify: async (_hash, password) => ({ ok: password === 'the right one', rehash: false }),
      burn: async () => undefined,
    };
    servePasswordHasher(primaryEnd, checker, (error) => {
      throw error;
    });
    const [first, second] = [new ChannelPasswordHasher(workerEnd), new ChannelPasswordHasher(workerEnd)];
    // The first call's answer (ok) reaches both clients first; the second must wait for its own.
    const verdicts = await Promise.all([first.verify('$argon2id$x', 'the right one'), second.verify('$argon2id$x', 'a wrong one')]);
    expect(verdicts).toEqual([
      { ok: true, rehash: false },
      { ok: false, rehash: false },
    ]);
  });

  it('takes only the first answer to a call, and no answer that comes after its timeout', async () => {
    const [workerEnd, primaryEnd] = channelPair();
    const calls: { kind: string; id: number; args: unknown[] }[] = [];
    primaryEnd.on('message', (message) => calls.push(message as (typeof calls)[number]));
    const answer = (call: (typeof calls)[number] | undefined, ok: boolean) => primaryEnd.send({ kind: call?.kind, id: call?.id, value: { ok, rehash: false } }, () => undefined);
    const hasher = new ChannelPasswordHasher(workerEnd, { timeoutMs: 100 });

    const first = hasher.verify('$argon2id$x', 'a wrong one');
    await expect.poll(() => calls.length).toBe(1);
    answer(calls[0], false);
    answer(calls[0], true);
    expect(await first).toEqual({ ok: false, rehash: false });

    const late = hasher.verify('$argon2id$x', 'a wrong one');
    await expect(late).rejects.toBeInstanceOf(Unavailable);
    answer(calls[1], true);
    const next = hasher.verify('$argon2id$x', 'a wrong one');
    await expect.poll(() => calls.length).toBe(3);
    answer(calls[1], true);
    answer(calls[2], false);
    expect(await next).toEqual({ ok: false, rehash: false });
  });

  it('refuses a call at once while too many await a primary that does not answer, and takes calls again once they are settled', async () => {
    const [workerEnd, primaryEnd] = channelPair();
    let received = 0;
    primaryEnd.on('message', () => received++);
    const hasher = new ChannelPasswordHasher(workerEnd, { timeoutMs: 100, maxPending: 2 });
    const waiting = [hasher.hash('one'), hasher.hash('two')].map((call) => call.catch((error: unknown) => error));
    const refused = await hasher.hash('three').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Unavailable);
    expect(String((refused as Error).cause)).toContain('2 calls already await the primary');
    expect(await Promise.all(waiting)).toEqual([expect.any(Unavailable), expect.any(Unavailable)]);
    await expect(hasher.hash('four')).rejects.toBeInstanceOf(Unavailable);
    expect(received).toBe(3);
  });

  it('neither answers nor logs what was still running for a worker that is gone', async () => {
    const worker = new EventEmitter();
    const sent: unknown[] = [];
    const errors: unknown[] = [];
    const channel: Channel = {
      send: (message, callback) => {
        sent.push(message);
        callback(null);
      },
      on: (event: 'message' | 'disconnect', listener: (message?: unknown) => void) => worker.on(event, listener),
    };
    let finish: (verdict: { ok: boolean; rehash: boolean }) => void = function unset() {};
    const slow: PasswordHasher = {
      hash: async () => 'unused',
      verify: () => new Promise((resolve) => (finish = resolve)),
      burn: async () => undefined,
    };
    servePasswordHasher(channel, slow, (error) => errors.push(error));
    worker.emit('message', { kind: 'pico-auth:password-hasher', id: 7, method: 'verify', args: ['$argon2id$x', 'pw'] });
    // The worker goes while its verify is running; then the verify ends.
    await expect.poll(() => finish.name).not.toBe('unset');
    worker.emit('disconnect');
    finish({ ok: true, rehash: false });
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("logs no error for an answer to a worker whose pipe broke before its 'disconnect' came, and answers it no more", async () => {
    const worker = new EventEmitter();
    const errors: unknown[] = [];
    let sends = 0;
    const channel: Channel = {
      send: (_message, callback) => {
        sends++;
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
      on: (event: 'message' | 'disconnect', listener: (message?: unknown) => void) => worker.on(event, listener),
    };
    let verifies = 0;
    const instant: PasswordHasher = {
      hash: async () => 'unused',
      verify: async () => (verifies++, { ok: false, rehash: false }),
      burn: async () => undefined,
    };
    servePasswordHasher(channel, instant, (error) => errors.push(error));
    const verify = { kind: 'pico-auth:password-hasher', method: 'verify', args: ['$argon2id$x', 'pw'] };
    worker.emit('message', { ...verify, id: 1 });
    await expect.poll(() => sends).toBe(1);
    worker.emit('message', { ...verify, id: 2 });
    await expect.poll(() => verifies).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(sends).toBe(1);
    expect(errors).toEqual([]);
  });

  // The guard on the test above: only a closed channel's errors go unlogged.
  it('still logs a send that fails for another reason', async () => {
    const worker = new EventEmitter();
    const errors: unknown[] = [];
    const channel: Channel = {
      send: (_message, callback) => callback(new Error('could not serialize')),
      on: (event: 'message' | 'disconnect', listener: (message?: unknown) => void) => worker.on(event, listener),
    };
    servePasswordHasher(channel, new ArgonFirstPasswordHasher(), (error) => errors.push(error));
    worker.emit('message', { kind: 'pico-auth:password-hasher', id: 1, method: 'hash', args: 42 });
    await expect.poll(() => errors.length).toBe(1);
  });

  it('refuses a call the primary cannot read at once, rather than leaving it to time out', async () => {
    const [workerEnd, primaryEnd] = channelPair();
    const errors: unknown[] = [];
    servePasswordHasher(primaryEnd, new ArgonFirstPasswordHasher(), (error) => errors.push(error));
    const replies: unknown[] = [];
    workerEnd.on('message', (message) => replies.push(message));
    const kind = 'pico-auth:password-hasher';
    for (const call of [
      { kind, id: 1, method: 'verify', args: [42, 'hunter2-secret'] },
      { kind, id: 2, method: 'hash', args: 'not a list' },
      { kind, id: 3, method: 'constructor', args: [] },
    ]) {
      workerEnd.send(call, () => undefined);
    }
    await expect.poll(() => replies.length).toBe(3);
    const byId = (a: unknown, b: unknown) => (a as { id: number }).id - (b as { id: number }).id;
    expect(replies.sort(byId)).toEqual([1, 2, 3].map((id) => ({ kind, id, failed: 'error' })));
    expect(inspect(errors, { depth: 10 })).not.toContain('hunter2');
  });
});
