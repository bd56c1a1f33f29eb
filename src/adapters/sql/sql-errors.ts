import { Unavailable } from '../../domain/errors.js';

const UNIQUE_VIOLATION = new Set(['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);
/**
 * What pg says, with no code, when a server does not answer: a lost or refused connection,
 * a connection attempt past its timeout (a server that accepts and then says nothing),
 * the pool's wait for one, a query past its client-side timeout.
 */
const CONNECTION_LOST = /Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|^timeout expired$|timeout exceeded when trying to connect|Query read timeout/i;
/** SQLite's primary codes for "cannot get at the file now"; extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, …) share their prefix. */
const SQLITE_UNREACHABLE = /^SQLITE_(BUSY|CANTOPEN|IOERR)(_|$)/;

export function isUniqueViolation(error: unknown): boolean {
  return UNIQUE_VIOLATION.has(codeOf(error));
}

/**
 * Turns "the database does not answer" into `Unavailable` (503, fail closed) and leaves
 * every other error as it is, so real bugs still surface as logged 500s.
 */
export function translateDbError(error: unknown): unknown {
  const code = codeOf(error);
  const name = error instanceof Error ? error.name : '';
  const connectionLost = CONNECTION_LOST.test(String((error as Error)?.message));
  // 08xxx: connection exceptions; 57P0x: shutting down or starting; 57014: statement
  // timeout; 53300: too many connections.
  if (UNREACHABLE.has(code) || SQLITE_UNREACHABLE.test(code) || /^(08|57P0|57014|53300)/.test(code) || name === 'KnexTimeoutError' || connectionLost) {
    return new Unavailable('database', { cause: error });
  }
  return error;
}

/** Runs a query and translates what it throws. */
export async function guarded<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    throw translateDbError(error);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
