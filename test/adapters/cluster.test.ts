import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelRateLimiter, serveRateLimiter } from '../../src/adapters/cluster/channel-rate-limiter.js';
import type { Channel } from '../../src/adapters/cluster/channel-rate-limiter.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { Unavailable } from '../../src/domain/errors.js';
import { describeRateLimiterContract } from '../contracts/rate-limiter.contract.js';

const PRIMARY = resolve(import.meta.dirname, '../support/rate-limiter-primary.mjs');

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
    const limiter = new ChannelRateLimiter(primary, { replyTimeoutMs: 200 });
    primary.kill('SIGSTOP');
    await expect(limiter.take('ip:c', 10, new Date())).rejects.toBeInstanceOf(Unavailable);
  });

  it('refuses a call the primary cannot read at once, rather than leaving it to time out', async () => {
    const [workerEnd, primaryEnd] = channelPair();
    serveRateLimiter(primaryEnd, new MemoryRateLimiter(), () => undefined);
    const limiter = new ChannelRateLimiter(workerEnd, { replyTimeoutMs: 60_000 });
    // An invalid date travels as null through JSON: the primary must say so, not stay silent.
    await expect(limiter.take('ip:d', 10, new Date(Number.NaN))).rejects.toBeInstanceOf(Unavailable);
  });
});
