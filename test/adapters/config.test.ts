import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, unreadYamlKeys } from '../../src/adapters/config/config.js';
import cores from '../../src/adapters/config/cores.cjs';
import type { Config } from '../../src/adapters/config/config.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pico-auth-config-'));
}

/** A fresh working directory holding `application.yaml` with the given text. */
function dirWithYaml(yaml: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'application.yaml'), yaml);
  return dir;
}

/** The ConfigError loadConfig throws, so tests can assert on its message. */
function configError(env: Record<string, string | undefined>, cwd: string): ConfigError {
  try {
    loadConfig(env, cwd);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  it('uses the SPEC defaults when there is no env and no file', () => {
    const config = loadConfig({}, tempDir());
    expect(config).toEqual<Config>({
      server: { port: 8100, host: '0.0.0.0', trustProxy: 0, workers: cores.usableCores() },
      database: { url: 'sqlite:auth.db' },
      redis: { url: undefined, prefix: 'pico-auth:' },
      auth: {
        dataDir: join(homedir(), '.pico-auth'),
        issuer: 'http://localhost:8100',
        audience: 'pico-bot',
        accessTokenExpireMinutes: 15,
        refreshTokenExpireDays: 7,
        algorithm: 'RS256',
        autoCreateAdmin: true,
        adminEmail: 'admin@pico.local',
        adminPassword: undefined,
        registrationEnabled: true,
        passwordMinLength: 8,
        refreshReuseGraceSeconds: 0,
        ipRateLimit: 120,
        lockoutThreshold: 5,
      },
      log: { level: 'info' },
    });
  });

  it('reads a pico-auth application.yaml as is, ignoring keys it does not know', () => {
    const cwd = dirWithYaml(
      [
        'auth:',
        '  issuer: https://auth.example.com/',
        '  access_token_expire_minutes: 30',
        '  some_python_only_setting: 42',
        'database:',
        '  url: sqlite+aiosqlite:///auth.db',
        'pico:',
        '  scan: [app]',
        '',
      ].join('\n'),
    );
    const config = loadConfig({}, cwd);
    expect(config.auth.issuer).toBe('https://auth.example.com');
    expect(config.auth.accessTokenExpireMinutes).toBe(30);
    expect(config.database.url).toBe('sqlite+aiosqlite:///auth.db');
    expect(config.auth.refreshTokenExpireDays).toBe(7); // untouched keys keep their defaults
  });

  it('lists the keys of its own YAML sections that no setting reads, and not other sections', () => {
    const cwd = dirWithYaml(['auth:', '  acess_token_expire_minutes: 5', '  issuer: https://a.example', 'server:', '  prot: 9000', 'pico:', '  scan: [app]', ''].join('\n'));
    expect(unreadYamlKeys({}, cwd)).toEqual(['server.prot', 'auth.acess_token_expire_minutes']);
    expect(unreadYamlKeys({}, dirWithYaml('auth:\n  issuer: https://a.example\nlog:\n  level: warn\n'))).toEqual([]);
    expect(unreadYamlKeys({}, tempDir())).toEqual([]);
  });

  it('lets env override YAML, and YAML override defaults', () => {
    const cwd = dirWithYaml('server:\n  port: 9000\n  host: 127.0.0.1\nauth:\n  audience: from-yaml\n');
    const config = loadConfig({ PORT: '9100', AUTH_ISSUER: 'https://env.example.com' }, cwd);
    expect(config.server.port).toBe(9100); // env beats YAML
    expect(config.server.host).toBe('127.0.0.1'); // YAML beats default
    expect(config.auth.audience).toBe('from-yaml');
    expect(config.auth.issuer).toBe('https://env.example.com'); // env beats default
    expect(config.log.level).toBe('info'); // default
  });

  it('maps every env var to its setting', () => {
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '::',
        DATABASE_URL: 'postgres://db/auth',
        REDIS_URL: 'redis://cache:6379',
        REDIS_PREFIX: 'x:',
        AUTH_DATA_DIR: '/var/lib/pico',
        AUTH_ISSUER: 'https://i.example',
        AUTH_AUDIENCE: 'aud',
        AUTH_ACCESS_TOKEN_EXPIRE_MINUTES: '5',
        AUTH_REFRESH_TOKEN_EXPIRE_DAYS: '0.5',
        AUTH_ALGORITHM: 'EdDSA',
        AUTH_AUTO_CREATE_ADMIN: 'no',
        AUTH_ADMIN_EMAIL: 'root@example.com',
        AUTH_ADMIN_PASSWORD: 'correct horse battery',
        AUTH_REGISTRATION_ENABLED: 'FALSE',
        AUTH_PASSWORD_MIN_LENGTH: '12',
        AUTH_REFRESH_REUSE_GRACE_SECONDS: '2.5',
        AUTH_IP_RATE_LIMIT: '0',
        AUTH_LOCKOUT_THRESHOLD: '100',
        AUTH_TRUST_PROXY: '2',
        WORKERS: '3',
        LOG_LEVEL: 'debug',
      },
      tempDir(),
    );
    expect(config).toEqual<Config>({
      server: { port: 0, host: '::', trustProxy: 2, workers: 3 },
      database: { url: 'postgres://db/auth' },
      redis: { url: 'redis://cache:6379', prefix: 'x:' },
      auth: {
        dataDir: '/var/lib/pico',
        issuer: 'https://i.example',
        audience: 'aud',
        accessTokenExpireMinutes: 5,
        refreshTokenExpireDays: 0.5,
        algorithm: 'EdDSA',
        autoCreateAdmin: false,
        adminEmail: 'root@example.com',
        adminPassword: 'correct horse battery',
        registrationEnabled: false,
        passwordMinLength: 12,
        refreshReuseGraceSeconds: 2.5,
        ipRateLimit: 0,
        lockoutThreshold: 100,
      },
      log: { level: 'debug' },
    });
  });

  it('maps every YAML key to its setting', () => {
    const cwd = dirWithYaml(`
server: { port: 8200, host: 10.0.0.1, trust_proxy: true, workers: 1 }
database: { url: 'sqlite:////var/auth.db' }
redis: { url: 'redis://r', prefix: 'p:' }
auth:
  data_dir: keys
  issuer: https://y.example//
  audience: y-aud
  access_token_expire_minutes: 0.05
  refresh_token_expire_days: 1
  algorithm: ES256
  auto_create_admin: false
  admin_email: a@y.example
  admin_password: 'yaml password'
  registration_enabled: "no"
  password_min_length: 10
  refresh_reuse_grace_seconds: 3
  ip_rate_limit: 60
  lockout_threshold: 0
log: { level: warn }
`);
    expect(loadConfig({}, cwd)).toEqual<Config>({
      server: { port: 8200, host: '10.0.0.1', trustProxy: 1, workers: 1 },
      database: { url: 'sqlite:////var/auth.db' },
      redis: { url: 'redis://r', prefix: 'p:' },
      auth: {
        dataDir: 'keys',
        issuer: 'https://y.example',
        audience: 'y-aud',
        accessTokenExpireMinutes: 0.05,
        refreshTokenExpireDays: 1,
        algorithm: 'ES256',
        autoCreateAdmin: false,
        adminEmail: 'a@y.example',
        adminPassword: 'yaml password',
        registrationEnabled: false,
        passwordMinLength: 10,
        refreshReuseGraceSeconds: 3,
        ipRateLimit: 60,
        lockoutThreshold: 0,
      },
      log: { level: 'warn' },
    });
  });

  it('reads the file named by AUTH_CONFIG, relative to cwd, instead of application.yaml', () => {
    const cwd = dirWithYaml('auth:\n  audience: from-cwd-file\n');
    mkdirSync(join(cwd, 'conf'));
    writeFileSync(join(cwd, 'conf', 'prod.yaml'), 'auth:\n  audience: from-named-file\n');
    expect(loadConfig({ AUTH_CONFIG: 'conf/prod.yaml' }, cwd).auth.audience).toBe('from-named-file');

    const elsewhere = join(tempDir(), 'auth.yml');
    writeFileSync(elsewhere, 'auth:\n  audience: absolute\n');
    expect(loadConfig({ AUTH_CONFIG: elsewhere }, tempDir()).auth.audience).toBe('absolute');
  });

  it('stops when the AUTH_CONFIG file is missing', () => {
    const cwd = tempDir();
    const err = configError({ AUTH_CONFIG: 'nope.yaml' }, cwd);
    expect(err.message).toContain('AUTH_CONFIG');
    expect(err.message).toContain(join(cwd, 'nope.yaml'));
  });

  it('names the file when the YAML does not parse, in one line', () => {
    const cwd = dirWithYaml('auth:\n  issuer: [unclosed\n');
    const err = configError({}, cwd);
    expect(err.message).toContain(join(cwd, 'application.yaml'));
    expect(err.message).not.toContain('\n');
  });

  it('treats an empty file and empty sections as absent', () => {
    expect(loadConfig({}, dirWithYaml('')).server.port).toBe(8100);
    const config = loadConfig({}, dirWithYaml('redis:\n  url:\nauth:\n'));
    expect(config.redis.url).toBeUndefined();
    expect(config.auth.audience).toBe('pico-bot');
  });

  it('treats an empty REDIS_URL or AUTH_ADMIN_PASSWORD as unset, even over YAML', () => {
    const cwd = dirWithYaml('redis:\n  url: redis://r\nauth:\n  admin_password: secret-from-yaml\n');
    const config = loadConfig({ REDIS_URL: '', AUTH_ADMIN_PASSWORD: '' }, cwd);
    expect(config.redis.url).toBeUndefined();
    expect(config.auth.adminPassword).toBeUndefined();
  });

  it('accepts fractional expiries', () => {
    const config = loadConfig({ AUTH_ACCESS_TOKEN_EXPIRE_MINUTES: '0.05', AUTH_REFRESH_TOKEN_EXPIRE_DAYS: '.5' }, tempDir());
    expect(config.auth.accessTokenExpireMinutes).toBe(0.05);
    expect(config.auth.refreshTokenExpireDays).toBe(0.5);
  });

  it('removes trailing slashes from the issuer', () => {
    expect(loadConfig({ AUTH_ISSUER: 'https://auth.example.com/' }, tempDir()).auth.issuer).toBe(
      'https://auth.example.com',
    );
    expect(loadConfig({ AUTH_ISSUER: 'https://a.example/base//' }, tempDir()).auth.issuer).toBe('https://a.example/base');
  });

  it('expands ~ in the data dir', () => {
    expect(loadConfig({ AUTH_DATA_DIR: '~/keys' }, tempDir()).auth.dataDir).toBe(join(homedir(), 'keys'));
  });

  it.each([
    ['true', 1],
    ['FALSE', 0],
    ['yes', 1],
    ['0', 0],
    ['3', 3],
  ])('reads AUTH_TRUST_PROXY=%s as %i hops', (value, hops) => {
    expect(loadConfig({ AUTH_TRUST_PROXY: value }, tempDir()).server.trustProxy).toBe(hops);
  });

  it.each([
    ['Yes', true],
    ['1', true],
    ['TRUE', true],
    ['no', false],
    ['0', false],
    ['False', false],
  ])('reads boolean %s as %s', (value, expected) => {
    expect(loadConfig({ AUTH_REGISTRATION_ENABLED: value }, tempDir()).auth.registrationEnabled).toBe(expected);
  });

  it('accepts Python log level names', () => {
    expect(loadConfig({ LOG_LEVEL: 'WARNING' }, tempDir()).log.level).toBe('warn');
    expect(loadConfig({}, dirWithYaml('log:\n  level: INFO\n')).log.level).toBe('info');
  });

  describe('rejects invalid values with one line naming the key', () => {
    it.each([
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', 'abc'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', ''],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', '12abc'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', 'NaN'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', 'Infinity'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', '0x10'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', '0'],
      ['AUTH_REFRESH_TOKEN_EXPIRE_DAYS', '-1'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', '1441'],
      ['AUTH_ACCESS_TOKEN_EXPIRE_MINUTES', '99999999999'],
      ['AUTH_REFRESH_TOKEN_EXPIRE_DAYS', '3651'],
      ['AUTH_REFRESH_TOKEN_EXPIRE_DAYS', '1000000000'],
      ['AUTH_ALGORITHM', 'HS256'],
      ['AUTH_LOCKOUT_THRESHOLD', '101'],
      ['AUTH_LOCKOUT_THRESHOLD', '2.5'],
      ['AUTH_AUTO_CREATE_ADMIN', 'maybe'],
      ['AUTH_REGISTRATION_ENABLED', ''],
      ['PORT', '65536'],
      ['PORT', '80.5'],
      ['AUTH_PASSWORD_MIN_LENGTH', '0'],
      ['AUTH_PASSWORD_MIN_LENGTH', '1025'],
      ['AUTH_IP_RATE_LIMIT', '-5'],
      ['AUTH_REFRESH_REUSE_GRACE_SECONDS', '-0.1'],
      ['AUTH_TRUST_PROXY', '-1'],
      ['AUTH_TRUST_PROXY', 'sometimes'],
      ['WORKERS', '0'],
      ['WORKERS', '1.5'],
      ['LOG_LEVEL', 'verbose'],
      ['AUTH_ISSUER', '/'],
      ['AUTH_ISSUER', 'auth.example.com'],
      ['AUTH_ISSUER', 'ftp://auth.example.com'],
      ['AUTH_ISSUER', 'https://auth.example.com/?tenant=1'],
      ['AUTH_ISSUER', 'https://auth.example.com/#top'],
      ['AUTH_ISSUER', 'https://auth.example.com /x'],
      ['AUTH_AUDIENCE', ''],
      ['DATABASE_URL', '   '],
      ['AUTH_ADMIN_EMAIL', `${'a'.repeat(250)}@x.io`],
    ])('%s=%j', (key, value) => {
      const err = configError({ [key]: value }, tempDir());
      expect(err.message).toMatch(new RegExp(`^Invalid configuration: ${key} must be .* \\(got .*\\)$`));
      expect(err.message).not.toContain('\n');
    });

    it('does not show an issuer that holds a password', () => {
      expect(configError({ AUTH_ISSUER: 'https://admin:hunter2@auth.example.com' }, tempDir()).message).toBe(
        'Invalid configuration: AUTH_ISSUER must be a URL without a user name or password (got a value not shown here)',
      );
      for (const issuer of ['https://admin:hunter2@auth.example.com/?x=1', 'ftp://admin:hunter2@auth.example.com', 'admin:hunter2@auth.example.com']) {
        const message = configError({ AUTH_ISSUER: issuer }, tempDir()).message;
        expect(message).toMatch(/^Invalid configuration: AUTH_ISSUER must be /);
        expect(message).not.toContain('hunter2');
      }
    });

    it('checks AUTH_ADMIN_EMAIL only when the admin may be created', () => {
      const tooLong = `${'a'.repeat(250)}@x.io`;
      expect(loadConfig({ AUTH_ADMIN_EMAIL: tooLong, AUTH_AUTO_CREATE_ADMIN: 'false' }, tempDir()).auth.adminEmail).toBe(tooLong);
    });

    it("leaves AUTH_ADMIN_EMAIL's shape to the admin's creation: pico-auth's admin may exist under any address", () => {
      expect(loadConfig({ AUTH_ADMIN_EMAIL: 'admin@localhost' }, tempDir()).auth.adminEmail).toBe('admin@localhost');
    });

    it('quotes the bad value', () => {
      expect(configError({ AUTH_ACCESS_TOKEN_EXPIRE_MINUTES: 'abc' }, tempDir()).message).toBe(
        'Invalid configuration: AUTH_ACCESS_TOKEN_EXPIRE_MINUTES must be a positive number up to 1440 (got "abc")',
      );
    });

    it('names the YAML key and file when the bad value came from the file', () => {
      const cwd = dirWithYaml('auth:\n  lockout_threshold: 101\n');
      const err = configError({}, cwd);
      expect(err.message).toBe(
        `Invalid configuration: auth.lockout_threshold in ${join(cwd, 'application.yaml')} must be an integer from 0 to 100 (got 101)`,
      );
    });

    it('rejects a YAML value of the wrong shape', () => {
      const err = configError({}, dirWithYaml('auth:\n  audience: [a, b]\n'));
      expect(err.message).toMatch(/auth\.audience in .* must be a non-empty string \(got a list\)$/);
    });

    it('rejects a YAML section that is not a mapping', () => {
      const err = configError({}, dirWithYaml('auth: yes please\n'));
      expect(err.message).toMatch(/^Invalid configuration: auth in .*application\.yaml must be a mapping$/);
    });

    it('keeps a multi-line value on one line', () => {
      const err = configError({ AUTH_ALGORITHM: 'RS256\nES256' }, tempDir());
      expect(err.message).not.toContain('\n');
      expect(err.message).toContain('AUTH_ALGORITHM');
    });
  });
});
