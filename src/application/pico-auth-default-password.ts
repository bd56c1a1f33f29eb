import { lookupEmail } from '../domain/email.js';
import { InvalidRequest } from '../domain/errors.js';
import type { Deps } from './deps.js';

/** What pico-auth created its admin with when none was configured. */
export const PICO_AUTH_DEFAULT_ADMIN_PASSWORD = 'admin';

/**
 * Whether the account under `email` still has pico-auth's default admin password. An
 * adopted admin keeps it (bootstrap never touches an existing account), so the operator
 * must be told. A check costs what a failed login does.
 */
export async function hasPicoAuthDefaultPassword(deps: Pick<Deps, 'users' | 'hasher'>, email: string): Promise<boolean> {
  let lookedUp: string;
  try {
    lookedUp = lookupEmail(email);
  } catch (error) {
    if (error instanceof InvalidRequest) return false; // no account can have it
    throw error;
  }
  const user = await deps.users.findByEmail(lookedUp);
  return user !== undefined && (await deps.hasher.verify(user.passwordHash, PICO_AUTH_DEFAULT_ADMIN_PASSWORD)).ok;
}
