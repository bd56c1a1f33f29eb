import { normalizeEmail } from '../domain/email.js';
import { RegistrationDisabled, UserExists } from '../domain/errors.js';
import { assertAcceptablePassword } from '../domain/password-policy.js';
import { DEFAULT_ORG, toPublicUser } from '../domain/user.js';
import type { PublicUser } from '../domain/user.js';
import type { Deps, RequestContext } from './deps.js';

export interface RegisterInput {
  email: string;
  password: string;
  displayName?: string | undefined;
}

/** Whether public sign-up is on: an inbound adapter may ask before reading the request, so a closed door is 403 whatever is sent. */
export function assertRegistrationOpen(deps: Pick<Deps, 'settings'>): void {
  if (!deps.settings.registrationEnabled) throw new RegistrationDisabled();
}

/** Public sign-up: always a viewer, active, in the default org, whatever the body says. */
export async function register(deps: Deps, input: RegisterInput, ctx: RequestContext): Promise<PublicUser> {
  assertRegistrationOpen(deps);
  const email = normalizeEmail(input.email);
  assertAcceptablePassword(input.password, deps.settings.passwordPolicy);
  // Cheap early answer; the unique index still decides a race.
  if (await deps.users.findByEmail(email)) throw new UserExists();
  const user = {
    id: deps.ids.newId(),
    email,
    displayName: input.displayName ?? '',
    passwordHash: await deps.hasher.hash(input.password),
    role: 'viewer' as const,
    orgId: DEFAULT_ORG,
    status: 'active' as const,
    createdAt: deps.clock.now(),
    lastLoginAt: null,
  };
  await deps.users.create(user);
  ctx.audit.record('user_registered', { userId: user.id, ip: ctx.ip });
  return toPublicUser(user);
}
