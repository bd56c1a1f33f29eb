import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { AuditLog } from '../../application/deps.js';

export type Logger = PinoLogger;

/** JSON lines on stdout. Headers that carry credentials are redacted wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'pico-auth' },
    redact: { paths: ['*.authorization', '*.cookie', '*.password', '*.refresh_token', '*.access_token'], censor: '[redacted]' },
  });
}

/** Security events as structured lines, tagged with the request they came from. */
export function auditLog(logger: Logger, requestId: string): AuditLog {
  return {
    record(event, fields) {
      logger.info({ audit: event, reqId: requestId, ...fields }, event);
    },
  };
}
