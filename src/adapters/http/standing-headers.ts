/** One year: long enough to matter, as HSTS preload lists ask. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/**
 * Headers every answer carries, whatever its route (OWASP REST Security Cheat Sheet,
 * ASVS V14.4): no content sniffing; nothing to render or frame, since every answer is
 * JSON; and, when the issuer's URL is https, HSTS. Browsers ignore HSTS over plain HTTP
 * (RFC 6797 §8.1), so it takes effect behind the TLS proxy the issuer names; a plain-http
 * issuer (a development setup) never pins its host to https. No `includeSubDomains`:
 * other hosts of the domain are not this server's to pin.
 */
export function standingHeaders(issuer: string): Readonly<Record<string, string>> {
  return {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    ...(issuer.startsWith('https://') ? { 'Strict-Transport-Security': `max-age=${HSTS_MAX_AGE_SECONDS}` } : {}),
  };
}
