/** Conversions at the repository boundary: driver values in, plain JavaScript out. */

/** SQLite answers 0/1, PostgreSQL true/false. */
export function toBoolean(value: number | boolean): boolean {
  return value === true || value === 1;
}

/** Written as 1/0: SQLite has no boolean, and PostgreSQL reads '1'/'0' as booleans. */
export function fromBoolean(value: boolean): number {
  return value ? 1 : 0;
}

/** SQLite answers ISO text, PostgreSQL a Date. */
export function toIsoString(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

export function nowIso(): string {
  return new Date().toISOString();
}
