/**
 * Timestamps are written as pico-auth wrote them (`2026-02-20T10:15:30.123000+00:00`):
 * SQLite keeps the text, so an adopted database stays uniform and sortable, and
 * PostgreSQL reads the same text into `timestamptz`.
 */
export function toDbTime(date: Date): string {
  return date.toISOString().replace('Z', '000+00:00');
}

/** PostgreSQL hands back a Date, SQLite the text above (or pico-auth's own). */
export function fromDbTime(value: unknown): Date {
  const date = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new Error(`Unreadable timestamp in database: ${String(value)}`);
  return date;
}

export function fromDbTimeOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : fromDbTime(value);
}
