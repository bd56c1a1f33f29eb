/**
 * Small end-to-end flows shared by the files of test/e2e: register, log in, become an
 * admin, read a reply's error, and edit the server's database where the API has no endpoint
 * (suspension, org moves, deletion).
 */
import { expect } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, get, send, uniqueEmail } from './server.js';
import type { TestServer } from './server.js';

export type Reply = Awaited<ReturnType<typeof send>>;

/** Passes the policy: long enough and not among the common passwords. */
export const PASSWORD = 'e2e-Correct-Horse-7431';

/**
 * Every e2e request comes from 127.0.0.1, so all tests of a file share one IP bucket;
 * the IP limit is tested in a server of its own (test/e2e/throttling.test.ts).
 */
export const NO_IP_LIMIT = { AUTH_IP_RATE_LIMIT: '0' } as const;

export interface Account {
  id: string;
  email: string;
  password: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export type Session = Account & Tokens;

/** Any request, answered as `{status, body, headers}` like `send` and `get`. */
export async function call(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

export async function registerUser(api: string, options: { email?: string; password?: string } = {}): Promise<Account> {
  const password = options.password ?? PASSWORD;
  const reply = await send(`${api}/register`, { email: options.email ?? uniqueEmail(), password });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { id: reply.body.id, email: reply.body.email, password };
}

export async function login(api: string, email: string, password: string): Promise<Tokens> {
  const reply = await send(`${api}/login`, { email, password });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return { accessToken: reply.body.access_token, refreshToken: reply.body.refresh_token };
}

export async function registerAndLogin(api: string): Promise<Session> {
  const account = await registerUser(api);
  return { ...account, ...(await login(api, account.email, account.password)) };
}

export async function loginAdmin(api: string): Promise<Session> {
  const tokens = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
  const me = await get(`${api}/me`, tokens.accessToken);
  return { id: me.body.id, email: ADMIN_EMAIL, password: ADMIN_PASSWORD, ...tokens };
}

export async function setRole(api: string, adminToken: string, userId: string, role: string): Promise<void> {
  const reply = await send(`${api}/users/${userId}/role`, { role }, { method: 'PUT', token: adminToken });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
}

/** A fresh user given `role` by `adminToken`, logged in after the change. */
export async function userWithRole(api: string, adminToken: string, role: string): Promise<Session> {
  const account = await registerUser(api);
  await setRole(api, adminToken, account.id, role);
  return { ...account, ...(await login(api, account.email, account.password)) };
}

export function refreshWith(api: string, refreshToken: string): Promise<Reply> {
  return send(`${api}/refresh`, { refresh_token: refreshToken });
}

/** The user as the server sees it now, through its own bearer token. */
export async function me(api: string, accessToken: string): Promise<any> {
  const reply = await get(`${api}/me`, accessToken);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

/** SPEC §3: `{error, code}` with the status; a 401 always carries the Bearer challenge. */
export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, body: reply.body }).toMatchObject({ status, body: { code, error: expect.any(String) } });
  if (status === 401) expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm="pico-auth"/);
}

/** SPEC §4: a 429 with a Retry-After of whole seconds, at least 1 (and at most `maxSeconds`, when given); returns it. */
export function expectThrottled(reply: Reply, maxSeconds?: number): number {
  expectError(reply, 429, 'too_many_requests');
  const retryAfter = reply.headers.get('retry-after') ?? '';
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  if (maxSeconds !== undefined) expect(Number(retryAfter)).toBeLessThanOrEqual(maxSeconds);
  return Number(retryAfter);
}

/** A wrong password for an email nobody has, sent with `X-Forwarded-For` as proxies in front would forward it. */
export function failedLoginVia(api: string, forwardedFor: string): Promise<Reply> {
  return send(`${api}/login`, { email: uniqueEmail('ghost'), password: 'wrong-password-0000' }, { headers: { 'x-forwarded-for': forwardedFor } });
}

/** A 401 whose challenge names `error="invalid_token"` exactly when a bearer token was refused (RFC 6750 §3). */
export function expectUnauthorized(reply: Reply, code: string, options: { bearerRefused: boolean }): void {
  expectError(reply, 401, code);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  if (options.bearerRefused) expect(challenge).toContain('error="invalid_token"');
  else expect(challenge).not.toContain('error=');
}

/** The API cannot suspend a user or move it to another org: edit the row itself. */
export async function updateUserRow(server: TestServer, userId: string, fields: { status?: string; org_id?: string }): Promise<void> {
  const changed = await server.db('users').where({ id: userId }).update(fields);
  expect(changed).toBe(1);
}

export async function deleteUserRow(server: TestServer, userId: string): Promise<void> {
  const deleted = await server.db('users').where({ id: userId }).delete();
  expect(deleted).toBe(1);
}
