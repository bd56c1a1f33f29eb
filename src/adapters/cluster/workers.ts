import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { RateLimiter } from '../../application/ports.js';
import type { Logger } from '../logging/logger.js';
import { serveRateLimiter } from './channel-rate-limiter.js';

/** How long the workers get to finish in-flight requests on shutdown before they are killed. */
const STOP_GRACE_MS = 15_000;

export interface WorkerPool {
  /** Stops every worker (each finishes its in-flight requests), then resolves. */
  stop(): Promise<void>;
}

/**
 * The primary process: forks `count` workers that share the listening port, answers
 * their throttling calls from `limiter`, and replaces a worker that dies after it had
 * started. A worker that dies before it listens is a start-up failure: every worker is
 * stopped and the promise rejects, so the operator sees one failed start, not a loop.
 */
export async function startWorkers(count: number, limiter: RateLimiter, logger: Logger): Promise<WorkerPool> {
  let stopping = false;
  const live = new Set<Worker>();

  const fork = (): Promise<void> => {
    const worker = cluster.fork();
    live.add(worker);
    serveRateLimiter(worker, limiter, (error) => logger.warn({ err: error, worker: worker.id }, 'rate limiter call failed'));
    return new Promise((listening, failed) => {
      let started = false;
      worker.once('listening', () => {
        started = true;
        listening();
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        if (stopping) return;
        if (!started) return failed(new Error(`a worker exited during start-up (${signal ?? `code ${code}`})`));
        logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker died; starting another');
        fork().catch((error: unknown) => logger.error({ err: error }, 'could not replace a worker'));
      });
    });
  };

  const stop = async () => {
    stopping = true;
    const exits = [...live].map((worker) => new Promise((exited) => worker.once('exit', exited)));
    for (const worker of live) worker.process.kill('SIGTERM');
    const force = setTimeout(() => live.forEach((worker) => worker.process.kill('SIGKILL')), STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(force);
  };

  try {
    await Promise.all(Array.from({ length: count }, fork));
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
