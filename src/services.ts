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

export interface Services {
  users: UsersService;
  applications: ApplicationsService;
  rooms: RoomsService;
}

export function createServices(database: DatabaseHandle, config: Config, logger: Logger): Services {
  return {
    users: new UsersService(database.db),
    applications: new ApplicationsService(database.db, config),
    rooms: new RoomsService(database.db, config, logger),
  };
}
