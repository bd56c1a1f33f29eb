import { describe, expect, it } from 'vitest';
import { Forbidden, InvalidRole, LastSuperadmin, NotFound } from '../../src/domain/errors.js';
import { ROLES, assertCanAssignRole, assertCanSee, isAdmin, leavesActiveSuperadmin, parseRole, rankOf, toPublicUser } from '../../src/domain/user.js';
import type { Role, User } from '../../src/domain/user.js';

let nextId = 0;
function user(role: Role, orgId = 'acme'): User {
  nextId++;
  return {
    id: `u${nextId}`,
    email: `u${nextId}@example.test`,
    displayName: `User ${nextId}`,
    passwordHash: '$argon2id$secret',
    role,
    orgId,
    status: 'active',
    createdAt: new Date('2026-03-01T12:00:00.000Z'),
    lastLoginAt: null,
  };
}

describe('parseRole', () => {
  it('accepts the four exact names', () => {
    for (const role of ['viewer', 'operator', 'org_admin', 'superadmin']) expect(parseRole(role)).toBe(role);
  });

  it('refuses anything else with InvalidRole', () => {
    for (const value of ['', 'admin', 'Superadmin', ' viewer', 'viewer ', 'org-admin', 'toString', 'constructor', '__proto__']) {
      expect(() => parseRole(value)).toThrow(InvalidRole);
    }
  });
});

describe('rankOf and isAdmin', () => {
  it('ranks superadmin > org_admin > operator > viewer', () => {
    expect(rankOf('superadmin')).toBeGreaterThan(rankOf('org_admin'));
    expect(rankOf('org_admin')).toBeGreaterThan(rankOf('operator'));
    expect(rankOf('operator')).toBeGreaterThan(rankOf('viewer'));
    expect(ROLES.map(rankOf)).toEqual([0, 1, 2, 3]);
  });

  it('counts org_admin and superadmin as admins', () => {
    expect(ROLES.filter(isAdmin)).toEqual(['org_admin', 'superadmin']);
  });
});

describe('toPublicUser', () => {
  it('drops the password hash and nothing else', () => {
    const { passwordHash: _hash, ...rest } = user('viewer');
    const full = { ...rest, passwordHash: 'secret' };
    expect(toPublicUser(full)).toEqual(rest);
    expect(JSON.stringify(toPublicUser(full))).not.toContain('secret');
  });
});

describe('assertCanSee', () => {
  it('lets a superadmin see every org and an org_admin only its own', () => {
    expect(() => assertCanSee(user('superadmin', 'hq'), user('viewer', 'other'))).not.toThrow();
    expect(() => assertCanSee(user('org_admin'), user('viewer'))).not.toThrow();
    expect(() => assertCanSee(user('org_admin'), user('viewer', 'other'))).toThrow(NotFound);
  });
});

describe('assertCanAssignRole', () => {
  it('forbids viewers and operators', () => {
    for (const role of ['viewer', 'operator'] as const) {
      expect(() => assertCanAssignRole(user(role), user('viewer'), 'viewer', 1)).toThrow(Forbidden);
    }
  });

  it('lets an org_admin give its own org any role up to its own', () => {
    const admin = user('org_admin');
    for (const next of ['viewer', 'operator', 'org_admin'] as const) {
      expect(() => assertCanAssignRole(admin, user('viewer'), next, 1)).not.toThrow();
    }
    expect(() => assertCanAssignRole(admin, user('org_admin'), 'viewer', 1)).not.toThrow();
  });

  it('forbids an org_admin to grant superadmin', () => {
    expect(() => assertCanAssignRole(user('org_admin'), user('viewer'), 'superadmin', 1)).toThrow(Forbidden);
  });

  it('forbids an org_admin to touch a superadmin of its org (403, not 404)', () => {
    const error = catchError(() => assertCanAssignRole(user('org_admin'), user('superadmin'), 'viewer', 5));
    expect(error).toBeInstanceOf(Forbidden);
    expect((error as Forbidden).code).toBe('forbidden');
  });

  it('hides users of another org from an org_admin as NotFound', () => {
    expect(() => assertCanAssignRole(user('org_admin'), user('viewer', 'other'), 'operator', 1)).toThrow(NotFound);
    // Whatever their role: even a superadmin elsewhere is only "not found".
    expect(() => assertCanAssignRole(user('org_admin'), user('superadmin', 'other'), 'viewer', 2)).toThrow(NotFound);
  });

  it('lets a superadmin assign any role in any org, superadmin included', () => {
    const root = user('superadmin', 'hq');
    for (const next of ROLES) expect(() => assertCanAssignRole(root, user('viewer', 'other'), next, 1)).not.toThrow();
  });

  it('refuses to demote the last active superadmin with LastSuperadmin', () => {
    const root = user('superadmin');
    for (const next of ['org_admin', 'operator', 'viewer'] as const) {
      expect(() => assertCanAssignRole(root, root, next, 0)).toThrow(LastSuperadmin);
      expect(() => assertCanAssignRole(root, user('superadmin'), next, 0)).toThrow(LastSuperadmin);
    }
  });

  it('demotes a superadmin while another active one remains, and keeps the last one a superadmin freely', () => {
    const root = user('superadmin');
    expect(() => assertCanAssignRole(root, user('superadmin'), 'viewer', 1)).not.toThrow();
    expect(() => assertCanAssignRole(root, root, 'superadmin', 0)).not.toThrow();
  });

  it('tells whether another active superadmin is left: a suspended one cannot act', () => {
    const active = { id: 'a', status: 'active' as const };
    const suspended = { id: 's', status: 'suspended' as const };
    expect(leavesActiveSuperadmin([active, suspended], 'a')).toBe(false);
    expect(leavesActiveSuperadmin([active, suspended], 's')).toBe(true);
    expect(leavesActiveSuperadmin([active, { id: 'b', status: 'active' }], 'a')).toBe(true);
    expect(leavesActiveSuperadmin([suspended], 's')).toBe(false);
  });
});

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
