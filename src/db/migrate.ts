/**
 * Schema migrations, applied in name order. The list is static (imported, not read from
 * disk) so the compiled server needs no file-system lookups and the order is reviewable.
 * Kysely's migrator takes a database lock, so several instances starting at once apply
 * each migration exactly once.
 */
import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import * as initialSchema from './migrations/2026-11-28-001-initial-schema.js';

const migrations: Record<string, Migration> = {
  '2026-11-28-001-initial-schema': initialSchema,
};

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
