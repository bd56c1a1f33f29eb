import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { lookupEmail } from '../../domain/email.js';
import { MAX_PASSWORD_LENGTH } from '../../domain/password-policy.js';
import cores from './cores.cjs';

/** JWT signing algorithms the server can use (SPEC §2). */
export type Algorithm = 'RS256' | 'ES256' | 'EdDSA';

/** Everything the server reads at start-up (SPEC §2), already validated. */
export interface Config {
  /** `trustProxy` is the number of trusted reverse-proxy hops: `false` is 0, `true` is 1. */
  server: { port: number; host: string; trustProxy: number; workers: number };
  /** The URL as written; it is parsed where the database is opened. */
  database: { url: string };
  redis: { url: string | undefined; prefix: string };
  auth: {
    /** Absolute when given as `~` or `~/…`; other paths are kept as written. */
    dataDir: string;
    /** Without trailing slashes, so `iss` and the discovery URLs agree. */
    issuer: string;
    audience: string;
    accessTokenExpireMinutes: number;
    refreshTokenExpireDays: number;
    algorithm: Algorithm;
    autoCreateAdmin: boolean;
    adminEmail: string;
    adminPassword: string | undefined;
    registrationEnabled: boolean;
    passwordMinLength: number;
    refreshReuseGraceSeconds: number;
    /** Requests per minute per client IP; 0 turns the limit off. */
    ipRateLimit: number;
    /** Failed logins before backoff; 0 turns lockout off. */
    lockoutThreshold: number;
  };
  log: { level: string };
}

/** Invalid configuration. The message is one line naming the bad key, fit to print and exit. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

// ---------------------------------------------------------------------------
// Parsers: each turns a raw value (an env string, or whatever YAML produced) into a
// typed one, or throws Rejected with what the value must be. The caller adds the key.

type Parser<T> = (raw: unknown) => T;

class Rejected extends Error {
  /** `conceal`: the value may hold a secret, so the message does not show it. */
  constructor(
    message: string,
    readonly conceal = false,
  ) {
    super(message);
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

/** Strict: `Number('')` is 0 and `Number('0x10')` is 16, so strings must look decimal. */
function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string' || !DECIMAL.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

function toBoolean(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const word = String(raw).trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : undefined;
}

function numberWhere(what: string, ok: (n: number) => boolean): Parser<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || !ok(n)) throw new Rejected(`must be ${what}`);
    return n;
  };
}

function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return numberWhere(what, (n) => Number.isInteger(n) && n >= min && n <= max);
}

/** A positive number up to `max`: a lifetime beyond it is a typo, and one past what a Date holds failed every login. */
function positiveUpTo(max: number): Parser<number> {
  return numberWhere(`a positive number up to ${max}`, (n) => n > 0 && n <= max);
}

/** Access tokens live minutes (RFC 8725, ASVS V3): a day at most. */
const MAX_ACCESS_TOKEN_MINUTES = 24 * 60;
/** Ten years at most. */
const MAX_REFRESH_TOKEN_DAYS = 3650;
const nonNegative = numberWhere('a number >= 0', (n) => n >= 0);

const boolean: Parser<boolean> = (raw) => {
  const flag = toBoolean(raw);
  if (flag === undefined) throw new Rejected('must be true, false, yes, no, 1 or 0');
  return flag;
};

/** YAML may hand us a number (`admin_password: 12345678`); take it as the text it was. */
const text: Parser<string> = (raw) => {
  const value = typeof raw === 'number' ? String(raw) : raw;
  if (typeof value !== 'string' || value.trim() === '') throw new Rejected('must be a non-empty string');
  return value;
};

/** Empty means unset, so `REDIS_URL=` in a compose file turns Redis off rather than failing. */
const optionalText: Parser<string | undefined> = (raw) => (raw === undefined || raw === '' ? undefined : text(raw));

/** The prefix may legitimately be empty (a Redis database of its own). */
const anyText: Parser<string> = (raw) => (raw === '' ? '' : text(raw));

function oneOf<T extends string>(values: readonly T[], aliases: Record<string, T> = {}): Parser<T> {
  return (raw) => {
    const word = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    const found = values.find((v) => v.toLowerCase() === word) ?? aliases[word];
    if (found === undefined) throw new Rejected(`must be one of ${values.join(', ')}`);
    return found;
  };
}

/**
 * The admin's email, checked only when the admin may be created: its length here, its
 * shape only if no account has it yet (bootstrapAdmin), since pico-auth never checked one.
 */
const email: Parser<string> = (raw) => {
  const value = text(raw);
  try {
    lookupEmail(value);
  } catch {
    throw new Rejected('must be an email address of at most 254 characters');
  }
  return value;
};

/**
 * Every token's `iss` and the base of the discovery document: an http(s) URL with no
 * query or fragment (OpenID Connect Discovery §3), kept as written but for trailing
 * slashes. Anything else would start a server whose tokens no client can match.
 */
const issuer: Parser<string> = (raw) => {
  const value = text(text(raw).replace(/\/+$/, ''));
  const what = 'an http or https URL with no spaces, query or fragment, such as https://auth.example.com';
  // A value with an @ may hold a password (`user:pw@host`), so no message shows it.
  const conceal = value.includes('@');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Rejected(`must be ${what}`, conceal);
  }
  if (url.username || url.password) throw new Rejected('must be a URL without a user name or password', true);
  if (!['http:', 'https:'].includes(url.protocol) || /[\s?#]/.test(value)) throw new Rejected(`must be ${what}`, conceal);
  return value;
};

const dataDir: Parser<string> = (raw) => {
  const dir = text(raw);
  return dir === '~' || dir.startsWith('~/') ? join(homedir(), dir.slice(1)) : dir;
};

/** `true`/`false` as pico-auth wrote it, or an explicit number of hops. */
const trustProxy: Parser<number> = (raw) => {
  const flag = toBoolean(raw);
  if (flag !== undefined) return flag ? 1 : 0;
  const hops = toNumber(raw);
  if (hops === undefined || !Number.isInteger(hops) || hops < 0) {
    throw new Rejected('must be true, false or a number of proxy hops (an integer >= 0)');
  }
  return hops;
};

const ALGORITHMS: readonly Algorithm[] = ['RS256', 'ES256', 'EdDSA'];
// Python logging names are accepted too, so a pico-auth file keeps working.
const logLevel = oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  warning: 'warn',
  critical: 'fatal',
});

// ---------------------------------------------------------------------------
// The settings table: the one place that says where each value comes from.
// Defaults are written as SPEC §2 writes them and go through the same parser.

interface Setting<T> {
  env: string;
  /** Dotted path in application.yaml, in the Python pico-auth layout. */
  yaml: string;
  default: string | number | boolean | undefined;
  parse: Parser<T>;
}

function setting<T>(env: string, yaml: string, fallback: Setting<T>['default'], parse: Parser<T>): Setting<T> {
  return { env, yaml, default: fallback, parse };
}

const SETTINGS = {
  server: {
    port: setting('PORT', 'server.port', 8100, integerIn(0, 65535)),
    host: setting('HOST', 'server.host', '0.0.0.0', text),
    trustProxy: setting('AUTH_TRUST_PROXY', 'server.trust_proxy', false, trustProxy),
    workers: setting('WORKERS', 'server.workers', cores.usableCores(), integerIn(1, 256)),
  },
  database: {
    url: setting('DATABASE_URL', 'database.url', 'sqlite:auth.db', text),
  },
  redis: {
    url: setting('REDIS_URL', 'redis.url', undefined, optionalText),
    prefix: setting('REDIS_PREFIX', 'redis.prefix', 'pico-auth:', anyText),
  },
  auth: {
    dataDir: setting('AUTH_DATA_DIR', 'auth.data_dir', '~/.pico-auth', dataDir),
    issuer: setting('AUTH_ISSUER', 'auth.issuer', 'http://localhost:8100', issuer),
    audience: setting('AUTH_AUDIENCE', 'auth.audience', 'pico-bot', text),
    accessTokenExpireMinutes: setting('AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', 'auth.access_token_expire_minutes', 15, positiveUpTo(MAX_ACCESS_TOKEN_MINUTES)),
    refreshTokenExpireDays: setting('AUTH_REFRESH_TOKEN_EXPIRE_DAYS', 'auth.refresh_token_expire_days', 7, positiveUpTo(MAX_REFRESH_TOKEN_DAYS)),
    algorithm: setting('AUTH_ALGORITHM', 'auth.algorithm', 'RS256', oneOf(ALGORITHMS)),
    autoCreateAdmin: setting('AUTH_AUTO_CREATE_ADMIN', 'auth.auto_create_admin', true, boolean),
    adminEmail: setting('AUTH_ADMIN_EMAIL', 'auth.admin_email', 'admin@pico.local', text),
    adminPassword: setting('AUTH_ADMIN_PASSWORD', 'auth.admin_password', undefined, optionalText),
    registrationEnabled: setting('AUTH_REGISTRATION_ENABLED', 'auth.registration_enabled', true, boolean),
    passwordMinLength: setting('AUTH_PASSWORD_MIN_LENGTH', 'auth.password_min_length', 8, integerIn(1, MAX_PASSWORD_LENGTH)),
    refreshReuseGraceSeconds: setting('AUTH_REFRESH_REUSE_GRACE_SECONDS', 'auth.refresh_reuse_grace_seconds', 0, nonNegative),
    ipRateLimit: setting('AUTH_IP_RATE_LIMIT', 'auth.ip_rate_limit', 120, integerIn(0)),
    lockoutThreshold: setting('AUTH_LOCKOUT_THRESHOLD', 'auth.lockout_threshold', 5, integerIn(0, 100)),
  },
  log: {
    level: setting('LOG_LEVEL', 'log.level', 'info', logLevel),
  },
} satisfies Record<string, Record<string, Setting<unknown>>>;

type Resolved<S> = { [K in keyof S]: { [F in keyof S[K]]: S[K][F] extends Setting<infer T> ? T : never } };

// ---------------------------------------------------------------------------
// Loading.

interface YamlSource {
  file: string;
  data: Record<string, unknown>;
}

/**
 * Reads the configuration: env vars, then the YAML file (`AUTH_CONFIG`, else
 * `application.yaml` in `cwd` if present), then defaults. Throws ConfigError.
 */
export function loadConfig(env: Record<string, string | undefined>, cwd: string): Config {
  const yaml = readYaml(env['AUTH_CONFIG'], cwd);
  const table: Record<string, Record<string, Setting<unknown>>> = SETTINGS;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, fields] of Object.entries(table)) {
    const values: Record<string, unknown> = {};
    for (const [name, s] of Object.entries(fields)) values[name] = resolveSetting(s, env, yaml);
    out[section] = values;
  }
  const config = out as Resolved<typeof SETTINGS>;
  // Checked here, so a bad one stops start-up naming its key, not later at the admin's creation.
  if (config.auth.autoCreateAdmin) resolveSetting({ ...SETTINGS.auth.adminEmail, parse: email }, env, yaml);
  return config;
}

/**
 * Keys in the YAML file's own sections (`server`, `database`, `redis`, `auth`, `log`)
 * that no setting reads, such as `auth.acess_token_expire_minutes`: most likely typos,
 * which leave a default in place without a word. Other sections (a pico-auth file's
 * `pico:`) belong to someone else and are not listed.
 */
export function unreadYamlKeys(env: Record<string, string | undefined>, cwd: string): string[] {
  const yaml = readYaml(env['AUTH_CONFIG'], cwd);
  if (!yaml) return [];
  return Object.entries(SETTINGS).flatMap(([section, fields]) => {
    const node = yaml.data[section];
    if (!isMapping(node)) return [];
    const read = new Set(Object.values(fields).map((s: Setting<unknown>) => s.yaml));
    return Object.keys(node)
      .map((key) => `${section}.${key}`)
      .filter((path) => !read.has(path));
  });
}

function resolveSetting<T>(s: Setting<T>, env: Record<string, string | undefined>, yaml: YamlSource | undefined): T {
  const fromEnv = env[s.env];
  if (fromEnv !== undefined) return parseAs(s, fromEnv, s.env);
  if (yaml !== undefined) {
    const fromYaml = lookup(yaml, s.yaml);
    // `url:` with nothing after it is null in YAML: treat it as absent, as pico-auth does.
    if (fromYaml !== undefined && fromYaml !== null) return parseAs(s, fromYaml, `${s.yaml} in ${yaml.file}`);
  }
  return parseAs(s, s.default, `${s.yaml} (default)`);
}

function parseAs<T>(s: Setting<T>, raw: unknown, where: string): T {
  try {
    return s.parse(raw);
  } catch (err) {
    if (!(err instanceof Rejected)) throw err;
    throw new ConfigError(`Invalid configuration: ${where} ${err.message} (got ${err.conceal ? 'a value not shown here' : describe(raw)})`);
  }
}

function lookup(yaml: YamlSource, path: string): unknown {
  let node: unknown = yaml.data;
  const keys = path.split('.');
  for (const [i, key] of keys.entries()) {
    if (node === undefined || node === null) return undefined;
    if (!isMapping(node)) {
      throw new ConfigError(`Invalid configuration: ${keys.slice(0, i).join('.')} in ${yaml.file} must be a mapping`);
    }
    node = node[key];
  }
  return node;
}

function readYaml(named: string | undefined, cwd: string): YamlSource | undefined {
  const file = resolve(cwd, named || 'application.yaml');
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !named) return undefined; // the default file is optional; a named one is not
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(`Invalid configuration: ${named ? 'AUTH_CONFIG file' : 'file'} ${file} ${why}`, { cause: err });
  }
  let data: unknown;
  try {
    data = parse(source);
  } catch (err) {
    // yaml's messages carry a multi-line code frame; the first line has the position.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new ConfigError(`Invalid configuration: ${file} is not valid YAML: ${first}`, { cause: err });
  }
  if (data === null || data === undefined) return { file, data: {} }; // an empty file
  if (!isMapping(data)) throw new ConfigError(`Invalid configuration: ${file} must be a YAML mapping of settings`);
  return { file, data };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One line, short, whatever the value was. */
function describe(raw: unknown): string {
  if (Array.isArray(raw)) return 'a list';
  if (isMapping(raw)) return 'a mapping';
  const shown = typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}
