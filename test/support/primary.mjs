// What a cluster primary holds for its workers, the throttling counters and the password
// hasher, in a process of its own: the contract suites talk to it over a real IPC
// channel. Runs the built server (dist/).
import { servePasswordHasher } from '../../dist/src/adapters/cluster/channel-password-hasher.js';
import { serveRateLimiter } from '../../dist/src/adapters/cluster/channel-rate-limiter.js';
import { ArgonFirstPasswordHasher } from '../../dist/src/adapters/crypto/password-hasher.js';
import { MemoryRateLimiter } from '../../dist/src/adapters/memory/memory-rate-limiter.js';

serveRateLimiter(process, new MemoryRateLimiter(), (error) => console.error(error));
servePasswordHasher(process, new ArgonFirstPasswordHasher(), (error) => console.error(error));
process.on('disconnect', () => process.exit(0));
