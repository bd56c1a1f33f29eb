import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { PasswordHasher, RateLimiter } from '../../application/ports.js';
import type { Logger } from '../logging/logger.js';
import { servePasswordHasher } from './channel-password-hasher.js';
import { serveRateLimiter } from './channel-rate-limiter.js';

/** Set in each worker's environment to the primary's pid, so a worker knows the primary is ours. */
export const PRIMARY_PID = 'PICO_AUTH_PRIMARY_PID';
/** How long the workers get to finish in-flight requests on shutdown before they are killed. */
const STOP_GRACE_MS = 15_000;
/** A replacement that fails to start is tried again after this, doubling up to the maximum. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** What the primary holds for all its workers: the throttling counters and the password hasher. */
export interface SharedServices {
  limiter: RateLimiter;
  hasher: PasswordHasher;
}

export interface WorkerPool {
  /** The port the workers share (the one chosen when PORT is 0). */
  port: number;
  /** Stops every worker (each finishes its in-flight requests), then resolves. */
  stop(): Promise<void>;
}

/**
 * The primary process: forks `count` workers that share the listening port, answers
 * their throttling and hashing calls from `shared`, and replaces a worker that dies. At
 * start-up a worker that dies before it listens fails the whole start (every worker is
 * stopped and the promise rejects): the operator sees one failed start, not a loop.
 * Later, a replacement that cannot start (the database is down, say) is tried again with
 * backoff, and the primary stays up meanwhile.
 */
export async function startWorkers(count: number, shared: SharedServices, logger: Logger): Promise<WorkerPool> {
  let stopping = false;
  let retryMs = RETRY_FIRST_MS;
  let retry: NodeJS.Timeout | undefined;
  const live = new Set<Worker>();

  const fork = (): Promise<number> => {
    const worker = cluster.fork({ [PRIMARY_PID]: String(process.pid) });
    live.add(worker);
    serveRateLimiter(worker, shared.limiter, (error) => logger.warn({ err: error, worker: worker.id }, 'rate limiter call failed'));
    servePasswordHasher(worker, shared.hasher, (error) => logger.warn({ err: error, worker: worker.id }, 'password hashing call failed'));
    return new Promise((listening, failed) => {
      let started = false;
      worker.once('listening', (address) => {
        started = true;
        retryMs = RETRY_FIRST_MS;
        listening(address.port);
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        if (!started) failed(new Error(`a worker exited during start-up (${signal ?? `code ${code}`})`));
        else if (!stopping) {
          logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker died; starting another');
          replace();
        }
      });
    });
  };

  const replace = () => {
    fork().catch((error: unknown) => {
      if (stopping) return;
      logger.error({ err: error, retryInMs: retryMs }, 'could not start a replacement worker');
      retry = setTimeout(replace, retryMs);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    });
  };

  const stop = async () => {
    stopping = true;
    clearTimeout(retry);
    const exits = [...live].map((worker) => new Promise((exited) => worker.once('exit', exited)));
    for (const worker of live) worker.process.kill('SIGTERM');
    const force = setTimeout(() => live.forEach((worker) => worker.process.kill('SIGKILL')), STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(force);
  };

  try {
    const [port = 0] = await Promise.all(Array.from({ length: count }, fork));
    return { port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
