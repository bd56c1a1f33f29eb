import { createHash } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { requestIdFrom } from './context.js';
import { API_PREFIX } from './paths.js';

export interface DiscoveryOptions {
  issuer: string;
  algorithm: string;
  jwks: object;
}

/** Clients may cache keys briefly; the ETag makes revalidation cheap. */
const KEYS_CACHE_CONTROL = 'public, max-age=300';

/**
 * JWKS and OIDC discovery, answered ahead of Koa. Every resource server fetches them, and
 * they are fixed at start-up: bytes and headers are built once, and an answer is one
 * `writeHead` and one `end`. Through Koa, its context, middleware and per-header calls
 * cost more than the answer itself (bench/HISTORY.md). `answer` takes GET and HEAD of their
 * paths as @koa/router matched them (any letter case, one trailing slash allowed, the
 * target in origin or absolute form) and leaves every other request, and every other
 * method on these paths, to Koa.
 */
export function publicDocuments(options: DiscoveryOptions, standing: Readonly<Record<string, string>>) {
  const jwks = fixedJson(options.jwks, standing);
  const documents = new Map([
    [`${API_PREFIX}/jwks`, jwks],
    ['/.well-known/jwks.json', jwks],
    ['/.well-known/openid-configuration', fixedJson(discovery(options), standing)],
  ]);
  return {
    /** Answers the request if it asks for a document; false when it is Koa's. */
    answer(request: IncomingMessage, response: ServerResponse): boolean {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const document = documents.get(documentPath(request.url ?? ''));
      if (document === undefined) return false;
      document(request, response);
      return true;
    },
  };
}

function discovery(options: DiscoveryOptions): object {
  const base = `${options.issuer}${API_PREFIX}`;
  return {
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
  };
}

/**
 * The request target's path as Koa read it for the router: of an absolute-form target
 * (`GET http://host/path`, RFC 9112 §3.2.2), what follows the authority; without query
 * or fragment; lower-cased, less one trailing slash.
 */
function documentPath(target: string): string {
  const path = target.startsWith('/') ? target : afterAuthority(target);
  const end = path.search(/[?#]/);
  const bare = (end < 0 ? path : path.slice(0, end)).toLowerCase();
  return bare.length > 1 && bare.endsWith('/') ? bare.slice(0, -1) : bare;
}

function afterAuthority(target: string): string {
  const scheme = target.indexOf('://');
  if (scheme < 0) return target;
  const slash = target.indexOf('/', scheme + 3);
  return slash < 0 ? '/' : target.slice(slash);
}

/** A document's answer: 200 with its bytes, or 304 to a matching If-None-Match; either with the headers every answer carries. */
function fixedJson(document: object, standing: Readonly<Record<string, string>>) {
  const body = Buffer.from(JSON.stringify(document));
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const both: OutgoingHttpHeaders = { ...standing, 'Cache-Control': KEYS_CACHE_CONTROL, ETag: etag };
  const full: OutgoingHttpHeaders = { ...both, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length };
  return (request: IncomingMessage, response: ServerResponse) => {
    const requestId = requestIdFrom(request.headers['x-request-id']);
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch && matchesEtag(ifNoneMatch, etag)) {
      response.writeHead(304, { ...both, 'X-Request-Id': requestId }).end();
    } else {
      response.writeHead(200, { ...full, 'X-Request-Id': requestId }).end(request.method === 'HEAD' ? undefined : body);
    }
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
