/**
 * The server's entry point: `node dist/src/start.cjs` (what `npm start` and the image run).
 *
 * It sizes libuv's thread pool, which runs the password hashes, to one thread per usable
 * core (at most four, Node's own default), unless UV_THREADPOOL_SIZE is set. argon2id is
 * CPU-bound and works through 19 MiB per hash: more hashing threads than cores only
 * time-slice those against each other. On 2 cores, two threads hashed about 5 % more per
 * second than four (BENCHMARKS.md). Node sizes the pool when it first uses it, and
 * loading an ES module already does; CommonJS loading does not, so this file is CommonJS
 * and loads the server only once the size is set. Cluster workers inherit it.
 */
import cores = require('./adapters/config/cores.cjs');

const NODE_DEFAULT_POOL_SIZE = 4;
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(cores.usableCores(), NODE_DEFAULT_POOL_SIZE));
void import('./main.js').then((server) => server.main());
