import { describe, expect, it } from 'vitest';
import { authenticate } from '../../src/application/authenticate.js';
import { InvalidToken, TokenExpired, Unauthenticated, UserSuspended } from '../../src/domain/errors.js';
import { makeDeps, seedUser } from '../support/fakes.js';

describe('authenticate', () => {
  it('returns the user as stored now, not as the token describes it', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps, { role: 'viewer' });
    const bearer = await deps.signer.sign({ sub: user.id, email: user.email, role: 'superadmin', org_id: 'elsewhere' });
    await deps.users.updateRole(user.id, 'operator');

    expect(await authenticate(deps, bearer)).toEqual({ ...user, role: 'operator' });
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
  ])('refuses a missing (%s) bearer with Unauthenticated', async (_label, bearer) => {
    const deps = makeDeps();
    const error = await authenticate(deps, bearer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Unauthenticated);
    expect(error).toMatchObject({ code: 'unauthenticated' });
  });

  it('passes on the signer\'s InvalidToken for a malformed token', async () => {
    const deps = makeDeps();
    const error = await authenticate(deps, 'not-a-token').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidToken);
    expect(error).toMatchObject({ code: 'invalid_token', bearer: true });
  });

  it('passes on the signer\'s TokenExpired for an expired token', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    const bearer = await deps.signer.sign({ sub: user.id, email: user.email, role: user.role, org_id: user.orgId });
    // Past exp and the 30 s of clock skew a signer tolerates.
    deps.clock.advanceSeconds(deps.signer.expiresInSeconds + 31);

    const error = await authenticate(deps, bearer).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenExpired);
    expect(error).toMatchObject({ code: 'token_expired', bearer: true });
  });

  it('refuses the token of a deleted user with InvalidToken (bearer)', async () => {
    const deps = makeDeps();
    const bearer = await deps.signer.sign({ sub: 'gone', email: 'gone@example.com', role: 'viewer', org_id: 'default' });

    const error = await authenticate(deps, bearer).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidToken);
    expect(error).toMatchObject({ code: 'invalid_token', bearer: true });
  });

  it('refuses a suspended user with UserSuspended', async () => {
    const deps = makeDeps();
    const user = await seedUser(deps);
    const bearer = await deps.signer.sign({ sub: user.id, email: user.email, role: user.role, org_id: user.orgId });
    deps.users.suspend(user.id);

    await expect(authenticate(deps, bearer)).rejects.toBeInstanceOf(UserSuspended);
  });
});
