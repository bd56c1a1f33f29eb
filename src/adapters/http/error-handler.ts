import type { Context, Next } from 'koa';
import { AuthError, InvalidCredentials, InvalidToken, TokenExpired, TooManyRequests } from '../../domain/errors.js';
import type { ErrorCode } from '../../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import { TransportError } from './transport-error.js';

/** The one place where an error becomes a status (SPEC §3). */
const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  weak_password: 400,
  invalid_role: 400,
  invalid_credentials: 401,
  unauthenticated: 401,
  invalid_token: 401,
  token_expired: 401,
  token_reused: 401,
  forbidden: 403,
  user_suspended: 403,
  registration_disabled: 403,
  not_found: 404,
  user_exists: 409,
  last_superadmin: 409,
  too_many_requests: 429,
  unavailable: 503,
};

/**
 * Sent with every `unavailable` error (503, RFC 9110 §10.2.3): a store that does not
 * answer, or hashing saturated by a flood, is mostly back within seconds, and a client that
 * retries at once only adds to the load. (`/ready`'s 503 is for probes, which keep their
 * own pace.)
 */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;
/** A 503's reason is logged at most this often: see `errorHandler`. */
const UNAVAILABLE_LOG_INTERVAL_MS = 1_000;
/** Reasons remembered at once; past it they are forgotten together (the next of each is logged). */
const MAX_UNAVAILABLE_REASONS = 100;

/**
 * First in the chain: every error becomes `{error, code}` with its status. Anything
 * unexpected is logged in full and answered with a generic 500. A 503 (a store down, the
 * hasher saturated) is logged once a second per reason (what is unavailable, and why),
 * its line counting those it stands for: a flood of cheap refused requests must not
 * become a flood of log lines, nor hide a rarer reason. `now` is monotonic by default, so
 * a clock stepped back cannot silence them.
 */
export function errorHandler(logger: Logger, now: () => number = () => performance.now()) {
  const unavailable = new Map<string, { until: number; repeats: number }>();
  const logFailure = (error: unknown, status: number, message: string, reqId: unknown) => {
    if (status !== 503) return logger.error({ err: error, reqId, status }, 'request failed');
    const at = now();
    const reason = `${message}: ${String((error as Error).cause)}`;
    const last = unavailable.get(reason);
    if (last && at < last.until) return void last.repeats++;
    if (unavailable.size >= MAX_UNAVAILABLE_REASONS) unavailable.clear();
    unavailable.set(reason, { until: at + UNAVAILABLE_LOG_INTERVAL_MS, repeats: 0 });
    logger.error({ err: error, reqId, status, repeatsSinceLastLine: last?.repeats ?? 0 }, 'request failed');
  };
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new TransportError(404, 'not_found', 'Not found');
    } catch (error) {
      const { status, code, message } = describe(error);
      if (status >= 500) logFailure(error, status, message, ctx.state.requestId);
      ctx.status = status;
      ctx.body = { error: message, code };
      if (status === 401) ctx.set('WWW-Authenticate', challenge(error));
      if (error instanceof TooManyRequests) ctx.set('Retry-After', String(error.retryAfterSeconds));
      if (status === 503) ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    }
  };
}

function describe(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof InvalidCredentials && !error.atLogin) return { status: 400, code: error.code, message: error.message };
  if (error instanceof AuthError) return { status: STATUS[error.code], code: error.code, message: error.message };
  if (error instanceof TransportError) return { status: error.status, code: error.code, message: error.message };
  return { status: 500, code: 'internal_error', message: 'Internal server error' };
}

/** RFC 6750 §3: `error="invalid_token"` only when a bearer token was presented and refused. */
function challenge(error: unknown): string {
  const refusedBearer = (error instanceof InvalidToken || error instanceof TokenExpired) && error.bearer;
  return refusedBearer ? 'Bearer realm="pico-auth", error="invalid_token"' : 'Bearer realm="pico-auth"';
}
