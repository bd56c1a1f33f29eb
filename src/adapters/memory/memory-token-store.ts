import type { TokenStore } from '../../application/ports.js';
import { isLive } from '../../domain/refresh-token.js';
import type { RefreshToken } from '../../domain/refresh-token.js';

/**
 * A `TokenStore` held in process memory, for tests and the contract suite. Each method
 * runs without an `await` between its check and its write, which is what makes `rotate`
 * atomic on Node's single thread. Tokens cross the border as copies.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #byHash = new Map<string, RefreshToken>();

  async create(token: RefreshToken): Promise<void> {
    if (this.#byHash.has(token.hash)) throw new Error('Duplicate refresh token hash');
    this.#byHash.set(token.hash, copyOf(token));
  }

  async findByHash(hash: string): Promise<RefreshToken | undefined> {
    const token = this.#byHash.get(hash);
    return token && copyOf(token);
  }

  async rotate(parentHash: string, successor: RefreshToken, now: Date): Promise<boolean> {
    const parent = this.#byHash.get(parentHash);
    // "Live" includes not expired: a token that expired since the caller looked is not rotated.
    if (!parent || !isLive(parent, now) || this.#byHash.has(successor.hash)) return false;
    parent.consumedAt = new Date(now.getTime());
    this.#byHash.set(successor.hash, copyOf(successor));
    return true;
  }

  async revokeFamily(familyId: string, now: Date): Promise<void> {
    this.#revokeWhere((t) => t.familyId === familyId, now);
  }

  async deleteExpired(before: Date): Promise<void> {
    for (const [hash, token] of this.#byHash) if (token.expiresAt < before) this.#byHash.delete(hash);
  }

  async revokeAllForUser(userId: string, now: Date): Promise<void> {
    this.#revokeWhere((t) => t.userId === userId, now);
  }

  async ping(): Promise<void> {}

  /** A linear scan: fine for a test fake; the real adapters index family and user. */
  #revokeWhere(matches: (token: RefreshToken) => boolean, now: Date): void {
    for (const token of this.#byHash.values()) {
      if (token.revokedAt === null && matches(token)) token.revokedAt = new Date(now.getTime());
    }
  }
}

function copyOf(token: RefreshToken): RefreshToken {
  return {
    ...token,
    expiresAt: new Date(token.expiresAt.getTime()),
    createdAt: new Date(token.createdAt.getTime()),
    consumedAt: token.consumedAt === null ? null : new Date(token.consumedAt.getTime()),
    revokedAt: token.revokedAt === null ? null : new Date(token.revokedAt.getTime()),
  };
}
