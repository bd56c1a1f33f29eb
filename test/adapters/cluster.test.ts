import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelRateLimiter } from '../../src/adapters/cluster/channel-rate-limiter.js';
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

describeRateLimiterContract('memory of another process, over IPC (cluster workers)', async () => {
  const primary = await primaryProcess();
  return { limiter: new ChannelRateLimiter(primary), close: () => stop(primary) };
});

describe('ChannelRateLimiter', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await stop(child);
  });

  it('shares one count between every worker that asks', async () => {
    const primary = await primaryProcess();
    children.push(primary);
    // Two limiters on one channel stand for two workers: both reach the same counters.
    const first = new ChannelRateLimiter(primary);
    const second = new ChannelRateLimiter(primary);
    const now = new Date();
    expect(await first.take('ip:shared', 2, now)).toBe(0);
    expect(await second.take('ip:shared', 2, now)).toBe(0);
    expect(await first.take('ip:shared', 2, now)).toBeGreaterThan(0);
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
});
