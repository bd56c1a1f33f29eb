/**
 * The server's entry point: `node dist/src/start.cjs` (what `npm start` and the image run).
 *
 * A cluster primary hashes every worker's passwords on libuv's thread pool, and nothing
 * else runs there; its pool gets one thread per usable core, at most four, unless
 * UV_THREADPOOL_SIZE is set. Node's default is four whatever the cores, and on 2 cores
 * two threads hashed about 5 % more per second than four (bench/HISTORY.md). A single
 * process (`WORKERS=1`, or one core) keeps Node's default: its pool also signs and checks
 * tokens, which must not wait behind hashes. The worker count is read from the
 * environment here: one set only in application.yaml is not seen, nor that an in-memory
 * database runs one process, and the pool is then sized as for a cluster.
 *
 * Node sizes the pool when it first uses it, and loading an ES module already does;
 * CommonJS loading does not, so this file is CommonJS and loads the server only once
 * the size is set. Cluster workers inherit the variable; their pools only sign.
 */
import cores = require('./adapters/config/cores.cjs');

const usable = cores.usableCores();
const workers = Number(process.env.WORKERS || usable);
if (!process.env.UV_THREADPOOL_SIZE && workers > 1) process.env.UV_THREADPOOL_SIZE = String(cores.hashingThreads(usable));

import('./main.js')
  .then((server) => server.main())
  .catch((error: unknown) => {
    // What the server reports itself happens inside main(); this is a server that could not load.
    console.error(error);
    process.exit(1);
  });
