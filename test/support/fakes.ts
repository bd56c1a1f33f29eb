/**
 * Honest, deterministic stand-ins for the ports the in-memory adapters do not cover, and
 * `makeDeps()` to wire them for the use-case tests of test/application. Each fake really
 * does its job (a clock that tells the set time, a hasher whose hashes verify), so a test
 * asserts what the stores now hold, never which function was called.
 */
import { CLOCK_TOLERANCE_SECONDS } from '../../src/adapters/crypto/jose-signer.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { MemoryTokenStore } from '../../src/adapters/memory/memory-token-store.js';
import { MemoryUserStore } from '../../src/adapters/memory/memory-user-store.js';
import type { AuditLog, AuthSettings, Deps, RequestContext, SecurityEvent } from '../../src/application/deps.js';
import type {
  AccessClaims,
  Clock,
  IdGenerator,
  PasswordHasher,
  RefreshSecrets,
  TokenSigner,
} from '../../src/application/ports.js';
import { InvalidToken, TokenExpired, Unavailable } from '../../src/domain/errors.js';
import type { RefreshToken } from '../../src/domain/refresh-token.js';
import { DEFAULT_ORG } from '../../src/domain/user.js';
import type { User } from '../../src/domain/user.js';

/** Where every fake clock starts. */
export const START = Date.parse('2026-03-01T12:00:00.000Z');

/** Passes the default test policy: long enough and not in `COMMON_PASSWORDS`. */
export const PASSWORD = 'correct-horse-battery';

/** The test policy's "10,000 most common passwords". */
export const COMMON_PASSWORDS = new Set(['password', '12345678', 'qwertyuiop']);

/** A clock that stands still until told to move. */
export class FakeClock implements Clock {
  #t: number;

  constructor(start = START) {
    this.#t = start;
  }

  now(): Date {
    return new Date(this.#t);
  }

  set(at: Date | number): void {
    this.#t = typeof at === 'number' ? at : at.getTime();
  }

  advanceSeconds(seconds: number): void {
    this.#t += seconds * 1000;
  }
}

/** `id-1`, `id-2`, … */
export class SequentialIds implements IdGenerator {
  #n = 0;

  newId(): string {
    this.#n++;
    return `id-${this.#n}`;
  }
}

/**
 * `hash(p)` is `fake$p`; `old$p` stands for a hash of an older kind that still verifies
 * but asks to be replaced. `burns` counts the dummy verifications spent on unknown users.
 */
export class FakeHasher implements PasswordHasher {
  burns = 0;

  async hash(password: string): Promise<string> {
    return `fake$${password}`;
  }

  async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    const ok = hash === `fake$${password}` || hash === `old$${password}`;
    return { ok, rehash: hash.startsWith('old$') };
  }

  async burn(_password: string): Promise<void> {
    this.burns++;
  }
}

/** A hasher that refuses its next `refusals` checks as saturated (503), checking nothing. */
export class SaturatedHasher extends FakeHasher {
  refusals = 0;

  override async verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }> {
    this.#refuseIfSaturated();
    return super.verify(hash, password);
  }

  override async burn(password: string): Promise<void> {
    this.#refuseIfSaturated();
    return super.burn(password);
  }

  #refuseIfSaturated(): void {
    if (this.refusals <= 0) return;
    this.refusals--;
    throw new Unavailable('password hashing');
  }
}

/** Every claim a fake access token carries. */
export interface FakeTokenClaims extends AccessClaims {
  iat: number;
  exp: number;
  jti: string;
}

const ACCESS_PREFIX = 'at.';

/**
 * Access tokens as `at.<base64url JSON>`: readable, unsigned, but with `exp` from the
 * clock, so `verify` refuses what a real signer would refuse (malformed → InvalidToken,
 * from exp + the real signer's clock tolerance on → TokenExpired, both with `bearer` set).
 */
export class FakeSigner implements TokenSigner {
  readonly expiresInSeconds: number;
  readonly #clock: Clock;
  #jti = 0;

  constructor(clock: Clock, expiresInSeconds = 900) {
    this.#clock = clock;
    this.expiresInSeconds = expiresInSeconds;
  }

  async sign(claims: AccessClaims): Promise<string> {
    const iat = Math.floor(this.#clock.now().getTime() / 1000);
    this.#jti++;
    const body: FakeTokenClaims = { ...claims, iat, exp: iat + this.expiresInSeconds, jti: `jti-${this.#jti}` };
    return ACCESS_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url');
  }

  async verify(token: string): Promise<AccessClaims> {
    const claims = this.decode(token);
    if (this.#clock.now().getTime() >= (claims.exp + CLOCK_TOLERANCE_SECONDS) * 1000) throw new TokenExpired(true);
    return { sub: claims.sub, email: claims.email, role: claims.role, org_id: claims.org_id };
  }

  /** Reads a token without checking its expiry: for assertions on what was signed. */
  decode(token: string): FakeTokenClaims {
    if (!token.startsWith(ACCESS_PREFIX)) throw new InvalidToken('Token is invalid', true);
    try {
      return JSON.parse(Buffer.from(token.slice(ACCESS_PREFIX.length), 'base64url').toString('utf8')) as FakeTokenClaims;
    } catch (error) {
      throw new InvalidToken('Token is invalid', true, { cause: error });
    }
  }
}

/**
 * `generate()` gives `rt-000…1`, `rt-000…2`, … (43 characters, the length of the real
 * 256-bit tokens); a successor is its parent plus `.next`; the stored hash is `h:<token>`.
 */
export class FakeRefreshSecrets implements RefreshSecrets {
  #n = 0;

  generate(): string {
    this.#n++;
    return `rt-${String(this.#n).padStart(40, '0')}`;
  }

  successorOf(parent: string): string {
    return `${parent}.next`;
  }

  hashOf(token: string): string {
    return `h:${token}`;
  }
}

export interface AuditEntry {
  event: SecurityEvent;
  fields: Record<string, string | number | undefined>;
}

/** Keeps every security event, in order. */
export class RecordingAuditLog implements AuditLog {
  readonly events: AuditEntry[] = [];

  record(event: SecurityEvent, fields: Record<string, string | number | undefined>): void {
    this.events.push({ event, fields });
  }

  /** The event names alone, in order. */
  get names(): SecurityEvent[] {
    return this.events.map((e) => e.event);
  }
}

/**
 * The in-memory token store, able to list what it holds: it remembers every hash it
 * saved, and reads each back through `findByHash` (so deleted ones drop out).
 */
export class InspectableTokenStore extends MemoryTokenStore {
  readonly #hashes = new Set<string>();

  override async create(token: RefreshToken): Promise<void> {
    await super.create(token);
    this.#hashes.add(token.hash);
  }

  override async rotate(parentHash: string, successor: RefreshToken, now: Date): Promise<boolean> {
    const rotated = await super.rotate(parentHash, successor, now);
    if (rotated) this.#hashes.add(successor.hash);
    return rotated;
  }

  /** Every token still held, in the order they were saved. */
  async all(): Promise<RefreshToken[]> {
    const found = await Promise.all([...this.#hashes].map((hash) => this.findByHash(hash)));
    return found.filter((token): token is RefreshToken => token !== undefined);
  }
}

/**
 * The in-memory user store plus what an admin tool does outside the API: suspending a
 * user. (MemoryUserStore keeps its rows private, so the status is laid over its reads.)
 */
export class EditableUserStore extends MemoryUserStore {
  readonly #suspended = new Set<string>();

  suspend(id: string): void {
    this.#suspended.add(id);
  }

  override async findById(id: string): Promise<User | undefined> {
    return this.#withStatus(await super.findById(id));
  }

  override async list(page: { limit: number; offset: number; orgId?: string }): Promise<{ users: User[]; total: number }> {
    const { users, total } = await super.list(page);
    return { users: users.map((u) => this.#withStatus(u) as User), total };
  }

  #withStatus(user: User | undefined): User | undefined {
    return user && this.#suspended.has(user.id) ? { ...user, status: 'suspended' } : user;
  }
}

/** A user store where a rival request (another instance) creates `competitor` right after the next email look-up. */
export class RacingUserStore extends EditableUserStore {
  competitor: User | undefined;

  override async findByEmail(email: string): Promise<User | undefined> {
    const found = await super.findByEmail(email);
    const competitor = this.competitor;
    this.competitor = undefined;
    if (competitor) await this.create(competitor);
    return found;
  }
}

export const DEFAULT_SETTINGS: AuthSettings = {
  refreshTokenTtlSeconds: 7 * 24 * 60 * 60,
  refreshReuseGraceSeconds: 0,
  registrationEnabled: true,
  lockoutThreshold: 5,
  ipRateLimitPerMinute: 0,
  passwordPolicy: { minLength: 8, isCommon: (p) => COMMON_PASSWORDS.has(p) },
};

/** `Deps` with every port's concrete fake type, so tests can read their state. */
export interface TestDeps extends Deps {
  users: EditableUserStore;
  tokens: InspectableTokenStore;
  hasher: FakeHasher;
  signer: FakeSigner;
  secrets: FakeRefreshSecrets;
  clock: FakeClock;
  ids: SequentialIds;
  limiter: MemoryRateLimiter;
}

export type DepsOverrides = Partial<Omit<TestDeps, 'settings'>> & { settings?: Partial<AuthSettings> };

export function makeDeps(overrides: DepsOverrides = {}): TestDeps {
  const { settings, ...ports } = overrides;
  const clock = ports.clock ?? new FakeClock();
  return {
    users: new EditableUserStore(),
    tokens: new InspectableTokenStore(),
    hasher: new FakeHasher(),
    signer: new FakeSigner(clock),
    secrets: new FakeRefreshSecrets(),
    ids: new SequentialIds(),
    limiter: new MemoryRateLimiter(),
    ...ports,
    clock,
    settings: { ...DEFAULT_SETTINGS, ...settings },
  };
}

export interface TestContext extends RequestContext {
  audit: RecordingAuditLog;
}

export function makeContext(ip = '203.0.113.7'): TestContext {
  return { ip, audit: new RecordingAuditLog() };
}

let seeded = 0;

/**
 * Saves a user straight into the store, with a password that the fake hasher verifies
 * (`password`, default `PASSWORD`) unless `passwordHash` is given.
 */
export async function seedUser(
  deps: Pick<TestDeps, 'users' | 'clock'>,
  overrides: Partial<User> & { password?: string } = {},
): Promise<User> {
  seeded++;
  const { password = PASSWORD, ...fields } = overrides;
  const user: User = {
    id: `user-${seeded}`,
    email: `user-${seeded}@example.com`,
    displayName: `User ${seeded}`,
    passwordHash: `fake$${password}`,
    role: 'viewer',
    orgId: DEFAULT_ORG,
    status: 'active',
    createdAt: deps.clock.now(),
    lastLoginAt: null,
    ...fields,
  };
  await deps.users.create(user);
  return user;
}

/** A live refresh token of a new family for `userId`, saved straight into the store. */
export async function seedRefreshToken(
  deps: Pick<TestDeps, 'tokens' | 'secrets' | 'clock' | 'settings' | 'ids'>,
  userId: string,
  overrides: Partial<RefreshToken> = {},
): Promise<{ token: string; stored: RefreshToken }> {
  const token = deps.secrets.generate();
  const now = deps.clock.now();
  const stored: RefreshToken = {
    hash: deps.secrets.hashOf(token),
    familyId: deps.ids.newId(),
    userId,
    expiresAt: new Date(now.getTime() + deps.settings.refreshTokenTtlSeconds * 1000),
    createdAt: now,
    consumedAt: null,
    revokedAt: null,
    ...overrides,
  };
  await deps.tokens.create(stored);
  return { token, stored };
}
