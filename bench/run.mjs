// npm run bench: the server against this machine's own limits (see BENCHMARKS.md).
// Starts the built server as a child process, seeds users through the API, drives it
// with autocannon over loopback, and reports every scenario as a ratio to its baseline,
// measured right before and right after it (this machine is shared: its speed drifts
// within minutes, so a baseline taken once at the start would skew later ratios).
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import cores from '../dist/src/adapters/config/cores.cjs';
import { argon2VerifyRate, rs256Rate } from './baselines.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
/**
 * Every load (each scenario and each bare Koa baseline) first runs unmeasured, at the same
 * settings, for this long and for at least WARMUP_REQUESTS answers: a fresh process runs
 * cold, unoptimized code for its first seconds (bare Koa served 2,788 req/s in its first
 * second and 11,917 in its fourth), and a window that includes that mostly measures
 * warm-up. V8 optimizes code by how much of it has run, not by the clock: 2 s is tens of
 * thousands of requests to the fast scenarios but about 200 logins, which leaves login's
 * code cold (BENCHMARKS.md).
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const WARMUP_REQUESTS = Number(process.env.BENCH_WARMUP_REQUESTS ?? 2000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** The server's own default (one process per core, within a container's CPU quota); bare Koa runs with as many. */
const WORKERS = Number(process.env.WORKERS ?? cores.usableCores());
const USERS = 64;
const PASSWORD = 'bench-Correct-Horse-5521';
const ADMIN_PASSWORD = 'bench-admin-password-5521';

async function main() {
  console.log(`pico-auth bench: ${cpus().length} cores, Node ${process.version}, ${WORKERS} worker(s), ${SECONDS} s per scenario after a warm-up of ${WARMUP_SECONDS} s and at least ${WARMUP_REQUESTS} requests, ${CONNECTIONS} connections`);
  const shapes = [{ name: 'embedded (SQLite)', env: (dir) => ({ DATABASE_URL: `sqlite:${join(dir, 'auth.db')}` }) }];
  const { BENCH_DATABASE_URL: pg, BENCH_REDIS_URL: redis } = process.env;
  const own = pg && redis ? await ownStores(pg, redis) : undefined;
  if (own) shapes.push({ name: 'PostgreSQL + Redis', env: () => own.env, instances: 2 });
  try {
    const rs256VerifyPerSec = await rs256Rate('verify', BASELINE_SECONDS);
    const results = [];
    for (const shape of shapes) results.push(await benchShape(shape));
    report({ rs256VerifyPerSec }, results);
  } finally {
    await own?.release();
  }
}

/** A database and a key prefix of the bench's own on the given servers, removed afterwards. */
async function ownStores(serverUrl, redisUrl) {
  const { default: knex } = await import('knex');
  const { Redis } = await import('ioredis');
  const name = `pico_auth_bench_${process.pid}`;
  const admin = knex({ client: 'pg', connection: serverUrl });
  await admin.raw('CREATE DATABASE ??', [name]);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const prefix = `pico-auth-bench:${process.pid}:`;
  return {
    env: { DATABASE_URL: url.toString(), REDIS_URL: redisUrl, REDIS_PREFIX: prefix },
    release: async () => {
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await admin.destroy();
      const client = new Redis(redisUrl);
      for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 })) if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    },
  };
}

const BASELINE_SECONDS = 4;

/** What this machine can physically do for each ratio (see baselines.mjs); bare Koa's latencies are kept too. */
const BARE_KOA = { name: 'bare Koa req/s', measure: () => bareKoa() };
const BASELINES = {
  login: { name: 'argon2id verify/s', measure: async () => ({ rps: await argon2VerifyRate(BASELINE_SECONDS) }) },
  refresh: { name: 'RS256 sign/s', measure: async () => ({ rps: await rs256Rate('sign', BASELINE_SECONDS) }) },
  me: BARE_KOA,
  jwks: BARE_KOA,
};

/**
 * Runs a scenario between two measurements of its baseline; the ratio is to their mean.
 * The first is taken once the scenario has warmed up, right before its measured window
 * (login's warm-up alone takes about 20 s). `before` may be the previous scenario's
 * `after`, when both share a baseline.
 */
async function bracketed(name, scenario, before) {
  const result = await scenario(async () => {
    before ??= await BASELINES[name].measure();
  });
  const after = await BASELINES[name].measure();
  const baseline = (before.rps + after.rps) / 2;
  console.log(`    baseline ${BASELINES[name].name}: ${before.rps.toFixed(0)} before, ${after.rps.toFixed(0)} after`);
  return { ...result, baseline, baselineBefore: before, baselineAfter: after, ratio: result.rps / baseline };
}

async function bareKoa() {
  const child = fork(join(import.meta.dirname, 'bare-koa.mjs'), { stdio: 'ignore', env: { ...process.env, WORKERS: String(WORKERS) } });
  const port = await new Promise((done) => child.once('message', (message) => done(message.port)));
  try {
    return summarize(await timedAutocannon({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration: SECONDS }));
  } finally {
    child.kill('SIGTERM');
  }
}

// ---------------------------------------------------------------------------

async function benchShape(shape) {
  console.log(`\n${shape.name}`);
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-bench-'));
  const env = { ...shape.env(dir), AUTH_DATA_DIR: join(dir, 'keys') };
  const server = await startServer(env);
  try {
    const api = server.api;
    const users = await seedUsers(api);
    const scenarios = {};
    scenarios.login = await bracketed('login', (warm) => run('login', api, loginRequests(users), warm));
    const pool = await freshTokens(api, users, CONNECTIONS * 2);
    scenarios.refresh = await bracketed('refresh', (warm) => run('refresh', api, refreshRequests(pool), warm));
    scenarios.me = await bracketed('me', (warm) => run('me', api, meRequests(users), warm));
    scenarios.jwks = await bracketed('jwks', (warm) => run('jwks', api, [{ method: 'GET', path: '/api/v1/auth/jwks' }], warm), scenarios.me.baselineAfter);
    scenarios.mix = await run('mix (70% me, 20% refresh, 5% login, 5% jwks)', api, mixRequests(users, await freshTokens(api, users, CONNECTIONS * 2)));
    const timing = await enumerationTiming(api, users);
    const peakRssMb = peakRss(server.child.pid);
    const ratios = {
      login: scenarios.login.ratio,
      refresh: scenarios.refresh.ratio,
      me: scenarios.me.ratio,
      jwks: scenarios.jwks.ratio,
      meP99OverP50: tailRatio(scenarios.me),
      // The same ratio for the baseline, as context: how long this machine's own tail is.
      bareKoaP99OverP50: [scenarios.me.baselineBefore, scenarios.me.baselineAfter].map(tailRatio),
    };
    const result = { shape: shape.name, scenarios, ratios, timing, peakRssMb };
    if (shape.instances === 2) result.twoInstances = await twoInstances(env, users, server);
    return result;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const tailRatio = ({ p50, p99 }) => p99 / Math.max(p50, 0.001);

async function run(name, api, requests, afterWarmUp) {
  const result = summarize(await timedAutocannon({ url: api.replace('/api/v1/auth', ''), connections: CONNECTIONS, duration: SECONDS, requests }, afterWarmUp));
  const warm = result.warmupRps.map((rps) => rps.toFixed(0)).join(' then ');
  console.log(`  ${name}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors} (warm-up: ${result.warmupRequests} answers at ${warm} req/s)`);
  return result;
}

/**
 * autocannon's own percentiles have a resolution of 1 ms, too coarse for answers that
 * take one or two: each response's time is kept, and the percentiles are taken from them.
 * The warm-up's answers are not timed, but its non-2xx answers and errors still count.
 */
async function timedAutocannon(options, afterWarmUp) {
  const warmup = await warmUp(options);
  await afterWarmUp?.();
  const latencies = [];
  const instance = autocannon(options);
  instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const percentile = (p) => Number((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(2));
  return { ...result, warmup, latency: { ...result.latency, p50: percentile(50), p99: percentile(99) } };
}

/** The unmeasured load before a measurement: WARMUP_SECONDS, then more until WARMUP_REQUESTS have been answered. */
async function warmUp(options) {
  const rounds = [await autocannon({ ...options, duration: WARMUP_SECONDS })];
  const answered = rounds[0].requests.total;
  if (answered < WARMUP_REQUESTS) {
    const { duration: _measured, ...settings } = options;
    rounds.push(await autocannon({ ...settings, amount: WARMUP_REQUESTS - answered }));
  }
  const total = (count) => rounds.reduce((sum, round) => sum + count(round), 0);
  return {
    requests: total((r) => r.requests.total),
    // Kept in the results: the rate while cold, its first 2 s (and the rest), beside the measured one.
    rps: rounds.map((r) => r.requests.average),
    non2xx: total((r) => r.non2xx),
    errors: total((r) => r.errors),
    timeouts: total((r) => r.timeouts),
  };
}

function summarize(result) {
  const { warmup } = result;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + warmup.non2xx,
    errors: result.errors + result.timeouts + warmup.errors + warmup.timeouts,
    total: result.requests.total,
    warmupRequests: warmup.requests,
    warmupRps: warmup.rps,
  };
}

// --- request shapes --------------------------------------------------------

/** A new object each time: autocannon writes content-length into the headers it is given. */
const json = () => ({ 'content-type': 'application/json' });
const pick = (items) => items[Math.floor(Math.random() * items.length)];

function loginRequest(users) {
  const user = pick(users);
  return { method: 'POST', path: '/api/v1/auth/login', headers: json(), body: JSON.stringify({ email: user.email, password: PASSWORD }) };
}

function loginRequests(users) {
  return [{ setupRequest: (request) => ({ ...request, ...loginRequest(users) }) }];
}

/** Every request presents a never-used token: each answer's successor goes back into the pool. */
function refreshRequest(pool, context) {
  context.refresh = true;
  return { method: 'POST', path: '/api/v1/auth/refresh', headers: json(), body: JSON.stringify({ refresh_token: pool.pop() }) };
}

function recycle(pool) {
  return (status, body, context) => {
    if (context.refresh && status === 200) pool.push(JSON.parse(body).refresh_token);
  };
}

function refreshRequests(pool) {
  return [{ setupRequest: (request, context) => ({ ...request, ...refreshRequest(pool, context) }), onResponse: recycle(pool) }];
}

function meRequest(user) {
  return { method: 'GET', path: '/api/v1/auth/me', headers: { authorization: `Bearer ${user.accessToken}` }, body: undefined };
}

/**
 * One fixed request per user, cycled through by every connection: autocannon builds each
 * once, as it does bare Koa's, instead of rebuilding one per request. On two shared cores
 * the load generator's own work per request comes out of the server's share, so the
 * scenario and its baseline must cost the generator alike.
 */
function meRequests(users) {
  return users.map(meRequest);
}

function mixRequests(users, pool) {
  const choose = (context) => {
    const roll = Math.random();
    if (roll < 0.7) return meRequest(pick(users));
    if (roll < 0.9) return refreshRequest(pool, context);
    if (roll < 0.95) return loginRequest(users);
    return { method: 'GET', path: '/api/v1/auth/jwks', headers: {}, body: undefined };
  };
  return [{ setupRequest: (request, context) => ({ ...request, ...choose(context) }), onResponse: recycle(pool) }];
}

// --- seeding and checks ----------------------------------------------------

async function post(url, body, retries = 1) {
  try {
    const response = await fetch(url, { method: 'POST', headers: json(), body: JSON.stringify(body) });
    return { status: response.status, body: await response.json().catch(() => undefined) };
  } catch (error) {
    // A pooled keep-alive socket the server closed while idle: one retry on a new one.
    if (retries > 0) return post(url, body, retries - 1);
    throw error;
  }
}

async function seedUsers(api) {
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const email = `bench-${process.pid}-${i}@example.com`;
    const registered = await post(`${api}/register`, { email, password: PASSWORD });
    if (registered.status !== 201) throw new Error(`seeding failed: ${registered.status} ${JSON.stringify(registered.body)}`);
    const login = await post(`${api}/login`, { email, password: PASSWORD });
    users.push({ email, accessToken: login.body.access_token });
  }
  return users;
}

async function freshTokens(api, users, count) {
  const tokens = [];
  for (let i = 0; i < count; i++) tokens.push((await post(`${api}/login`, { email: users[i % users.length].email, password: PASSWORD })).body.refresh_token);
  return tokens;
}

/** Unknown email versus wrong password: median latencies must be within 5 ms (no enumeration by timing). */
async function enumerationTiming(api, users) {
  const unknown = [];
  const wrong = [];
  for (let i = 0; i < 40; i++) {
    unknown.push(await timed(() => post(`${api}/login`, { email: `nobody-${process.pid}-${i}@example.com`, password: 'wrong-password-123' })));
    wrong.push(await timed(() => post(`${api}/login`, { email: users[i % users.length].email, password: 'wrong-password-123' })));
  }
  const result = { unknownEmailMedianMs: median(unknown), wrongPasswordMedianMs: median(wrong) };
  result.differenceMs = Math.abs(result.unknownEmailMedianMs - result.wrongPasswordMedianMs);
  console.log(`  login timing: unknown email ${result.unknownEmailMedianMs.toFixed(1)} ms, wrong password ${result.wrongPasswordMedianMs.toFixed(1)} ms (median)`);
  // A success resets each account's failure count before the next scenario run.
  for (const user of users) await post(`${api}/login`, { email: user.email, password: PASSWORD });
  return result;
}

async function timed(call) {
  const start = performance.now();
  const reply = await call();
  if (reply.status !== 401) throw new Error(`expected 401, got ${reply.status}`);
  return performance.now() - start;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The server's peak resident memory: with workers, the sum of every process's own peak (an upper bound). */
function peakRss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const own = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return own + children.reduce((sum, child) => sum + peakRss(child), 0);
}

/** Two server processes on one PostgreSQL + Redis: tokens issued by one are refreshed by the other. */
async function twoInstances(env, users, first) {
  const second = await startServer(env);
  try {
    const pool = await freshTokens(first.api, users, CONNECTIONS * 2);
    const both = async (requests) => {
      const halves = await Promise.all(
        [first, second].map((server) =>
          timedAutocannon({ url: server.api.replace('/api/v1/auth', ''), connections: CONNECTIONS / 2, duration: SECONDS, requests }),
        ),
      );
      const [a, b] = halves.map(summarize);
      return { rps: a.rps + b.rps, p50: Math.max(a.p50, b.p50), p99: Math.max(a.p99, b.p99), non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors };
    };
    const refresh = await both(refreshRequests(pool));
    const me = await both(meRequests(users));
    console.log(`  two instances: refresh ${refresh.rps.toFixed(0)} req/s (non-2xx ${refresh.non2xx}), me ${me.rps.toFixed(0)} req/s (non-2xx ${me.non2xx})`);
    return { refresh, me };
  } finally {
    await second.stop();
  }
}

// --- server process --------------------------------------------------------

async function startServer(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/start.cjs')], {
    env: { ...process.env, ...env, WORKERS: String(WORKERS), PORT: String(port), HOST: '127.0.0.1', AUTH_IP_RATE_LIMIT: '0', LOG_LEVEL: 'warn', AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const api = `http://127.0.0.1:${port}/api/v1/auth`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) {
      const exited = new Promise((done) => child.once('exit', done));
      return { child, api, stop: () => (child.kill('SIGTERM'), exited) };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

function freePort() {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

// --- report ----------------------------------------------------------------

const TARGETS = { login: 0.85, refresh: 0.5, me: 0.5, jwks: 0.8 };

/** A fresh server's logins, as a ratio to the same baseline: its first 2 s, then the rest of the warm-up. */
function coldLogin(login) {
  return login.warmupRps.map((rps) => `${rps.toFixed(0)}/s (${(rps / login.baseline).toFixed(2)})`).join(', then ');
}

function report(baselines, results) {
  const lines = [
    `| shape | scenario | req/s | p50 ms | p99 ms | non-2xx | ratio | baseline (mean of before and after) | target |`,
    `|---|---|---:|---:|---:|---:|---:|---|---:|`,
  ];
  for (const result of results) {
    for (const [name, scenario] of Object.entries(result.scenarios)) {
      const ratio = result.ratios[name];
      const ratioCell = ratio === undefined ? '' : `${ratio.toFixed(2)}${ratio >= TARGETS[name] ? '' : ' ✗'}`;
      const baselineCell = scenario.baseline === undefined ? '' : `${scenario.baseline.toFixed(0)} ${BASELINES[name].name}`;
      lines.push(`| ${result.shape} | ${name} | ${scenario.rps.toFixed(0)} | ${scenario.p50} | ${scenario.p99} | ${scenario.non2xx + scenario.errors} | ${ratioCell} | ${baselineCell} | ${TARGETS[name] ?? ''} |`);
    }
    if (result.twoInstances) {
      for (const [name, scenario] of Object.entries(result.twoInstances)) {
        lines.push(`| ${result.shape}, 2 instances | ${name} | ${scenario.rps.toFixed(0)} | ${scenario.p50} | ${scenario.p99} | ${scenario.non2xx + scenario.errors} | | | |`);
      }
    }
  }
  const notes = results.map(
    (r) =>
      `- ${r.shape}: me p99/p50 = ${r.ratios.meP99OverP50.toFixed(1)} (target ≤ 5; bare Koa's own ${r.ratios.bareKoaP99OverP50.map((t) => t.toFixed(1)).join(' and ')}); login timing unknown-email vs wrong-password medians ` +
      `${r.timing.unknownEmailMedianMs.toFixed(1)} / ${r.timing.wrongPasswordMedianMs.toFixed(1)} ms (Δ ${r.timing.differenceMs.toFixed(1)} ms, target ≤ 5); peak RSS ${r.peakRssMb.toFixed(0)} MiB; ` +
      `login while warming up (unmeasured): ${coldLogin(r.scenarios.login)}`,
  );
  const baselineLine =
    `Each ratio is to its baseline measured right before and right after its scenario (the mean of the two). ` +
    `RS256 verify: ${baselines.rs256VerifyPerSec.toFixed(0)}/s on all cores.`;
  const table = [baselineLine, '', ...lines, '', ...notes].join('\n');
  console.log(`\n${table}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const code = sourceVersion();
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version, workers: WORKERS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, warmupRequests: WARMUP_REQUESTS, connections: CONNECTIONS };
  writeFileSync(file, JSON.stringify({ code, machine, baselines, results, table }, null, 2));
  console.log(`written ${file}`);
  const failed = results.flatMap((r) => Object.values(r.scenarios).filter((s) => s.non2xx + s.errors > 0));
  if (failed.length > 0) {
    console.error('some scenarios had non-2xx answers or errors: not a valid result');
    process.exitCode = 1;
  }
}

/** The commit measured, and whether the working tree differed from it (a run of uncommitted code). */
function sourceVersion() {
  try {
    const git = (args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    return { commit: git(['rev-parse', 'HEAD']), uncommittedChanges: git(['status', '--porcelain', '--untracked-files=no']) !== '' };
  } catch {
    return { commit: 'unknown (not a git checkout)' };
  }
}

await main();
