/**
 * Migrations of this server's meet_api_* tables in the meet layout. Their history is kept
 * in meet_api_migrations (and its lock in meet_api_migrations_lock), apart from Kysely's
 * default table names, so nothing this server creates in Meet's database is named outside
 * meet_api_*. Same rules as db/migrate.ts: static list, one transaction, retried on a
 * concurrent start.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Migrator, type Kysely, type Migration } from 'kysely';
import * as meetApiTables from './migrations/2026-12-03-001-meet-api-tables.js';

export const MEET_API_MIGRATIONS: Record<string, Migration> = {
  '2026-12-03-001-meet-api-tables': meetApiTables,
};

export const MEET_API_MIGRATION_TABLE = 'meet_api_migrations';
export const MEET_API_MIGRATION_LOCK_TABLE = 'meet_api_migrations_lock';

const ATTEMPTS = 5;

export async function migrateMeetApiToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MEET_API_MIGRATIONS },
    migrationTableName: MEET_API_MIGRATION_TABLE,
    migrationLockTableName: MEET_API_MIGRATION_LOCK_TABLE,
  });
  for (let attempt = 1; ; attempt++) {
    const result = await migrator.migrateToLatest();
    if (!result.error) return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    if (attempt >= ATTEMPTS) throw result.error;
    await sleep(50 * attempt);
  }
}
