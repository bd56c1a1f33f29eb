import { describe, expect, it } from 'vitest';
import { changeRole } from '../../src/application/change-role.js';
import { Forbidden, InvalidRole, LastSuperadmin, NotFound } from '../../src/domain/errors.js';
import type { Role, User } from '../../src/domain/user.js';
import { makeContext, makeDeps, seedUser } from '../support/fakes.js';
import type { TestDeps } from '../support/fakes.js';

async function roleOf(deps: TestDeps, user: User): Promise<Role | undefined> {
  return (await deps.users.findById(user.id))?.role;
}

async function fixture() {
  const deps = makeDeps();
  const root = await seedUser(deps, { role: 'superadmin', orgId: 'default' });
  const acmeAdmin = await seedUser(deps, { role: 'org_admin', orgId: 'acme' });
  const acmeViewer = await seedUser(deps, { role: 'viewer', orgId: 'acme' });
  const globexViewer = await seedUser(deps, { role: 'viewer', orgId: 'globex' });
  return { deps, root, acmeAdmin, acmeViewer, globexViewer };
}

describe('changeRole', () => {
  it('lets a superadmin set any role in any org, and records it', async () => {
    const { deps, root, globexViewer } = await fixture();
    const ctx = makeContext();

    const result = await changeRole(deps, root, { userId: globexViewer.id, role: 'org_admin' }, ctx);

    expect(result).toEqual({ id: globexViewer.id, email: globexViewer.email, role: 'org_admin' });
    expect(await roleOf(deps, globexViewer)).toBe('org_admin');
    expect(ctx.audit.events).toEqual([
      {
        event: 'role_changed',
        fields: { userId: globexViewer.id, actorId: root.id, from: 'viewer', to: 'org_admin', ip: ctx.ip },
      },
    ]);
  });

  it.each<Role>(['operator', 'org_admin'])('lets an org_admin give a user of its org the role %s (up to its own)', async (role) => {
    const { deps, acmeAdmin, acmeViewer } = await fixture();

    await changeRole(deps, acmeAdmin, { userId: acmeViewer.id, role }, makeContext());

    expect(await roleOf(deps, acmeViewer)).toBe(role);
  });

  it('lets an org_admin demote a peer org_admin of its org', async () => {
    const { deps, acmeAdmin } = await fixture();
    const peer = await seedUser(deps, { role: 'org_admin', orgId: 'acme' });

    await changeRole(deps, acmeAdmin, { userId: peer.id, role: 'viewer' }, makeContext());

    expect(await roleOf(deps, peer)).toBe('viewer');
  });

  describe('refusals, each changing nothing', () => {
    async function refused(deps: TestDeps, actor: User, target: { id: string }, role: string) {
      const ctx = makeContext();
      const before = await deps.users.list({ limit: 100, offset: 0 });
      const error = await changeRole(deps, actor, { userId: target.id, role }, ctx).catch((e: unknown) => e);
      expect(await deps.users.list({ limit: 100, offset: 0 })).toEqual(before);
      expect(ctx.audit.events).toEqual([]);
      return error;
    }

    it.each<Role>(['viewer', 'operator'])('Forbidden for a %s actor, before the role is even parsed', async (role) => {
      const { deps, acmeViewer } = await fixture();
      const actor = await seedUser(deps, { role, orgId: 'acme' });

      expect(await refused(deps, actor, acmeViewer, 'operator')).toBeInstanceOf(Forbidden);
      expect(await refused(deps, actor, acmeViewer, 'nonsense')).toBeInstanceOf(Forbidden);
    });

    it.each(['admin', 'SUPERADMIN', 'Viewer', '', 'org-admin'])('InvalidRole for %j', async (role) => {
      const { deps, root, acmeViewer } = await fixture();

      const error = await refused(deps, root, acmeViewer, role);

      expect(error).toBeInstanceOf(InvalidRole);
      expect(error).toMatchObject({ code: 'invalid_role' });
    });

    it('NotFound for an unknown user', async () => {
      const { deps, root } = await fixture();

      const error = await refused(deps, root, { id: 'no-such-user' }, 'viewer');

      expect(error).toBeInstanceOf(NotFound);
      expect(error).toMatchObject({ code: 'not_found' });
    });

    it('NotFound for an org_admin acting on a user of another org, a superadmin included', async () => {
      const { deps, root, acmeAdmin, globexViewer } = await fixture();

      expect(await refused(deps, acmeAdmin, globexViewer, 'operator')).toBeInstanceOf(NotFound);
      expect(await refused(deps, acmeAdmin, root, 'viewer')).toBeInstanceOf(NotFound);
    });

    it('Forbidden for an org_admin assigning a role above its own', async () => {
      const { deps, acmeAdmin, acmeViewer } = await fixture();

      const error = await refused(deps, acmeAdmin, acmeViewer, 'superadmin');

      expect(error).toBeInstanceOf(Forbidden);
      expect(error).toMatchObject({ code: 'forbidden' });
    });

    it('Forbidden for an org_admin acting on a superadmin of its own org', async () => {
      const { deps, acmeAdmin } = await fixture();
      const acmeRoot = await seedUser(deps, { role: 'superadmin', orgId: 'acme' });

      expect(await refused(deps, acmeAdmin, acmeRoot, 'org_admin')).toBeInstanceOf(Forbidden);
    });

    it('LastSuperadmin for demoting the only superadmin, oneself included', async () => {
      const { deps, root } = await fixture();

      const error = await refused(deps, root, root, 'org_admin');

      expect(error).toBeInstanceOf(LastSuperadmin);
      expect(error).toMatchObject({ code: 'last_superadmin' });
    });
  });

  it('keeps the last superadmin a superadmin when "demoted" to superadmin', async () => {
    const { deps, root } = await fixture();

    await expect(changeRole(deps, root, { userId: root.id, role: 'superadmin' }, makeContext())).resolves.toMatchObject({
      role: 'superadmin',
    });
    expect(await deps.users.countActive('superadmin')).toBe(1);
  });

  it('demotes a superadmin while another remains', async () => {
    const { deps, root } = await fixture();
    const second = await seedUser(deps, { role: 'superadmin' });

    await changeRole(deps, root, { userId: second.id, role: 'viewer' }, makeContext());

    expect(await roleOf(deps, second)).toBe('viewer');
    expect(await deps.users.countActive('superadmin')).toBe(1);
  });

  it('refuses to let the last active superadmin step down while the only other one is suspended, and lets the suspended one go', async () => {
    const { deps, root } = await fixture();
    const suspended = await seedUser(deps, { role: 'superadmin', status: 'suspended' });

    await expect(changeRole(deps, root, { userId: root.id, role: 'viewer' }, makeContext())).rejects.toBeInstanceOf(LastSuperadmin);
    expect(await roleOf(deps, root)).toBe('superadmin');

    await changeRole(deps, root, { userId: suspended.id, role: 'viewer' }, makeContext());
    expect(await roleOf(deps, suspended)).toBe('viewer');
  });

  it('lets only one of two superadmins demoting each other at once win: the store decides', async () => {
    const { deps, root } = await fixture();
    const second = await seedUser(deps, { role: 'superadmin' });

    const results = await Promise.allSettled([
      changeRole(deps, root, { userId: second.id, role: 'viewer' }, makeContext()),
      changeRole(deps, second, { userId: root.id, role: 'viewer' }, makeContext()),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))).toEqual([expect.any(LastSuperadmin)]);
    expect(await deps.users.countActive('superadmin')).toBe(1);
  });
});

describe('changeRole racing another change', () => {
  it('decides again on the new role: an org_admin never demotes someone promoted to superadmin meanwhile', async () => {
    const deps = makeDeps();
    const orgAdmin = await seedUser(deps, { role: 'org_admin' });
    await seedUser(deps, { role: 'superadmin' });
    const target = await seedUser(deps, { role: 'operator' });
    // Between the org_admin's read and its write, a superadmin promotes the target.
    const users = deps.users;
    const findById = users.findById.bind(users);
    let promoted = false;
    users.findById = async (id: string) => {
      const found = await findById(id);
      if (id === target.id && !promoted) {
        promoted = true;
        await users.updateRole(target.id, 'superadmin');
      }
      return found;
    };
    await expect(changeRole(deps, orgAdmin, { userId: target.id, role: 'viewer' }, makeContext())).rejects.toBeInstanceOf(Forbidden);
    expect((await findById(target.id))?.role).toBe('superadmin');
  });
});
