import type { PasswordPolicy } from '../domain/password-policy.js';
import type {
  Clock,
  IdGenerator,
  PasswordHasher,
  RateLimiter,
  RefreshSecrets,
  TokenSigner,
  TokenStore,
  UserStore,
} from './ports.js';

/** The rules of this deployment that the use cases apply (from configuration). */
export interface AuthSettings {
  refreshTokenTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  registrationEnabled: boolean;
  lockoutThreshold: number;
  ipRateLimitPerMinute: number;
  passwordPolicy: PasswordPolicy;
}

/** Every port and setting, wired by hand in `src/main.ts`. */
export interface Deps {
  users: UserStore;
  tokens: TokenStore;
  hasher: PasswordHasher;
  signer: TokenSigner;
  secrets: RefreshSecrets;
  clock: Clock;
  ids: IdGenerator;
  limiter: RateLimiter;
  settings: AuthSettings;
}

export type SecurityEvent =
  | 'user_registered'
  | 'login_succeeded'
  | 'login_failed'
  | 'login_locked'
  | 'login_weak_password'
  | 'refresh_reused'
  | 'role_changed'
  | 'password_changed'
  | 'password_change_failed'
  | 'admin_created';

/** Structured security log. Never give it passwords, tokens or hashes. */
export interface AuditLog {
  record(event: SecurityEvent, fields: Record<string, string | number | undefined>): void;
}

/** Who is asking: passed by the inbound adapter with each call. */
export interface RequestContext {
  ip: string;
  audit: AuditLog;
}
