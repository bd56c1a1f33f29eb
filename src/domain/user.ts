import { Forbidden, InvalidRole, LastSuperadmin, NotFound } from './errors.js';

export const ROLES = ['viewer', 'operator', 'org_admin', 'superadmin'] as const;
export type Role = (typeof ROLES)[number];
export type UserStatus = 'active' | 'suspended';
export const DEFAULT_ORG = 'default';

export interface User {
  id: string;
  email: string;
  displayName: string;
  passwordHash: string;
  role: Role;
  orgId: string;
  status: UserStatus;
  createdAt: Date;
  lastLoginAt: Date | null;
}

/** The fields of a user that may leave the server. */
export type PublicUser = Omit<User, 'passwordHash'>;

export function toPublicUser({ passwordHash: _hidden, ...rest }: User): PublicUser {
  return rest;
}

export function parseRole(value: string): Role {
  const role = ROLES.find((r) => r === value);
  if (!role) throw new InvalidRole();
  return role;
}

export function rankOf(role: Role): number {
  return ROLES.indexOf(role);
}

export function isAdmin(role: Role): boolean {
  return rankOf(role) >= rankOf('org_admin');
}

/** Throws unless `actor` may see `target`: org admins see only their own org (others are 404). */
export function assertCanSee(actor: User, target: User): void {
  if (actor.role !== 'superadmin' && actor.orgId !== target.orgId) throw new NotFound('User not found');
}

/**
 * Throws unless `actor` may give `target` the role `next` (SPEC §4 "Roles").
 * `otherActiveSuperadmins` (besides `target`) is only consulted when a superadmin would
 * be demoted: one must remain who can act, since a suspended one cannot.
 */
export function assertCanAssignRole(actor: User, target: User, next: Role, otherActiveSuperadmins: number): void {
  if (!isAdmin(actor.role)) throw new Forbidden('Admin role required');
  assertCanSee(actor, target);
  if (rankOf(next) > rankOf(actor.role)) throw new Forbidden('Cannot assign a role above your own');
  if (rankOf(target.role) > rankOf(actor.role)) throw new Forbidden('Cannot change the role of a higher-ranked user');
  if (target.role === 'superadmin' && next !== 'superadmin' && otherActiveSuperadmins < 1) throw new LastSuperadmin();
}

/** Whether demoting superadmin `id` leaves another active one, among every superadmin as stored. */
export function leavesActiveSuperadmin(superadmins: readonly Pick<User, 'id' | 'status'>[], id: string): boolean {
  return superadmins.some((other) => other.id !== id && other.status === 'active');
}
