import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';
import { TransportError } from './transport-error.js';

/** Largest request body accepted (SPEC §3: 413 above it). */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads a JSON body into `ctx.state.body`: size checked before reading (413), media
 * type checked (415), then parsed (400). Any JSON value is kept, since pico-auth
 * clients send some bodies as a bare string.
 */
export async function jsonBody(ctx: Context, next: Next): Promise<void> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!ctx.request.is('application/json')) {
    if (ctx.request.length || ctx.get('Transfer-Encoding')) {
      throw new TransportError(415, 'unsupported_media_type', 'Request body must be application/json');
    }
    throw new TransportError(400, 'invalid_request', 'A JSON request body is required');
  }
  ctx.state.body = parse(await readText(ctx, declaredCharset(ctx)));
  await next();
}

/**
 * Text encodings a JSON body may declare, each one raw-body can decode. Others are
 * refused (415) before reading rather than decoded:
 * base64 or UTF-7 would let a body slip past a proxy that inspects JSON.
 */
const READABLE_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii', 'iso-8859-1', 'latin1', 'utf-16', 'utf-16le', 'utf-16be']);

/**
 * JSON is UTF-8 (RFC 8259), but a client may declare another charset, as pico-auth
 * accepted: the body is read in it, so a password with non-ASCII letters is not misread.
 */
function declaredCharset(ctx: Context): string {
  // Parsing the header costs a little on every request; most declare no charset at all.
  if (!ctx.get('Content-Type').includes('charset')) return 'utf-8';
  const charset = ctx.request.charset.toLowerCase();
  if (charset === '') return 'utf-8';
  if (!READABLE_CHARSETS.has(charset)) throw unreadableCharset();
  return charset;
}

async function readText(ctx: Context, charset: string): Promise<string> {
  try {
    return await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, encoding: charset });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') throw tooLarge();
    throw new TransportError(400, 'invalid_request', 'Request body could not be read');
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TransportError(400, 'invalid_request', 'Request body is not valid JSON');
  }
}

function unreadableCharset(): TransportError {
  return new TransportError(415, 'unsupported_media_type', 'Request body charset is not supported');
}

function tooLarge(): TransportError {
  return new TransportError(413, 'payload_too_large', `Request body must be at most ${MAX_BODY_BYTES} bytes`);
}
