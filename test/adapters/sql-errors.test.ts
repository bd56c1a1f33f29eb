import { describe, expect, it } from 'vitest';
import { translateDbError } from '../../src/adapters/sql/sql-errors.js';
import { Unavailable } from '../../src/domain/errors.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('translateDbError', () => {
  it.each(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN', 'ECONNREFUSED', '08006', '57P01', '57014'])(
    'answers %s as the database being unavailable (503, fail closed)',
    (code) => {
      expect(translateDbError(withCode(code))).toBeInstanceOf(Unavailable);
    },
  );

  it.each(['timeout expired', 'timeout exceeded when trying to connect', 'Query read timeout', 'Connection terminated unexpectedly'])(
    "answers pg's code-less %j as the database being unavailable (503), not a 500",
    (message) => {
      expect(translateDbError(new Error(message))).toBeInstanceOf(Unavailable);
    },
  );

  it.each(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_BUSYNESS', '23505', '42P01'])('leaves %s as it is, so a real bug stays a logged 500', (code) => {
    const error = withCode(code);
    expect(translateDbError(error)).toBe(error);
  });
});
