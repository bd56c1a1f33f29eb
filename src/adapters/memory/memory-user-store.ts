import type { UserStore } from '../../application/ports.js';
import { UserExists } from '../../domain/errors.js';
import { leavesActiveSuperadmin } from '../../domain/user.js';
import type { Role, User } from '../../domain/user.js';

/**
 * A `UserStore` held in process memory, for tests and the contract suite. Every object
 * crosses the border as a copy, so callers never share state with the store.
 */
export class MemoryUserStore implements UserStore {
  readonly #byId = new Map<string, User>();
  readonly #idByEmail = new Map<string, string>();

  async create(user: User): Promise<void> {
    if (this.#idByEmail.has(user.email)) throw new UserExists();
    // A repeated id is a caller bug (ids are random), not a taken email.
    if (this.#byId.has(user.id)) throw new Error(`Duplicate user id ${user.id}`);
    this.#byId.set(user.id, copyOf(user));
    this.#idByEmail.set(user.email, user.id);
  }

  async findById(id: string): Promise<User | undefined> {
    const user = this.#byId.get(id);
    return user && copyOf(user);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const id = this.#idByEmail.get(email);
    return id === undefined ? undefined : this.findById(id);
  }

  async list(page: { limit: number; offset: number; orgId?: string }): Promise<{ users: User[]; total: number }> {
    const { limit, offset, orgId } = page;
    const matching = [...this.#byId.values()].filter((u) => orgId === undefined || u.orgId === orgId);
    matching.sort(newestFirst);
    return { users: matching.slice(offset, offset + limit).map(copyOf), total: matching.length };
  }

  async countActive(role: Role): Promise<number> {
    let count = 0;
    for (const user of this.#byId.values()) if (user.role === role && user.status === 'active') count++;
    return count;
  }

  async updateRole(id: string, role: Role, expected?: Role): Promise<boolean> {
    const user = this.#byId.get(id);
    if (!user || (expected !== undefined && user.role !== expected)) return false;
    // No await between the check and the write, so concurrent demotions cannot both pass.
    const demotesSuperadmin = user.role === 'superadmin' && role !== 'superadmin';
    const superadmins = [...this.#byId.values()].filter((other) => other.role === 'superadmin');
    if (demotesSuperadmin && !leavesActiveSuperadmin(superadmins, id)) return false;
    user.role = role;
    return true;
  }

  async updatePasswordHash(id: string, passwordHash: string, replacing: string): Promise<boolean> {
    const user = this.#byId.get(id);
    if (!user || user.passwordHash !== replacing) return false;
    user.passwordHash = passwordHash;
    return true;
  }

  async recordLogin(id: string, at: Date, passwordHash: string): Promise<boolean> {
    const user = this.#byId.get(id);
    if (!user || user.passwordHash !== passwordHash) return false;
    user.lastLoginAt = new Date(at.getTime());
    return true;
  }

  async ping(): Promise<void> {}
}

/** Newest first; equal timestamps fall back to the id (descending), so paging is stable. */
function newestFirst(a: User, b: User): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function copyOf(user: User): User {
  return {
    ...user,
    createdAt: new Date(user.createdAt.getTime()),
    lastLoginAt: user.lastLoginAt === null ? null : new Date(user.lastLoginAt.getTime()),
  };
}
