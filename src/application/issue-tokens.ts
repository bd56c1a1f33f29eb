import type { User } from '../domain/user.js';
import type { Deps } from './deps.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** Signs an access token for the user as stored now, paired with `refreshToken`. */
export async function issueTokens(deps: Pick<Deps, 'signer'>, user: User, refreshToken: string): Promise<TokenPair> {
  const accessToken = await deps.signer.sign({ sub: user.id, email: user.email, role: user.role, org_id: user.orgId });
  return { accessToken, refreshToken, expiresIn: deps.signer.expiresInSeconds };
}
