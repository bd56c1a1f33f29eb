import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { RefreshSecrets } from '../../application/ports.js';

/**
 * Refresh-token secrets keyed by material derived (HKDF) from the signing key, so every
 * instance sharing the key directory agrees on hashes and successors with no extra file.
 */
export class HmacRefreshSecrets implements RefreshSecrets {
  readonly #hashKey: Buffer;
  readonly #successorKey: Buffer;

  constructor(keyMaterial: Buffer) {
    this.#hashKey = derive(keyMaterial, 'pico-auth refresh-token hash');
    this.#successorKey = derive(keyMaterial, 'pico-auth refresh-token successor');
  }

  /** 256 bits, base64url: 43 characters. */
  generate(): string {
    return randomBytes(32).toString('base64url');
  }

  successorOf(parent: string): string {
    return createHmac('sha256', this.#successorKey).update(parent).digest('base64url');
  }

  /** 64 hex characters: fits pico-auth's `token_hash VARCHAR(64)`. */
  hashOf(token: string): string {
    return createHmac('sha256', this.#hashKey).update(token).digest('hex');
  }
}

function derive(keyMaterial: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', keyMaterial, 'pico-auth', purpose, 32));
}
