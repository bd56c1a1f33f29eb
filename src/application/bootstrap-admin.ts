import { lookupEmail, normalizeEmail } from '../domain/email.js';
import { UserExists } from '../domain/errors.js';
import { assertAcceptablePassword, passwordLength } from '../domain/password-policy.js';
import { DEFAULT_ORG } from '../domain/user.js';
import type { Deps } from './deps.js';

export interface AdminBootstrap {
  email: string;
  /** Unset: a random one is generated and returned once. */
  password: string | undefined;
}

/**
 * Creates the first superadmin if it does not exist yet; an existing account is never
 * touched, whatever its address (pico-auth's were never checked). Returns the generated
 * password, if one was made, so it can be shown once. A new account takes a well-formed
 * address, as at registration (InvalidRequest otherwise).
 */
export async function bootstrapAdmin(
  deps: Pick<Deps, 'users' | 'hasher' | 'secrets' | 'ids' | 'clock' | 'settings'>,
  admin: AdminBootstrap,
): Promise<{ created: boolean; generatedPassword?: string }> {
  if (await deps.users.findByEmail(lookupEmail(admin.email))) return { created: false };
  const email = normalizeEmail(admin.email);
  const password = admin.password ?? generatePassword(deps);
  assertAcceptablePassword(password, deps.settings.passwordPolicy);
  try {
    await deps.users.create({
      id: deps.ids.newId(),
      email,
      displayName: 'Administrator',
      passwordHash: await deps.hasher.hash(password),
      role: 'superadmin',
      orgId: DEFAULT_ORG,
      status: 'active',
      createdAt: deps.clock.now(),
      lastLoginAt: null,
    });
  } catch (error) {
    if (error instanceof UserExists) return { created: false }; // another instance won the race
    throw error;
  }
  return admin.password === undefined ? { created: true, generatedPassword: password } : { created: true };
}

/** Random, and long enough for any configured minimum (at least 20 characters, SPEC §2). */
function generatePassword(deps: Pick<Deps, 'secrets' | 'settings'>): string {
  const length = Math.max(20, deps.settings.passwordPolicy.minLength);
  let password = '';
  while (passwordLength(password) < length) password += deps.secrets.generate();
  return password;
}
