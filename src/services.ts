/**
 * The service layer, assembled once. HTTP routes and the CLI both take their services
 * from here, so a rule lives in exactly one place whichever door a request came through.
 */
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import { ApplicationsService } from './applications/applications.service.js';
import { RoomsService } from './rooms/rooms.service.js';
import { UsersService } from './users/users.service.js';
import { createRepositories, type RepositoryOptions } from './db/layout.js';

export interface Services {
  users: UsersService;
  applications: ApplicationsService;
  rooms: RoomsService;
}

/** The repositories come from the layout (db/layout.ts); everything above them is the same in both. */
export function createServices(database: DatabaseHandle, config: Config, logger: Logger, options: RepositoryOptions = {}): Services {
  const repos = createRepositories(config, logger, options);
  return {
    users: new UsersService(database.db, repos),
    applications: new ApplicationsService(database.db, repos, config),
    rooms: new RoomsService(database.db, repos.rooms, config, logger),
  };
}
