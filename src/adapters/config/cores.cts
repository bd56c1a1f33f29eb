// CommonJS, so that the entry point (src/start.cts) can read it before any ES module loads.
import fs = require('node:fs');
import os = require('node:os');

/**
 * The machine's cores (within the process's CPU affinity), or fewer under a container
 * CPU limit: the default worker count. Node 20 reports the host's cores even inside a
 * container limited to one, so the cgroup's quota (v2 `cpu.max`, or v1's CFS files) is
 * read here.
 */
function usableCores(): number {
  const cores = os.availableParallelism();
  const quota = cgroupCpuQuota();
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

function cgroupCpuQuota(): number | undefined {
  const [quota, period] = readIfPresent('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/) ??
    [readIfPresent('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), readIfPresent('/sys/fs/cgroup/cpu/cpu.cfs_period_us')];
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 ? cpus : undefined;
}

function readIfPresent(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The most password hashes a server runs at once: the cap on its hashing threads, and the
 * hashes it admits at once (main.ts), so that every thread finds one.
 */
const MOST_HASHING_THREADS = 4;

/**
 * Threads that hash passwords at once: one per usable core, at most four. argon2id is
 * CPU-bound and works through 19 MiB per hash, so more threads than cores only
 * time-slice those against each other.
 */
function hashingThreads(usable = usableCores()): number {
  return Math.min(usable, MOST_HASHING_THREADS);
}

export = { usableCores, hashingThreads, MOST_HASHING_THREADS };
