/**
 * The database layout (DATABASE_LAYOUT), decided here and nowhere else. Services and
 * routes are the same in both; what differs is whose tables the repositories read and
 * write, how client secrets are stored, and which schema this server maintains:
 * - native: this server's own tables (users, applications, rooms, ...), created and
 *   upgraded by db/migrate.ts;
 * - meet: a La Suite Meet deployment's tables (meet_user, meet_application, meet_room, ...),
 *   which Django owns: this server checks them at start (meet/meet-schema-check.ts) and
 *   creates and upgrades only its own meet_api_* tables (meet/meet-migrate.ts).
 */
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { ConfigError } from '../config.js';
import type { Config, DatabaseLayout } from '../config.js';
import type { DatabaseHandle } from './database.js';
import { migrateToLatest } from './migrate.js';
import { nativeApplicationsRepository, type ApplicationsRepository } from '../applications/applications.repository.js';
import { djangoSecretScheme, nativeSecretScheme, type SecretScheme } from '../applications/secret-scheme.js';
import { nativeRoomsRepository, type RoomsRepository } from '../rooms/rooms.repository.js';
import { nativeUsersRepository, type UsersRepository } from '../users/users.repository.js';
import { meetApplicationsRepository } from '../meet/meet-applications.repository.js';
import { meetRoomsRepository } from '../meet/meet-rooms.repository.js';
import { meetUsersRepository } from '../meet/meet-users.repository.js';
import { migrateMeetApiToLatest } from '../meet/meet-migrate.js';
import { checkMeetSchema } from '../meet/meet-schema-check.js';

export interface Repositories {
  readonly layout: DatabaseLayout;
  readonly users: UsersRepository;
  readonly applications: ApplicationsRepository;
  readonly rooms: RoomsRepository;
  readonly secrets: SecretScheme;
}

export interface RepositoryOptions {
  /**
   * PBKDF2 iterations of the Django hashes written in the meet layout (default: Django's
   * 1,000,000). Only the tests lower it, so that registering hundreds of applications does
   * not cost a third of a second of CPU each; verification reads each hash's own count.
   */
  djangoHashIterations?: number;
}

export function createRepositories(
  config: Pick<Config, 'databaseLayout' | 'telephony'>,
  logger: Logger,
  options: RepositoryOptions = {},
): Repositories {
  if (config.databaseLayout === 'meet') {
    return {
      layout: 'meet',
      users: meetUsersRepository,
      applications: meetApplicationsRepository,
      rooms: meetRoomsRepository({ telephonyEnabled: config.telephony.enabled }),
      secrets: djangoSecretScheme({ log: logger, iterations: options.djangoHashIterations }),
    };
  }
  return {
    layout: 'native',
    users: nativeUsersRepository,
    applications: nativeApplicationsRepository,
    rooms: nativeRoomsRepository,
    secrets: nativeSecretScheme,
  };
}

/**
 * Makes the database ready for this layout before anything is served: the native schema
 * migrated; or Meet's schema checked (a ConfigError naming what is missing) and this
 * server's meet_api_* tables migrated. Returns the migrations applied.
 */
export async function prepareDatabase(database: DatabaseHandle, config: Pick<Config, 'databaseLayout'>): Promise<string[]> {
  if (config.databaseLayout === 'meet') {
    await checkMeetSchema(database.db);
    return migrateMeetApiToLatest(database.db);
  }
  if (database.dialect === 'postgres') await refuseMeetDatabase(database);
  return migrateToLatest(database.db);
}

/**
 * The native layout pointed at a Meet deployment's database (DATABASE_LAYOUT forgotten)
 * would create this server's own tables beside Meet's and serve rooms nobody can join:
 * refused, unless this server's tables are already there (then it was meant).
 */
async function refuseMeetDatabase(database: DatabaseHandle): Promise<void> {
  const { rows } = await sql<{ meet: boolean; ours: boolean }>`
    select to_regclass('meet_room') is not null as meet, to_regclass('kysely_migration') is not null as ours`.execute(database.db);
  const found = rows[0];
  if (found?.meet === true && found.ours !== true) {
    throw new ConfigError(
      'DATABASE_LAYOUT',
      "DATABASE_URL names a La Suite Meet database (it has Meet's tables): set DATABASE_LAYOUT=meet to work on them; the native layout would create its own tables beside them",
    );
  }
}
