import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, errors, exportJWK, jwtVerify, SignJWT } from 'jose';
import type { JWK } from 'jose';
import type { AccessClaims, Clock, TokenSigner } from '../../application/ports.js';
import { InvalidToken, TokenExpired } from '../../domain/errors.js';
import { ROLES } from '../../domain/user.js';
import type { Role } from '../../domain/user.js';
import type { Algorithm } from '../config/config.js';
import type { KeyPair } from './key-files.js';

/** Clock skew tolerated between this server and the services verifying its tokens (SPEC §3). */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** Verified tokens remembered (about 1 KB each), so a busy client's token is checked once, not per request. */
const VERIFIED_CACHE_SIZE = 10_000;

export interface SignerOptions {
  algorithm: Algorithm;
  issuer: string;
  audience: string;
  expiresInSeconds: number;
}

/** Signs and verifies access tokens with one pinned algorithm and key (RFC 8725). */
export class JoseTokenSigner implements TokenSigner {
  readonly expiresInSeconds: number;
  readonly #keys: KeyPair;
  readonly #options: SignerOptions;
  readonly #clock: Clock;
  readonly #kid: string;
  readonly #jwk: JWK;
  /** Token → its claims and when it stops being valid; insertion order makes the oldest the first to go. */
  readonly #verified = new Map<string, { claims: AccessClaims; validUntil: number }>();

  private constructor(keys: KeyPair, options: SignerOptions, clock: Clock, jwk: JWK, kid: string) {
    this.#keys = keys;
    this.#options = options;
    this.#clock = clock;
    this.#jwk = jwk;
    this.#kid = kid;
    this.expiresInSeconds = Math.max(1, Math.round(options.expiresInSeconds));
  }

  static async create(keys: KeyPair, options: SignerOptions, clock: Clock): Promise<JoseTokenSigner> {
    const jwk = await exportJWK(keys.publicKey);
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    return new JoseTokenSigner(keys, options, clock, jwk, kid);
  }

  /** The public JWK Set, serialized once (SPEC §4 `/jwks`). */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.#jwk, kid: this.#kid, use: 'sig', alg: this.#options.algorithm }] };
  }

  async sign(claims: AccessClaims): Promise<string> {
    const now = Math.floor(this.#clock.now().getTime() / 1000);
    return new SignJWT({ email: claims.email, role: claims.role, org_id: claims.org_id })
      .setProtectedHeader({ alg: this.#options.algorithm, typ: 'JWT', kid: this.#kid })
      .setSubject(claims.sub)
      .setIssuer(this.#options.issuer)
      .setAudience(this.#options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.expiresInSeconds)
      .setJti(randomUUID())
      .sign(this.#keys.privateKey);
  }

  /**
   * A token seen before skips the signature check (the same string carries the same
   * signature) but never the expiry, nor the age limit; callers still load the user on
   * every request.
   */
  async verify(token: string): Promise<AccessClaims> {
    const seen = this.#verified.get(token);
    if (seen) {
      // Refused from then on, as jose refuses a token it has not seen.
      if (this.#clock.now().getTime() / 1000 < seen.validUntil + CLOCK_TOLERANCE_SECONDS) return seen.claims;
      this.#verified.delete(token);
      throw new TokenExpired(true);
    }
    const verified = await this.#verifyFully(token);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, verified);
    return verified.claims;
  }

  async #verifyFully(token: string): Promise<{ claims: AccessClaims; validUntil: number }> {
    try {
      // Refuse foreign kids before any cryptography; jwk/jku/x5u headers are never read.
      if (decodeProtectedHeader(token).kid !== this.#kid) throw new InvalidToken('Unknown signing key', true);
      const { payload } = await jwtVerify(token, this.#keys.publicKey, {
        algorithms: [this.#options.algorithm],
        // Explicit typing (RFC 8725 §3.11): what this key signs as some other kind of JWT is no access token.
        typ: 'JWT',
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // Bounds `iat` both ways: no token issued in the future, none older than its lifetime.
        maxTokenAge: this.expiresInSeconds,
        currentDate: this.#clock.now(),
      });
      // Its `exp`, or sooner if the lifetime configured now is shorter than the one it was issued with.
      const validUntil = Math.min(payload.exp as number, (payload.iat as number) + this.expiresInSeconds);
      return { claims: toAccessClaims(payload), validUntil };
    } catch (error) {
      throw asTokenError(error);
    }
  }
}

function toAccessClaims(payload: Record<string, unknown>): AccessClaims {
  const { sub, email, role, org_id } = payload;
  const isRole = (value: unknown): value is Role => ROLES.some((r) => r === value);
  if (typeof sub !== 'string' || typeof email !== 'string' || typeof org_id !== 'string' || !isRole(role)) {
    throw new InvalidToken('Token claims are invalid', true);
  }
  return { sub, email, role, org_id };
}

function asTokenError(error: unknown): InvalidToken | TokenExpired {
  if (error instanceof InvalidToken) return error;
  if (error instanceof errors.JWTExpired) return new TokenExpired(true);
  return new InvalidToken('Token is invalid', true, { cause: error });
}
