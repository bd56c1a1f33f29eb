import { createHash } from 'node:crypto';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { API_PREFIX } from '../paths.js';

export interface DiscoveryOptions {
  issuer: string;
  algorithm: string;
  jwks: object;
}

/** Clients may cache keys briefly; the ETag makes revalidation cheap. */
const KEYS_CACHE_CONTROL = 'public, max-age=300';

/** JWKS and OIDC discovery, serialized once at start-up. */
export function discoveryRoutes(router: Router, options: DiscoveryOptions): void {
  const base = `${options.issuer}${API_PREFIX}`;
  const jwks = cachedJson(options.jwks);
  const configuration = cachedJson({
    issuer: options.issuer,
    jwks_uri: `${base}/jwks`,
    token_endpoint: `${base}/login`,
    userinfo_endpoint: `${base}/me`,
    revocation_endpoint: `${base}/logout`,
    grant_types_supported: ['password', 'refresh_token'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [options.algorithm],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: ['sub', 'email', 'role', 'org_id', 'iss', 'aud', 'iat', 'exp', 'jti'],
  });

  router.get(`${API_PREFIX}/jwks`, jwks);
  router.get('/.well-known/jwks.json', jwks);
  router.get('/.well-known/openid-configuration', configuration);
}

/** The bytes and headers are fixed at start-up: a request costs no serializing, encoding or type lookup. */
function cachedJson(document: object) {
  const body = Buffer.from(JSON.stringify(document));
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return (ctx: Context) => {
    ctx.set('Cache-Control', KEYS_CACHE_CONTROL);
    ctx.set('ETag', etag);
    const ifNoneMatch = ctx.get('If-None-Match');
    if (ifNoneMatch && matchesEtag(ifNoneMatch, etag)) {
      ctx.status = 304;
      return;
    }
    ctx.set('Content-Type', 'application/json; charset=utf-8');
    ctx.body = body;
  };
}

/** If-None-Match compares weakly (RFC 9110 §13.1.2): `*`, or any tag of the list, with or without `W/`. */
function matchesEtag(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}
