/**
 * Composition root: reads the configuration, picks the adapters, wires them into the
 * use cases by hand, serves, and shuts down gracefully.
 */
import cluster from 'node:cluster';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { bootstrapAdmin } from './application/bootstrap-admin.js';
import { hasPicoAuthDefaultPassword } from './application/pico-auth-default-password.js';
import type { Deps } from './application/deps.js';
import type { PasswordHasher } from './application/ports.js';
import { purgeExpiredTokens } from './application/purge-expired-tokens.js';
import { InvalidRequest, WeakPassword } from './domain/errors.js';
import { primaryChannel } from './adapters/cluster/channel.js';
import { ChannelPasswordHasher } from './adapters/cluster/channel-password-hasher.js';
import { ChannelRateLimiter } from './adapters/cluster/channel-rate-limiter.js';
import { PRIMARY_PID, startWorkers } from './adapters/cluster/workers.js';
import type { SharedServices } from './adapters/cluster/workers.js';
import { loadCommonPasswords } from './adapters/common-passwords.js';
import cores from './adapters/config/cores.cjs';
import { ConfigError, loadConfig, unreadYamlKeys } from './adapters/config/config.js';
import type { Config } from './adapters/config/config.js';
import { loadOrCreateKeyPair } from './adapters/crypto/key-files.js';
import type { KeyPair } from './adapters/crypto/key-files.js';
import { JoseTokenSigner } from './adapters/crypto/jose-signer.js';
import { ArgonFirstPasswordHasher } from './adapters/crypto/password-hasher.js';
import { HmacRefreshSecrets } from './adapters/crypto/refresh-secrets.js';
import { createHttpHandler } from './adapters/http/app.js';
import { listen } from './adapters/http/server.js';
import type { ReadinessChecks } from './adapters/http/routes/health-routes.js';
import { openRedis, pingRedis } from './adapters/redis/connection.js';
import { RedisRateLimiter } from './adapters/redis/redis-rate-limiter.js';
import { RedisTokenStore } from './adapters/redis/redis-token-store.js';
import { createLogger } from './adapters/logging/logger.js';
import type { Logger } from './adapters/logging/logger.js';
import { MemoryRateLimiter } from './adapters/memory/memory-rate-limiter.js';
import { migrate, openDatabase, parseDatabaseUrl } from './adapters/sql/database.js';
import { legacyBcryptCosts } from './adapters/sql/legacy-hashes.js';
import { isSqlite, postgresStatements, sqliteStatements } from './adapters/sql/statements.js';
import type { Statements } from './adapters/sql/statements.js';
import { SqlTokenStore } from './adapters/sql/sql-token-store.js';
import { SqlUserStore } from './adapters/sql/sql-user-store.js';
import { systemClock, uuidIds } from './adapters/system.js';

/** How long start-up waits for the database to answer (SPEC §4). */
const STARTUP_WAIT_MS = 30_000;
const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/**
 * Password hashes admitted at once in the whole server: as many as the most hashing threads
 * it ever runs. The thread pool runs as many as it has threads (a cluster primary's: one
 * per core, at most four, see start.cts); the others wait in its queue, and take their
 * 19 MiB only once they run. In a cluster the primary hashes for every worker, so memory
 * stays bounded whatever their count.
 */
const HASHING_SLOTS = cores.MOST_HASHING_THREADS;
/** PostgreSQL connections of the whole server, shared out between workers (at least two each). */
const DATABASE_POOL_SIZE = 10;

export interface PicoAuth {
  port: number;
  stop(): Promise<void>;
}

/** A cluster worker's part: the primary has migrated and created the admin, and holds the counters and the hasher. */
export interface WorkerRole {
  workers: number;
  shared: SharedServices;
}

export async function startPicoAuth(config: Config, logger: Logger, cwd = process.cwd(), worker?: WorkerRole): Promise<PicoAuth> {
  const keys = loadOrCreateKeyPair(config.auth.dataDir, config.auth.algorithm, { create: !worker });
  const stores = await openStores(config, cwd, { migrate: !worker, poolShare: worker?.workers ?? 1 });
  try {
    const hasher = worker?.shared.hasher ?? (await passwordHasher(stores.db, logger));
    const { deps, signer } = await assemble(config, stores, keys, hasher, worker);
    if (!worker) await createAdmin(config, deps, logger);
    const handler = createHttpHandler({
      deps,
      logger,
      trustedProxyHops: config.server.trustProxy,
      discovery: { issuer: config.auth.issuer, algorithm: config.auth.algorithm, jwks: signer.jwks() },
      readiness: readinessChecks(deps, Boolean(stores.redis)),
    });
    const server = await listen(handler, config.server.port, config.server.host);
    const purge = schedulePurge(deps, logger);
    logger.info({ port: server.port, host: config.server.host, redis: Boolean(stores.redis) }, 'pico-auth listening');
    if (!worker) void warnOfDefaultAdminPassword(config, deps, logger);
    return {
      port: server.port,
      stop: async () => {
        clearInterval(purge);
        await server.close();
        await stores.close();
      },
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/**
 * The primary's part of a clustered start, done once before any worker starts: key files,
 * migrations, the admin; and the hasher it then serves its workers with.
 */
async function prepareForWorkers(config: Config, logger: Logger, cwd: string): Promise<PasswordHasher> {
  const keys = loadOrCreateKeyPair(config.auth.dataDir, config.auth.algorithm);
  const stores = await openStores(config, cwd, { migrate: true, poolShare: 1 });
  try {
    const hasher = await passwordHasher(stores.db, logger);
    const { deps } = await assemble(config, stores, keys, hasher);
    await createAdmin(config, deps, logger);
    // While the workers start; the stores go once it is done.
    void warnOfDefaultAdminPassword(config, deps, logger)
      .then(() => stores.close())
      .catch((error: unknown) => logger.warn({ err: error }, 'closing the primary\'s database connection failed'));
    return hasher;
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/**
 * The server's one hasher. While pico-auth's bcrypt hashes remain, every failed check also
 * spends a bcrypt check, so a failed login's time does not tell their accounts apart.
 */
async function passwordHasher(db: Knex, logger: Logger): Promise<PasswordHasher> {
  const hasher = new ArgonFirstPasswordHasher(undefined, HASHING_SLOTS, undefined, await legacyBcryptCosts(db));
  await hasher.warmUp();
  const cost = hasher.legacyBcryptCost;
  if (cost !== undefined) {
    const line = `pico-auth bcrypt hashes remain: every failed login also spends a cost-${cost} bcrypt check until the next start finds none`;
    // pico-auth's hashes were cost 12; each step above doubles what every failed login costs.
    if (cost > 12) logger.warn({ bcryptCost: cost }, line);
    else logger.info({ bcryptCost: cost }, line);
  }
  return hasher;
}

async function assemble(config: Config, stores: Stores, keys: KeyPair, hasher: PasswordHasher, worker?: WorkerRole): Promise<{ deps: Deps; signer: JoseTokenSigner }> {
  const signer = await JoseTokenSigner.create(
    keys,
    {
      algorithm: config.auth.algorithm,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      expiresInSeconds: config.auth.accessTokenExpireMinutes * 60,
    },
    systemClock,
  );
  const deps = wire(config, stores, signer, hasher, keys.privateKey.export({ type: 'pkcs8', format: 'der' }), worker);
  return { deps, signer };
}

interface Stores {
  db: Knex;
  /** The queries on every request's path, prepared. */
  statements: Statements;
  redis: Redis | undefined;
  close(): Promise<void>;
}

/**
 * The database (migrated, unless a cluster primary did it) and, when configured, Redis:
 * both answering, or start-up fails. Workers split one process's PostgreSQL pool between
 * them, so more workers do not mean more connections.
 */
async function openStores(config: Config, cwd: string, options: { migrate: boolean; poolShare: number }): Promise<Stores> {
  const target = parseDatabaseUrl(config.database.url, cwd);
  const db = openDatabase(target, { max: Math.max(2, Math.ceil(DATABASE_POOL_SIZE / options.poolShare)) });
  const redis = config.redis.url ? openRedis(config.redis.url) : undefined;
  let statements: Statements | undefined;
  const close = async () => {
    if (statements && isSqlite(statements)) statements.close();
    redis?.disconnect();
    await db.destroy();
  };
  try {
    // An embedded SQLite file has no server to wait for: a path it cannot open stays so.
    await waitFor('database', () => db.raw('select 1'), target.dialect === 'sqlite' ? 0 : STARTUP_WAIT_MS);
    if (redis) await waitFor('redis', () => pingRedis(redis));
    if (options.migrate) await migrate(db);
    // Opened after the migrations, so the file and its tables exist.
    statements = target.dialect === 'sqlite' ? sqliteStatements(db, target.filename) : postgresStatements(db);
  } catch (error) {
    await close();
    throw error;
  }
  return { db, statements, redis, close };
}

/** `/ready`: every store the endpoints need must answer. */
function readinessChecks(deps: Deps, usesRedis: boolean): ReadinessChecks {
  const checks: ReadinessChecks = { database: () => deps.users.ping() };
  if (usesRedis) checks.redis = () => deps.tokens.ping();
  return checks;
}

/**
 * Tokens and throttling counters go to Redis when it is configured, else to the database
 * and memory: this process's, or the cluster primary's for a worker, which also hashes.
 */
function wire(config: Config, stores: Stores, signer: JoseTokenSigner, hasher: PasswordHasher, keyMaterial: Buffer, worker?: WorkerRole): Deps {
  const { db, statements, redis } = stores;
  const prefix = config.redis.prefix;
  return {
    users: new SqlUserStore(db, statements),
    tokens: redis ? new RedisTokenStore(redis, prefix) : new SqlTokenStore(db, statements),
    hasher,
    signer,
    secrets: new HmacRefreshSecrets(keyMaterial),
    clock: systemClock,
    ids: uuidIds,
    limiter: redis ? new RedisRateLimiter(redis, prefix) : (worker?.shared.limiter ?? new MemoryRateLimiter()),
    settings: {
      refreshTokenTtlSeconds: config.auth.refreshTokenExpireDays * 86_400,
      refreshReuseGraceSeconds: config.auth.refreshReuseGraceSeconds,
      registrationEnabled: config.auth.registrationEnabled,
      lockoutThreshold: config.auth.lockoutThreshold,
      ipRateLimitPerMinute: config.auth.ipRateLimit,
      passwordPolicy: { minLength: config.auth.passwordMinLength, isCommon: loadCommonPasswords() },
    },
  };
}

async function createAdmin(config: Config, deps: Deps, logger: Logger): Promise<void> {
  if (!config.auth.autoCreateAdmin) return;
  const result = await bootstrapAdmin(deps, { email: config.auth.adminEmail, password: config.auth.adminPassword }).catch((error: unknown) => {
    if (error instanceof WeakPassword) throw new Error(`AUTH_ADMIN_PASSWORD is not acceptable: ${error.message}`);
    if (error instanceof InvalidRequest) throw new Error(`AUTH_ADMIN_EMAIL is not acceptable: ${error.message}`);
    throw error;
  });
  if (!result.created) return;
  logger.info({ audit: 'admin_created', email: config.auth.adminEmail }, 'admin_created');
  if (result.generatedPassword) {
    // Shown exactly once, so the operator can sign in; it is never stored in clear. At any
    // LOG_LEVEL: hidden by a quieter one, it would be an admin nobody can sign in as.
    logger.child({}, { level: 'warn' }).warn(`Generated admin password for ${config.auth.adminEmail}: ${result.generatedPassword}`);
  }
}

/**
 * Warns if the admin still has pico-auth's default password. Not awaited by start-up: the
 * check costs a failed login's hashing, seconds where costly bcrypt hashes remain.
 */
async function warnOfDefaultAdminPassword(config: Config, deps: Deps, logger: Logger): Promise<void> {
  try {
    if (await hasPicoAuthDefaultPassword(deps, config.auth.adminEmail)) {
      logger.warn(`The admin ${config.auth.adminEmail} still has pico-auth's default password: change it now (POST /api/v1/auth/me/password)`);
    }
  } catch (error) {
    // The stores may be down or closing: the next start checks again.
    logger.debug({ err: error }, 'could not check the admin password against pico-auth default');
  }
}

/** Deletes long-expired refresh tokens now and every hour; a failure waits for the next round. */
function schedulePurge(deps: Deps, logger: Logger): NodeJS.Timeout {
  const purge = () => purgeExpiredTokens(deps).catch((error: unknown) => logger.warn({ err: error }, 'purging expired refresh tokens failed'));
  void purge();
  return setInterval(purge, PURGE_INTERVAL_MS).unref();
}

/** Retries `probe` until it answers or `waitMs` has passed; with 0, tries once. */
async function waitFor(what: string, probe: () => Promise<unknown>, waitMs = STARTUP_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        const after = waitMs > 0 ? `did not answer within ${waitMs / 1000} s` : 'could not be opened';
        // The cause's own message follows in the log line (pino joins the causes' messages).
        throw new Error(`${what} ${after}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Reads the configuration and serves until SIGTERM or SIGINT: run by `start.cts`, or by this file when it is the one Node runs. */
export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, process.cwd());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.log.level);
  if (!isOurWorker()) warnOfUnreadSettings(logger);
  const starting = start(config, logger);
  // Handled from the first moment: a signal that lands while the server is starting (a
  // cluster's workers may already answer /health) stops it once it has started.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await (await starting).stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await starting;
}

/** Said once, by the process that read the configuration first: a worker reads the same file. */
function warnOfUnreadSettings(logger: Logger): void {
  const keys = unreadYamlKeys(process.env, process.cwd());
  if (keys.length > 0) logger.warn({ keys }, `configuration keys that pico-auth does not read, ignored (a typo?): ${keys.join(', ')}`);
}

/** This process's part: a worker of ours, a cluster primary, or the whole server in one process. Exits 1 if it cannot start. */
async function start(config: Config, logger: Logger): Promise<{ stop(): Promise<void> }> {
  try {
    const workers = workerCount(config);
    if (isOurWorker()) return await startPicoAuth(config, logger, process.cwd(), { workers, shared: primaryServices() });
    // A worker of someone else's cluster (pm2's) runs as a process of its own: only a primary forks.
    if (workers > 1 && cluster.isPrimary) return await startCluster(config, logger, workers);
    return await startPicoAuth(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `pico-auth could not start: ${withCauses(error)}`);
    process.exit(1);
  }
}

/** What failed, then why: an error's message and its causes', joined as pino joins them in `err.message`. */
function withCauses(error: unknown): string {
  const messages: string[] = [];
  for (let cause = error; cause instanceof Error && messages.length < 8; cause = cause.cause) messages.push(cause.message);
  return messages.length > 0 ? messages.join(': ') : String(error);
}

/** A worker forked by startWorkers, not by some other cluster primary (pm2's, say) that holds no counters. */
function isOurWorker(): boolean {
  return cluster.isWorker && process.env[PRIMARY_PID] === String(process.ppid);
}

/** A worker's stubs for what its primary holds. */
function primaryServices(): SharedServices {
  const channel = primaryChannel();
  return { limiter: new ChannelRateLimiter(channel), hasher: new ChannelPasswordHasher(channel) };
}

/** One process per core by default; an in-memory SQLite database lives in one process, so it gets one. */
function workerCount(config: Config): number {
  const target = parseDatabaseUrl(config.database.url, process.cwd());
  return target.dialect === 'sqlite' && target.filename === ':memory:' ? 1 : config.server.workers;
}

/** The primary: prepares what workers share, then forks them; they share the port, it holds the counters and hashes. */
async function startCluster(config: Config, logger: Logger, workers: number): Promise<{ stop(): Promise<void> }> {
  const hasher = await prepareForWorkers(config, logger, process.cwd());
  const shared = { limiter: new MemoryRateLimiter(), hasher };
  const pool = await startWorkers(workers, shared, logger);
  logger.info({ port: pool.port, workers }, 'pico-auth workers listening');
  return pool;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
