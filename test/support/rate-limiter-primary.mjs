// The primary's end of the shared throttling counters, in a process of its own: the
// contract suite talks to it over a real IPC channel. Runs the built server (dist/).
import { serveRateLimiter } from '../../dist/src/adapters/cluster/channel-rate-limiter.js';
import { MemoryRateLimiter } from '../../dist/src/adapters/memory/memory-rate-limiter.js';

serveRateLimiter(process, new MemoryRateLimiter(), (error) => console.error(error));
process.on('disconnect', () => process.exit(0));
