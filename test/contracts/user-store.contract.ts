import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserStore } from '../../src/application/ports.js';
import { UserExists } from '../../src/domain/errors.js';
import type { Role, User } from '../../src/domain/user.js';

export interface UserStoreFixture {
  store: UserStore;
  close?: () => Promise<void>;
}

const BASE = Date.parse('2026-03-01T12:00:00.123Z');

function at(offsetMs: number): Date {
  return new Date(BASE + offsetMs);
}

function newUser(overrides: Partial<User> = {}): User {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  return {
    id,
    email: `user-${randomUUID()}@example.test`,
    displayName: `User ${id}`,
    passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${id}`,
    role: 'viewer',
    orgId: `org-${randomUUID()}`,
    status: 'active',
    createdAt: at(0),
    lastLoginAt: null,
    ...overrides,
  };
}

/**
 * The `UserStore` contract (STYLE rule 8). `makeStore` must return a store with no
 * superadmin in it (a fresh schema or database per call): the last-superadmin rule can
 * only be checked when the test knows every superadmin. Every other test makes its own
 * unique emails and org ids, so the store may otherwise hold other data.
 */
export function describeUserStoreContract(name: string, makeStore: () => Promise<UserStoreFixture>): void {
  describe(`UserStore contract: ${name}`, () => {
    let fixture: UserStoreFixture;
    let store: UserStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.close?.();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('creates a user and finds it by id and by email, every field intact', async () => {
      const user = newUser({ displayName: 'Jürgen Ω', lastLoginAt: at(5_432), status: 'suspended', role: 'operator' });
      await store.create(user);
      expect(await store.findById(user.id)).toEqual(user);
      expect(await store.findByEmail(user.email)).toEqual(user);
    });

    it('keeps timestamps to the millisecond', async () => {
      const user = newUser({ createdAt: new Date('2026-02-20T10:15:30.987Z'), lastLoginAt: new Date('2026-02-21T01:02:03.004Z') });
      await store.create(user);
      const found = await store.findById(user.id);
      expect(found?.createdAt.getTime()).toBe(user.createdAt.getTime());
      expect(found?.lastLoginAt?.getTime()).toBe(user.lastLoginAt?.getTime());
    });

    it('answers undefined for an unknown id or email', async () => {
      expect(await store.findById(randomUUID().slice(0, 12))).toBeUndefined();
      expect(await store.findById('a\u0000b')).toBeUndefined();
      expect(await store.findByEmail(`nobody-${randomUUID()}@example.test`)).toBeUndefined();
      expect(await store.findByEmail('a\u0000b@example.test')).toBeUndefined();
    });

    it('refuses a second user with the same email with UserExists, keeping the first', async () => {
      const first = newUser();
      await store.create(first);
      const second = newUser({ email: first.email });
      await expect(store.create(second)).rejects.toBeInstanceOf(UserExists);
      expect(await store.findByEmail(first.email)).toEqual(first);
      expect(await store.findById(second.id)).toBeUndefined();
    });

    it('lets exactly one of concurrent creates with the same email win', async () => {
      const email = `race-${randomUUID()}@example.test`;
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.create(newUser({ email }))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(UserExists);
    });

    it('does not share state with its callers', async () => {
      const user = newUser({ lastLoginAt: at(1_000) });
      await store.create(user);
      user.role = 'superadmin';
      user.createdAt.setTime(0);
      user.lastLoginAt?.setTime(0);
      const found = await store.findById(user.id);
      expect(found?.role).toBe('viewer');
      expect(found?.createdAt.getTime()).toBe(at(0).getTime());
      if (!found) throw new Error('user not found');
      found.role = 'org_admin';
      found.createdAt.setTime(1);
      const again = await store.findById(user.id);
      expect(again?.role).toBe('viewer');
      expect(again?.createdAt.getTime()).toBe(at(0).getTime());
    });

    it('lists one org newest first, with the org total', async () => {
      const orgId = `org-${randomUUID()}`;
      const users = [3, 1, 4, 0, 2].map((minutes) => newUser({ orgId, createdAt: at(minutes * 60_000) }));
      for (const user of users) await store.create(user);
      await store.create(newUser({ createdAt: at(10 * 60_000) })); // another org, newer than all

      const page = await store.list({ limit: 10, offset: 0, orgId });
      expect(page.total).toBe(5);
      expect(page.users.map((u) => u.createdAt.getTime())).toEqual([4, 3, 2, 1, 0].map((m) => at(m * 60_000).getTime()));
      expect(page.users.every((u) => u.orgId === orgId)).toBe(true);
      const first = page.users[0];
      expect(first).toEqual(users.find((u) => u.id === first?.id));
    });

    it('pages with limit and offset; total counts the whole org, not the page', async () => {
      const orgId = `org-${randomUUID()}`;
      for (let i = 0; i < 7; i++) await store.create(newUser({ orgId, createdAt: at(i * 1_000) }));
      const all = await store.list({ limit: 100, offset: 0, orgId });
      const first = await store.list({ limit: 3, offset: 0, orgId });
      const second = await store.list({ limit: 3, offset: 3, orgId });
      const last = await store.list({ limit: 3, offset: 6, orgId });
      const beyond = await store.list({ limit: 3, offset: 7, orgId });
      expect([first, second, last, beyond].map((p) => p.total)).toEqual([7, 7, 7, 7]);
      expect([first, second, last, beyond].map((p) => p.users.length)).toEqual([3, 3, 1, 0]);
      expect([...first.users, ...second.users, ...last.users].map((u) => u.id)).toEqual(all.users.map((u) => u.id));
    });

    it('breaks createdAt ties by id, descending, so pages never overlap', async () => {
      const orgId = `org-${randomUUID()}`;
      const users = Array.from({ length: 6 }, () => newUser({ orgId, createdAt: at(0) }));
      for (const user of users) await store.create(user);
      const expected = users.map((u) => u.id).sort().reverse();
      const pages = [0, 2, 4].map((offset) => store.list({ limit: 2, offset, orgId }));
      const ids = (await Promise.all(pages)).flatMap((p) => p.users.map((u) => u.id));
      expect(ids).toEqual(expected);
    });

    it('lists every org without orgId, total included', async () => {
      const user = newUser({ createdAt: at(10 * 365 * 86_400_000) }); // newer than any other user
      await store.create(user);
      const everyone = await store.list({ limit: 500, offset: 0 });
      expect(everyone.total).toBeGreaterThanOrEqual(1);
      expect(everyone.total).toBeGreaterThanOrEqual(everyone.users.length);
      expect(everyone.users.map((u) => u.id)).toContain(user.id);
      const times = everyone.users.map((u) => u.createdAt.getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('lists an org with no users as empty', async () => {
      expect(await store.list({ limit: 10, offset: 0, orgId: `org-${randomUUID()}` })).toEqual({ users: [], total: 0 });
    });

    it('counts users by role', async () => {
      const before = await Promise.all((['viewer', 'operator', 'org_admin'] as Role[]).map((r) => store.countActive(r)));
      await store.create(newUser({ role: 'viewer' }));
      await store.create(newUser({ role: 'operator' }));
      await store.create(newUser({ role: 'operator' }));
      const after = await Promise.all((['viewer', 'operator', 'org_admin'] as Role[]).map((r) => store.countActive(r)));
      expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([1, 2, 0]);
    });

    it('changes a role only while it is still the expected one (compare-and-set)', async () => {
      const user = newUser({ role: 'operator' });
      await store.create(user);
      expect(await store.updateRole(user.id, 'viewer', 'org_admin')).toBe(false);
      expect((await store.findById(user.id))?.role).toBe('operator');
      expect(await store.updateRole(user.id, 'viewer', 'operator')).toBe(true);
      expect((await store.findById(user.id))?.role).toBe('viewer');
    });

    it('changes a role', async () => {
      const user = newUser({ role: 'viewer' });
      await store.create(user);
      expect(await store.updateRole(user.id, 'org_admin')).toBe(true);
      expect((await store.findById(user.id))?.role).toBe('org_admin');
      expect(await store.updateRole(user.id, 'viewer')).toBe(true);
      expect((await store.findById(user.id))?.role).toBe('viewer');
    });

    it('never demotes the last active superadmin, even while a suspended one remains', async () => {
      const active = newUser({ role: 'superadmin' });
      const suspended = newUser({ role: 'superadmin', status: 'suspended' });
      await store.create(active);
      await store.create(suspended);
      expect(await store.countActive('superadmin')).toBe(1);

      expect(await store.updateRole(active.id, 'viewer')).toBe(false);
      expect((await store.findById(active.id))?.role).toBe('superadmin');
      // The suspended one may go: an active superadmin stays.
      expect(await store.updateRole(suspended.id, 'viewer')).toBe(true);
      expect(await store.countActive('superadmin')).toBe(1);
    });

    it('demotes a superadmin while another one remains, but never the last one', async () => {
      const a = newUser({ role: 'superadmin' });
      const b = newUser({ role: 'superadmin' });
      await store.create(a);
      await store.create(b);
      expect(await store.countActive('superadmin')).toBe(2);

      expect(await store.updateRole(a.id, 'org_admin')).toBe(true);
      expect(await store.countActive('superadmin')).toBe(1);

      expect(await store.updateRole(b.id, 'viewer')).toBe(false);
      expect((await store.findById(b.id))?.role).toBe('superadmin');
      expect(await store.countActive('superadmin')).toBe(1);

      // Not a demotion: allowed even for the last one.
      expect(await store.updateRole(b.id, 'superadmin')).toBe(true);
      // A new superadmin makes the old one demotable again.
      expect(await store.updateRole(a.id, 'superadmin')).toBe(true);
      expect(await store.updateRole(b.id, 'operator')).toBe(true);
      expect(await store.countActive('superadmin')).toBe(1);
    });

    it('lets only one of two superadmins demoting each other concurrently win', async () => {
      const a = newUser({ role: 'superadmin' });
      const b = newUser({ role: 'superadmin' });
      await store.create(a);
      await store.create(b);
      const results = await Promise.all([store.updateRole(a.id, 'viewer'), store.updateRole(b.id, 'org_admin')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.countActive('superadmin')).toBe(1);
    });

    it('replaces the password hash of one user only', async () => {
      const user = newUser();
      const other = newUser();
      await store.create(user);
      await store.create(other);
      expect(await store.updatePasswordHash(user.id, '$argon2id$v=19$m=65536,t=3,p=4$new', user.passwordHash)).toBe(true);
      expect((await store.findById(user.id))?.passwordHash).toBe('$argon2id$v=19$m=65536,t=3,p=4$new');
      expect(await store.findById(other.id)).toEqual(other);
    });

    it('refuses to replace a hash that changed since it was read (compare-and-set)', async () => {
      const user = newUser();
      await store.create(user);
      expect(await store.updatePasswordHash(user.id, 'changed-first', user.passwordHash)).toBe(true);
      expect(await store.updatePasswordHash(user.id, 'late-rehash', user.passwordHash)).toBe(false);
      expect((await store.findById(user.id))?.passwordHash).toBe('changed-first');
      expect(await store.updatePasswordHash('no-such-user', 'x', 'y')).toBe(false);
    });

    it('records the last login of one user only, to the millisecond', async () => {
      const user = newUser();
      const other = newUser();
      await store.create(user);
      await store.create(other);
      expect(await store.recordLogin(user.id, at(86_400_007), user.passwordHash)).toBe(true);
      expect((await store.findById(user.id))?.lastLoginAt?.getTime()).toBe(at(86_400_007).getTime());
      expect(await store.recordLogin(user.id, at(90_000_001), user.passwordHash)).toBe(true);
      expect((await store.findById(user.id))?.lastLoginAt?.getTime()).toBe(at(90_000_001).getTime());
      expect((await store.findById(other.id))?.lastLoginAt).toBeNull();
    });

    it('records a login only while the hash it verified is still the user\'s', async () => {
      const user = newUser();
      await store.create(user);
      expect(await store.updatePasswordHash(user.id, 'changed-meanwhile', user.passwordHash)).toBe(true);
      expect(await store.recordLogin(user.id, at(86_400_007), user.passwordHash)).toBe(false);
      expect((await store.findById(user.id))?.lastLoginAt).toBeNull();
      expect(await store.recordLogin('no-such-user', at(86_400_007), user.passwordHash)).toBe(false);
    });
  });
}
