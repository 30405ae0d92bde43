/**
 * Schema migrations, applied in name order. The list is static (imported, not read from
 * disk) so the compiled server needs no file-system lookups and the order is reviewable.
 *
 * Several instances may start at once. All pending migrations run in one transaction:
 * on PostgreSQL under Kysely's advisory lock, on SQLite under BEGIN IMMEDIATE (see
 * database.ts), so each migration runs once and a crash leaves nothing half-applied. A
 * process that waited past the lock timeout tries again a few times before giving up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Migrator, type Kysely, type Migration } from 'kysely';
import * as initialSchema from './migrations/2026-11-28-001-initial-schema.js';
import * as roomAttendees from './migrations/2026-11-28-002-room-attendees.js';
import * as accessSortKey from './migrations/2026-11-28-003-access-sort-key.js';
import * as roomOptionsAndUserSub from './migrations/2026-12-02-004-room-options-and-user-sub.js';

/** Every migration by name (exported for the migration tests, which stop at an earlier one). */
export const migrations: Record<string, Migration> = {
  '2026-11-28-001-initial-schema': initialSchema,
  '2026-11-28-002-room-attendees': roomAttendees,
  '2026-11-28-003-access-sort-key': accessSortKey,
  '2026-12-02-004-room-options-and-user-sub': roomOptionsAndUserSub,
};

/** Every migration's name, in the order they apply. */
export const MIGRATION_NAMES = Object.keys(migrations).sort();

const ATTEMPTS = 5;

/** Applies what is pending; returns the names applied by this call. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  for (let attempt = 1; ; attempt++) {
    const result = await migrator.migrateToLatest();
    if (!result.error) {
      return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    }
    if (attempt >= ATTEMPTS) throw result.error;
    await sleep(50 * attempt);
  }
}
