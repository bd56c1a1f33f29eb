import { InvalidRequest } from '../../domain/errors.js';

/** Reads typed fields from a parsed JSON body; unknown fields are ignored, wrong types are 400. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequest('Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

export function requiredString(body: Record<string, unknown>, name: string): string {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (typeof value !== 'string' || value.length === 0) throw new InvalidRequest(`${name} is required and must be a non-empty string`);
  return value;
}

/**
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): in a
 * name shown back to others they reorder what follows them, so one user's name can pass
 * for another's ("Trojan Source", CVE-2021-42574). Right-to-left text needs none of them.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;
/** Line and paragraph separators (U+2028, U+2029): a name is one line wherever it is shown. */
const LINE_SEPARATORS = /[\p{Zl}\p{Zp}]/u;

/** Text to store and show back: no control characters (PostgreSQL's text cannot even hold NUL). */
export function optionalString(body: Record<string, unknown>, name: string, maxLength: number): string | undefined {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) throw new InvalidRequest(`${name} must be a string of at most ${maxLength} characters`);
  if (/\p{Cc}/u.test(value) || BIDI_CONTROLS.test(value) || LINE_SEPARATORS.test(value)) throw new InvalidRequest(`${name} must not contain control characters, line separators or bidirectional overrides`);
  return value;
}

/** `{"<name>": "..."}` or, as pico-auth clients send it, the bare JSON string. */
export function stringOrField(body: unknown, name: string): string {
  if (typeof body === 'string') {
    if (body.length === 0) throw new InvalidRequest(`${name} is required and must be a non-empty string`);
    return body;
  }
  return requiredString(objectBody(body), name);
}

/**
 * A non-negative integer query parameter, or the default when absent. Any number of
 * digits is one: a value too large for the database reads as the largest it takes (a
 * `limit` is clamped further, an `offset` past the end is an empty page).
 */
export function queryInteger(value: string | string[] | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new InvalidRequest(`${name} must be a non-negative integer`);
  return Math.min(Number(value), Number.MAX_SAFE_INTEGER);
}
