/** One year, as the OWASP HSTS Cheat Sheet recommends. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/** What every answer carries, whatever its route: no content sniffing, and nothing to render or frame, since every answer is JSON. */
export const NO_SNIFFING_OR_FRAMING: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * The headers every routed answer carries (OWASP REST Security Cheat Sheet, ASVS V14.4):
 * the above, and HSTS when the issuer's URL is https. Browsers ignore HSTS over plain
 * HTTP (RFC 6797 §8.1), so it takes effect behind the TLS proxy the issuer names; a
 * plain-http issuer (a development setup) never pins its host to https. No
 * `includeSubDomains`: other hosts of the domain are not this server's to pin.
 */
export function standingHeaders(issuer: string): Readonly<Record<string, string>> {
  const hsts = issuer.startsWith('https://') ? { 'Strict-Transport-Security': `max-age=${HSTS_MAX_AGE_SECONDS}` } : {};
  return { ...NO_SNIFFING_OR_FRAMING, ...hsts };
}
