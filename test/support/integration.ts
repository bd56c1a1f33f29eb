import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { Redis } from 'ioredis';

/*
 * Real PostgreSQL and Redis for integration tests (SPEC §7): TEST_DATABASE_URL /
 * TEST_REDIS_URL when set, else containers where a Docker engine runs, else skipped
 * with a loud line — or failed, with REQUIRE_INTEGRATION=1 (CI sets it).
 */

export interface Integration<T> {
  available: boolean;
  /** Makes a fresh, isolated resource (its own database, its own key prefix). */
  fresh(): Promise<T & { close(): Promise<void> }>;
}

const required = process.env.REQUIRE_INTEGRATION === '1';

export async function postgresIntegration(): Promise<Integration<{ url: string }>> {
  const server = process.env.TEST_DATABASE_URL ? { url: process.env.TEST_DATABASE_URL } : await containerUrl('postgres');
  if (!('url' in server)) return unavailable('PostgreSQL', 'TEST_DATABASE_URL', server.failure);
  return { available: true, fresh: () => freshDatabase(server.url) };
}

export async function redisIntegration(): Promise<Integration<{ url: string; prefix: string }>> {
  const server = process.env.TEST_REDIS_URL ? { url: process.env.TEST_REDIS_URL } : await containerUrl('redis');
  if (!('url' in server)) return unavailable('Redis', 'TEST_REDIS_URL', server.failure);
  return { available: true, fresh: async () => freshPrefix(server.url) };
}

/** A database of our own on the server, dropped again on close; nothing else is touched. */
async function freshDatabase(serverUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const name = `pico_auth_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw('CREATE DATABASE ??', [name]);
  } finally {
    await admin.destroy();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    close: async () => {
      const dropper = knex({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
      try {
        await dropper.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      } finally {
        await dropper.destroy();
      }
    },
  };
}

/** A key prefix of our own; on close, only keys under it are deleted. */
function freshPrefix(url: string): { url: string; prefix: string; close(): Promise<void> } {
  const prefix = `pico-auth-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  return {
    url,
    prefix,
    close: async () => {
      const redis = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

type Container = { url: string } | { failure: string };
const containers = new Map<string, Promise<Container>>();

/**
 * Starts one container per kind per test file, where Docker exists; stopped by
 * testcontainers' reaper. A failure keeps its reason (no engine, an image that would not
 * pull), for the skip or the REQUIRE_INTEGRATION error to give.
 */
function containerUrl(kind: 'postgres' | 'redis'): Promise<Container> {
  let container = containers.get(kind);
  if (!container) {
    container = startContainer(kind).then(
      (url) => ({ url }),
      (error: unknown) => ({ failure: error instanceof Error ? error.message : String(error) }),
    );
    containers.set(kind, container);
  }
  return container;
}

async function startContainer(kind: 'postgres' | 'redis'): Promise<string> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  await getContainerRuntimeClient(); // throws where no Docker engine answers
  if (kind === 'postgres') {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    return (await new PostgreSqlContainer('postgres:16').start()).getConnectionUri();
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  return (await new RedisContainer('redis:7').start()).getConnectionUrl();
}

function unavailable<T>(what: string, variable: string, dockerFailure: string): Integration<T> {
  const message = `${what} integration tests need ${variable} or a Docker engine, and neither is available (Docker: ${dockerFailure})`;
  if (required) throw new Error(`REQUIRE_INTEGRATION=1: ${message}`);
  console.warn(`\n!!! SKIPPED: ${message}. Set ${variable} to run them. !!!\n`);
  return { available: false, fresh: () => Promise.reject(new Error(message)) };
}
