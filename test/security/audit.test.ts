import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectError, login, loginAdmin, refreshWith, registerUser } from '../support/flows.js';
import type { Reply } from '../support/flows.js';
import { ADMIN_PASSWORD, send, uniqueEmail } from '../support/server.js';
import { capturingLogger, startInProcess } from './support.js';
import type { InProcessServer } from './support.js';

// Security events are structured log lines (pino JSON with `audit`, `reqId`, `ip`,
// `userId` where known), and no secret ever reaches the log.

const capture = capturingLogger();
let server: InProcessServer;
let api: string;

beforeAll(async () => {
  server = await startInProcess({ AUTH_IP_RATE_LIMIT: '0', AUTH_LOCKOUT_THRESHOLD: '2' }, capture.logger);
  api = server.api;
});
afterAll(() => server?.stop());

interface AuditLine {
  audit: string;
  reqId?: string;
  ip?: string;
  userId?: string;
  [field: string]: unknown;
}

function auditLines(): AuditLine[] {
  return capture.lines.map((line) => JSON.parse(line)).filter((entry) => typeof entry.audit === 'string');
}

/** The one audit line of `event` written while answering `reply`. */
function eventOf(reply: Reply, event: string): AuditLine {
  const reqId = reply.headers.get('x-request-id');
  expect(reqId).toBeTruthy();
  const matches = auditLines().filter((line) => line.audit === event && line.reqId === reqId);
  expect(matches, `${event} for request ${reqId}`).toHaveLength(1);
  return matches[0] as AuditLine;
}

it('records each security event with its request id, client IP and user id, and never a secret', async () => {
  const secrets: string[] = [ADMIN_PASSWORD];
  const account = await registerUser(api);
  secrets.push(account.password);

  const succeeded = await send(`${api}/login`, { email: account.email, password: account.password });
  expect(succeeded.status).toBe(200);
  secrets.push(succeeded.body.access_token, succeeded.body.refresh_token);
  expect(eventOf(succeeded, 'login_succeeded')).toMatchObject({ userId: account.id, ip: '127.0.0.1' });

  const wrongPassword = 'a-wrong-Guess-5512';
  secrets.push(wrongPassword);
  const failed = await send(`${api}/login`, { email: account.email, password: wrongPassword });
  expectError(failed, 401, 'invalid_credentials');
  expect(eventOf(failed, 'login_failed')).toMatchObject({ userId: account.id, ip: '127.0.0.1' });

  const ghostFailed = await send(`${api}/login`, { email: uniqueEmail('ghost'), password: wrongPassword });
  expect(eventOf(ghostFailed, 'login_failed')).toMatchObject({ ip: '127.0.0.1' });

  expectError(await send(`${api}/login`, { email: account.email, password: wrongPassword }), 401, 'invalid_credentials');
  const locked = await send(`${api}/login`, { email: account.email, password: account.password });
  expectError(locked, 429, 'too_many_requests');
  expect(eventOf(locked, 'login_locked')).toMatchObject({ ip: '127.0.0.1' });

  const rotated = await refreshWith(api, succeeded.body.refresh_token);
  expect(rotated.status).toBe(200);
  secrets.push(rotated.body.access_token, rotated.body.refresh_token);
  const reused = await refreshWith(api, succeeded.body.refresh_token);
  expectError(reused, 401, 'token_reused');
  expect(eventOf(reused, 'refresh_reused')).toMatchObject({ userId: account.id, ip: '127.0.0.1' });

  const admin = await loginAdmin(api);
  secrets.push(admin.accessToken, admin.refreshToken);
  const promoted = await send(`${api}/users/${account.id}/role`, { role: 'operator' }, { method: 'PUT', token: admin.accessToken });
  expect(promoted.status).toBe(200);
  expect(eventOf(promoted, 'role_changed')).toMatchObject({ userId: account.id, actorId: admin.id, ip: '127.0.0.1' });

  await new Promise((resolve) => setTimeout(resolve, 1_100)); // wait out the 1 s lock
  const session = await login(api, account.email, account.password);
  secrets.push(session.accessToken, session.refreshToken);
  const newPassword = 'a-brand-New-Secret-8841';
  secrets.push(newPassword);
  // Two wrong old passwords reach the lockout threshold (2), as failed logins would.
  for (let guess = 0; guess < 2; guess++) {
    const guessed = await send(`${api}/me/password`, { old_password: wrongPassword, new_password: newPassword }, { token: session.accessToken });
    expectError(guessed, 400, 'invalid_credentials');
    expect(eventOf(guessed, 'password_change_failed')).toMatchObject({ userId: account.id, ip: '127.0.0.1' });
  }
  const guessLocked = await send(`${api}/me/password`, { old_password: account.password, new_password: newPassword }, { token: session.accessToken });
  expectError(guessLocked, 429, 'too_many_requests');
  expect(eventOf(guessLocked, 'login_locked')).toMatchObject({ userId: account.id, ip: '127.0.0.1' });
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // wait out the 1 s lock

  const changed = await send(`${api}/me/password`, { old_password: account.password, new_password: newPassword }, { token: session.accessToken });
  expect(changed.status).toBe(200);
  expect(eventOf(changed, 'password_changed')).toMatchObject({ userId: account.id, ip: '127.0.0.1' });

  // Every line is JSON, and none carries a password, a token or a hash.
  expect(capture.lines.length).toBeGreaterThan(0);
  for (const line of capture.lines) expect(() => JSON.parse(line)).not.toThrow();
  const leaks = capture.lines.filter((line) => secrets.some((secret) => line.includes(secret)) || line.includes('$argon2') || line.includes('$2b$'));
  expect(leaks).toEqual([]);
});

it('takes the request id from a sane X-Request-Id, and never a hostile one', async () => {
  const account = await registerUser(api);
  const tagged = await send(`${api}/login`, { email: account.email, password: account.password }, { headers: { 'x-request-id': 'trace-abc.123' } });
  expect(tagged.headers.get('x-request-id')).toBe('trace-abc.123');
  expect(eventOf(tagged, 'login_succeeded').userId).toBe(account.id);

  // A forged log line in the header must not reach the log as one.
  const forged = 'x\n{"audit":"login_succeeded","userId":"someone-else"}';
  const hostile = await send(`${api}/login`, { email: account.email, password: account.password }, { headers: { 'x-request-id': encodeURIComponent(forged) } });
  expect(hostile.status).toBe(200);
  expect(hostile.headers.get('x-request-id')).not.toContain('audit');
  expect(auditLines().filter((line) => line.userId === 'someone-else')).toEqual([]);
});
