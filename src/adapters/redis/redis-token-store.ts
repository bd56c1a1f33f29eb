import type { Redis } from 'ioredis';
import type { TokenStore } from '../../application/ports.js';
import { EXPIRED_TOKEN_RETENTION_SECONDS } from '../../application/purge-expired-tokens.js';
import type { RefreshToken } from '../../domain/refresh-token.js';
import { defineScript, guardedRedis } from './connection.js';

/*
 * Layout, every key under the configured prefix:
 *   rt:<hash>      hash {family, user, exp, created, consumed, revoked}  expires with the token
 *   fam:<family>   hash {revoked}                                         expires with the family
 *   user:<user>    set of family ids                                      expires with its last family
 * Revoking a family is one field write, whatever its length; revoking a user touches one
 * key per session. Scripts derive some keys from stored ids, so this layout targets a
 * single Redis (or a replicated primary), not Redis Cluster. A missing family key reads
 * as revoked, so an eviction can end sessions but never revive one; run Redis with
 * `maxmemory-policy noeviction` all the same. Times are epoch milliseconds; '' means unset.
 */

/** Keys outlive their token as long as SQL rows do, then Redis drops them by itself. */
const RETENTION_MS = EXPIRED_TOKEN_RETENTION_SECONDS * 1000;

/** Saves a token and indexes its family under its user. KEYS: token, family, user. ARGV: family, user, exp, created, consumed, key expiry. */
const SAVE = `
redis.call('HSET', KEYS[1], 'family', ARGV[1], 'user', ARGV[2], 'exp', ARGV[3], 'created', ARGV[4], 'consumed', ARGV[5], 'revoked', '')
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('HSET', KEYS[2], 'revoked', '') end
redis.call('PEXPIREAT', KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[1])
local ttl = redis.call('PTTL', KEYS[3])
if ttl < 0 or ttl < tonumber(ARGV[6]) - tonumber(ARGV[4]) then redis.call('PEXPIREAT', KEYS[3], ARGV[6]) end
return 1`;

/** A token with its family's revocation folded in. KEYS: token. ARGV: prefix. */
const FIND = `
local t = redis.call('HMGET', KEYS[1], 'family', 'user', 'exp', 'created', 'consumed', 'revoked')
if not t[1] then return false end
local familyRevoked = redis.call('HGET', ARGV[1] .. 'fam:' .. t[1], 'revoked')
-- A family key that is gone (evicted) counts as revoked: fail closed.
if not familyRevoked then familyRevoked = t[4] end
if t[6] == '' then t[6] = familyRevoked end
return t`;

/**
 * Consumes a live parent and saves its successor, or does nothing.
 * KEYS: parent, successor. ARGV: now, prefix, family, user, exp, created, key expiry.
 */
const ROTATE = `
local p = redis.call('HMGET', KEYS[1], 'family', 'user', 'exp', 'consumed', 'revoked')
if not p[1] or p[4] ~= '' or p[5] ~= '' or tonumber(p[3]) <= tonumber(ARGV[1]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local familyKey = ARGV[2] .. 'fam:' .. p[1]
local familyRevoked = redis.call('HGET', familyKey, 'revoked')
if familyRevoked ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'consumed', ARGV[1])
redis.call('HSET', KEYS[2], 'family', ARGV[3], 'user', ARGV[4], 'exp', ARGV[5], 'created', ARGV[6], 'consumed', '', 'revoked', '')
redis.call('PEXPIREAT', KEYS[2], ARGV[7])
return 1`;

/** Marks a family revoked (the first revocation time stays). KEYS: family. ARGV: now. */
const REVOKE_FAMILY = `
if redis.call('HGET', KEYS[1], 'revoked') == '' then redis.call('HSET', KEYS[1], 'revoked', ARGV[1]) end
return 1`;

/** Revokes every live family of a user and forgets the expired ones. KEYS: user. ARGV: now, prefix. */
const REVOKE_USER = `
for _, family in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. 'fam:' .. family
  local revoked = redis.call('HGET', key, 'revoked')
  if not revoked then redis.call('SREM', KEYS[1], family)
  elseif revoked == '' then redis.call('HSET', key, 'revoked', ARGV[1]) end
end
return 1`;

/** Refresh tokens in Redis, every multi-step change one Lua script (atomic). */
export class RedisTokenStore implements TokenStore {
  readonly #save;
  readonly #find;
  readonly #rotate;
  readonly #revokeFamily;
  readonly #revokeUser;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.#save = defineScript(redis, 'picoAuthSaveToken', SAVE);
    this.#find = defineScript(redis, 'picoAuthFindToken', FIND);
    this.#rotate = defineScript(redis, 'picoAuthRotateToken', ROTATE);
    this.#revokeFamily = defineScript(redis, 'picoAuthRevokeFamily', REVOKE_FAMILY);
    this.#revokeUser = defineScript(redis, 'picoAuthRevokeUser', REVOKE_USER);
  }

  async create(token: RefreshToken): Promise<void> {
    await this.#save(
      [this.#key('rt', token.hash), this.#key('fam', token.familyId), this.#key('user', token.userId)],
      [token.familyId, token.userId, token.expiresAt.getTime(), token.createdAt.getTime(), ms(token.consumedAt), keyExpiry(token)],
    );
  }

  async findByHash(hash: string): Promise<RefreshToken | undefined> {
    const fields = (await this.#find([this.#key('rt', hash)], [this.prefix])) as string[] | null;
    if (!fields) return undefined;
    const [familyId = '', userId = '', exp, created, consumed, revoked] = fields;
    return {
      hash,
      familyId,
      userId,
      expiresAt: new Date(Number(exp)),
      createdAt: new Date(Number(created)),
      consumedAt: consumed ? new Date(Number(consumed)) : null,
      revokedAt: revoked ? new Date(Number(revoked)) : null,
    };
  }

  async rotate(parentHash: string, successor: RefreshToken, now: Date): Promise<boolean> {
    const rotated = await this.#rotate(
      [this.#key('rt', parentHash), this.#key('rt', successor.hash)],
      [now.getTime(), this.prefix, successor.familyId, successor.userId, successor.expiresAt.getTime(), successor.createdAt.getTime(), keyExpiry(successor)],
    );
    return rotated === 1;
  }

  async revokeFamily(familyId: string, now: Date): Promise<void> {
    await this.#revokeFamily([this.#key('fam', familyId)], [now.getTime()]);
  }

  async revokeAllForUser(userId: string, now: Date): Promise<void> {
    await this.#revokeUser([this.#key('user', userId)], [now.getTime(), this.prefix]);
  }

  /** Every key already expires RETENTION_MS after its token: nothing to sweep. */
  async deleteExpired(): Promise<void> {}

  async ping(): Promise<void> {
    await guardedRedis(() => this.redis.ping());
  }

  #key(kind: 'rt' | 'fam' | 'user', id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }
}

function keyExpiry(token: RefreshToken): number {
  return token.expiresAt.getTime() + RETENTION_MS;
}

function ms(date: Date | null): string | number {
  return date ? date.getTime() : '';
}
