import { MAX_REFRESH_TOKEN_LENGTH } from '../domain/refresh-token.js';
import type { Deps } from './deps.js';

/** Revokes the token's whole family. Unknown tokens are not an error: the session is gone either way. */
export async function logout(deps: Deps, presented: string): Promise<void> {
  if (presented.length === 0 || presented.length > MAX_REFRESH_TOKEN_LENGTH) return;
  const token = await deps.tokens.findByHash(deps.secrets.hashOf(presented));
  if (token) await deps.tokens.revokeFamily(token.familyId, deps.clock.now());
}
