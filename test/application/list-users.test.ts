import { describe, expect, it } from 'vitest';
import { listUsers, MAX_PAGE_SIZE } from '../../src/application/list-users.js';
import { Forbidden } from '../../src/domain/errors.js';
import type { Role } from '../../src/domain/user.js';
import { makeDeps, seedUser } from '../support/fakes.js';

async function twoOrgs() {
  const deps = makeDeps();
  const root = await seedUser(deps, { role: 'superadmin', orgId: 'default' });
  deps.clock.advanceSeconds(1);
  const acmeAdmin = await seedUser(deps, { role: 'org_admin', orgId: 'acme' });
  deps.clock.advanceSeconds(1);
  const acmeViewer = await seedUser(deps, { role: 'viewer', orgId: 'acme' });
  deps.clock.advanceSeconds(1);
  const otherViewer = await seedUser(deps, { role: 'viewer', orgId: 'globex' });
  return { deps, root, acmeAdmin, acmeViewer, otherViewer };
}

describe('listUsers', () => {
  it('shows a superadmin every org, newest first, without password hashes', async () => {
    const { deps, root, acmeAdmin, acmeViewer, otherViewer } = await twoOrgs();

    const page = await listUsers(deps, root, { limit: 50, offset: 0 });

    expect(page.total).toBe(4);
    expect(page.users.map((u) => u.id)).toEqual([otherViewer.id, acmeViewer.id, acmeAdmin.id, root.id]);
    const { passwordHash: _hidden, ...publicRoot } = root;
    expect(page.users.at(-1)).toEqual(publicRoot);
    expect(page.users.every((u) => !('passwordHash' in u))).toBe(true);
  });

  it('shows an org_admin only its own org, in the page and the total', async () => {
    const { deps, acmeAdmin, acmeViewer } = await twoOrgs();

    const page = await listUsers(deps, acmeAdmin, { limit: 50, offset: 0 });

    expect(page.total).toBe(2);
    expect(page.users.map((u) => u.id)).toEqual([acmeViewer.id, acmeAdmin.id]);
  });

  it('pages with limit and offset', async () => {
    const { deps, root, acmeAdmin, acmeViewer } = await twoOrgs();

    const page = await listUsers(deps, root, { limit: 2, offset: 1 });

    expect(page).toMatchObject({ total: 4 });
    expect(page.users.map((u) => u.id)).toEqual([acmeViewer.id, acmeAdmin.id]);
  });

  it(`clamps the limit to ${MAX_PAGE_SIZE}`, async () => {
    const deps = makeDeps();
    const root = await seedUser(deps, { role: 'superadmin' });
    for (let i = 0; i < MAX_PAGE_SIZE + 1; i++) await seedUser(deps);

    const page = await listUsers(deps, root, { limit: 10_000, offset: 0 });

    expect(page.total).toBe(MAX_PAGE_SIZE + 2);
    expect(page.users).toHaveLength(MAX_PAGE_SIZE);
  });

  it.each<Role>(['viewer', 'operator'])('refuses a %s with Forbidden', async (role) => {
    const { deps } = await twoOrgs();
    const actor = await seedUser(deps, { role, orgId: 'acme' });

    const error = await listUsers(deps, actor, { limit: 50, offset: 0 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Forbidden);
    expect(error).toMatchObject({ code: 'forbidden' });
  });
});
