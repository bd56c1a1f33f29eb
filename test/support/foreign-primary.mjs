// A cluster primary that is not pico-auth's (pm2's cluster mode, say): it forks the
// script it is given as a cluster worker, and stops it on SIGTERM.
import cluster from 'node:cluster';

cluster.setupPrimary({ exec: process.argv[2] });
const worker = cluster.fork();
worker.on('exit', (code) => process.exit(code ?? 1));
process.on('SIGTERM', () => worker.process.kill('SIGTERM'));
