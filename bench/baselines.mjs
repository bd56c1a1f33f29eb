// What this machine can physically do, measured right before the scenarios: argon2id
// verifies and RS256 signs/verifies on every core, and a bare Koa JSON route.
import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import argon2 from 'argon2';
import { SignJWT, jwtVerify } from 'jose';
import cores from '../dist/src/adapters/config/cores.cjs';

/** The server's parameters (src/adapters/crypto/argon2-hasher.ts OWASP_ARGON2ID). */
export const ARGON2_PARAMS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * argon2id verifies per second with the server's hashing threads (one per usable core, at
 * most four: `hashingThreads`), each kept busy back to back, in a process of its own
 * whose thread pool has that many threads (Node sizes the pool when a process first uses
 * it). On 2 cores, two threads do about 5 % more than Node's default four, which
 * time-slice their 19 MiB hashes against each other.
 */
export function argon2VerifyRate(seconds) {
  const threads = cores.hashingThreads();
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, UV_THREADPOOL_SIZE: String(threads), BENCH_ARGON2_CHILD: JSON.stringify({ seconds, threads }) },
  });
  return new Promise((resolve, reject) => {
    let rate;
    child.once('message', (message) => (rate = message));
    child.once('error', reject);
    child.once('close', (code) => (rate === undefined ? reject(new Error(`argon2 baseline exited with ${code}`)) : resolve(rate)));
  });
}

async function argon2Child({ seconds, threads }) {
  const hash = await argon2.hash('benchmark password', ARGON2_PARAMS);
  let count = 0;
  const deadline = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      await argon2.verify(hash, 'benchmark password');
      count++;
    }
  };
  const start = performance.now();
  // Twice as many in flight as threads, so no thread waits for this loop to hand it the next.
  await Promise.all(Array.from({ length: 2 * threads }, loop));
  process.send(count / ((performance.now() - start) / 1000));
  process.disconnect();
}

/** jose RS256 signs (or verifies) per second, one worker thread per core. */
export async function rs256Rate(operation, seconds) {
  const workers = availableParallelism();
  const counts = await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { operation, seconds } });
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
    ),
  );
  return counts.reduce((sum, count) => sum + count, 0) / seconds;
}

async function rs256Worker({ operation, seconds }) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sign = () =>
    new SignJWT({ email: 'bench@example.com', role: 'viewer', org_id: 'default' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'bench' })
      .setSubject('user').setIssuer('http://localhost:8100').setAudience('pico-bot')
      .setIssuedAt().setExpirationTime('15m').setJti(crypto.randomUUID())
      .sign(privateKey);
  const token = await sign();
  const once = operation === 'sign' ? sign : () => jwtVerify(token, publicKey, { algorithms: ['RS256'] });
  let count = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    await once();
    count++;
  }
  parentPort.postMessage(count);
}

if (!isMainThread && workerData?.operation) await rs256Worker(workerData);
if (isMainThread && process.env.BENCH_ARGON2_CHILD) await argon2Child(JSON.parse(process.env.BENCH_ARGON2_CHILD));
