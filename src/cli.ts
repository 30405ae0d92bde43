/**
 * meet-api: the operator's command line (CONTRACT §3). Each command is a thin shell over
 * the same services the HTTP API uses; it opens the database named by DATABASE_URL,
 * creates the schema if needed, does one thing, and prints the result (exactly one JSON
 * document with --json). Errors go to stderr with a non-zero exit.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.js';
import { isDatabaseUnavailable, openDatabase, type DatabaseHandle } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { ApiError } from './errors.js';
import { createLogger } from './logger.js';
import { viewApplication } from './applications/applications.service.js';
import { viewRoom } from './rooms/room-view.js';
import { ACCESS_LEVELS, ROLES, parseAccessLevel, type Room } from './rooms/rooms.service.js';
import { splitList } from './scopes.js';
import { createServices, type Services } from './services.js';
import { viewUser } from './users/users.service.js';

interface Context {
  config: Config;
  database: DatabaseHandle;
  services: Services;
}

type Printable = Record<string, unknown> | Record<string, unknown>[];

/** Exit status for input the command refuses (bad flag values, unknown ids). */
const EXIT_INPUT = 1;
/** Exit status when the command could not run at all (database unavailable, unexpected failure). */
const EXIT_UNAVAILABLE = 2;

class UsageError extends Error {}

/** Opens everything a command needs, runs it, and always closes the database. */
async function withContext<T>(run: (context: Context) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // The CLI's own log lines (the audit line of a room it creates) go to stderr: stdout is for results.
  const logger = createLogger(config.logLevel, process.stderr);
  const database = openDatabase(config);
  try {
    await migrateToLatest(database.db);
    return await run({ config, database, services: createServices(database, config, logger) });
  } finally {
    await database.close();
  }
}

function print(value: Printable, json: boolean | undefined, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

function describe(record: Record<string, unknown>): string {
  return Object.entries(record)
    .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') || '-' : value === null ? '-' : String(value)}`)
    .join('\n');
}

function table(records: Record<string, unknown>[], columns: string[]): string {
  if (records.length === 0) return '(none)';
  const cell = (value: unknown) => (Array.isArray(value) ? value.join(',') || '-' : value === null || value === undefined ? '-' : String(value));
  const widths = columns.map((c) => Math.max(c.length, ...records.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), ...records.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

/** --active / --inactive, refusing both at once. */
function activeFlag(options: { active?: boolean; inactive?: boolean }): boolean | undefined {
  if (options.active && options.inactive) throw new UsageError('choose one of --active and --inactive, not both');
  if (options.active) return true;
  if (options.inactive) return false;
  return undefined;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...splitList(value)];
}

function roomWithPin(room: Room, config: Config): Record<string, unknown> {
  return { ...viewRoom(room, config), pin_code: room.pinCode };
}

export function buildProgram(): Command {
  const program = new Command('meet-api')
    .description('Meet External API server and its operator commands')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('start the HTTP server (same as npm start)')
    .action(async () => {
      const { main } = await import('./server.js');
      await main();
    });

  program
    .command('migrate')
    .description('create or upgrade the database schema')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const database = openDatabase(config);
      try {
        const applied = await migrateToLatest(database.db);
        print({ applied, store: database.dialect }, options.json, () =>
          applied.length === 0 ? 'schema is up to date' : `applied: ${applied.join(', ')}`,
        );
      } finally {
        await database.close();
      }
    });

  const apps = program.command('apps').description('register and manage client applications');

  apps
    .command('create')
    .description('register an application; its secret is shown once')
    .requiredOption('--name <name>', 'display name')
    .option('--scopes <list>', 'comma-separated scopes (rooms:list,rooms:retrieve,rooms:create,rooms:update,rooms:delete)')
    .option('--domains <list>', 'comma-separated email domains the application may act for (all when none)')
    .option('--client-id <id>', 'use this client id instead of a generated one')
    .option('--secret <secret>', 'use this client secret instead of a generated one (at least 32 characters)')
    .option('--inactive', 'create it deactivated')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async ({ services }) => {
        const { application, secret } = await services.applications.createApplication({
          name: options.name,
          scopes: splitList(options.scopes),
          domains: splitList(options.domains),
          clientId: options.clientId,
          secret: options.secret,
          isActive: !options.inactive,
        });
        const view = viewApplication(application, secret);
        print({ ...view }, options.json, () => `${describe({ ...view })}\n\nStore the client_secret now: it is not shown again.`);
      });
    });

  apps
    .command('list')
    .description('list applications (without secrets)')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async ({ services }) => {
        const views = (await services.applications.listApplications()).map((a) => ({ ...viewApplication(a) }));
        print(views, options.json, () => table(views, ['client_id', 'name', 'is_active', 'scopes', 'domains']));
      });
    });

  apps
    .command('show <clientId>')
    .description('show one application')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options) => {
      await withContext(async ({ services }) => {
        const view = { ...viewApplication(await services.applications.getApplication(clientId)) };
        print(view, options.json, () => describe(view));
      });
    });

  apps
    .command('update <clientId>')
    .description('change an application')
    .option('--name <name>', 'new display name')
    .option('--scopes <list>', 'replace the scopes (comma-separated; empty string for none)')
    .option('--active', 'activate')
    .option('--inactive', 'deactivate: its tokens stop working at once')
    .option('--add-domain <domain>', 'allow an email domain (repeatable, or comma-separated)', collect, [])
    .option('--remove-domain <domain>', 'stop allowing an email domain (repeatable, or comma-separated)', collect, [])
    .option('--json', 'print JSON')
    .action(async (clientId: string, options) => {
      const isActive = activeFlag(options);
      await withContext(async ({ services }) => {
        const application = await services.applications.updateApplication(clientId, {
          name: options.name,
          scopes: options.scopes === undefined ? undefined : splitList(options.scopes),
          isActive,
          addDomains: options.addDomain,
          removeDomains: options.removeDomain,
        });
        const view = { ...viewApplication(application) };
        print(view, options.json, () => describe(view));
      });
    });

  apps
    .command('rotate-secret <clientId>')
    .description('replace the client secret; the old one stops working at once')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options) => {
      await withContext(async ({ services }) => {
        const { application, secret } = await services.applications.rotateSecret(clientId);
        const view = { ...viewApplication(application, secret) };
        print(view, options.json, () => `${describe(view)}\n\nStore the client_secret now: it is not shown again.`);
      });
    });

  apps
    .command('delete <clientId>')
    .description('delete an application; its tokens stop working at once')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options) => {
      await withContext(async ({ services }) => {
        const application = await services.applications.deleteApplication(clientId);
        print({ deleted: true, client_id: application.clientId }, options.json, () => `deleted application ${application.clientId}`);
      });
    });

  const users = program.command('users').description('manage users');

  users
    .command('create')
    .description('create a user')
    .requiredOption('--email <email>', 'email address (unique, case-insensitive)')
    .option('--inactive', 'create it deactivated')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async ({ services }) => {
        const view = { ...viewUser(await services.users.createUser({ email: options.email, isActive: !options.inactive })) };
        print(view, options.json, () => describe(view));
      });
    });

  users
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async ({ services }) => {
        const views = (await services.users.listUsers()).map((u) => ({ ...viewUser(u) }));
        print(views, options.json, () => table(views, ['id', 'email', 'is_active']));
      });
    });

  users
    .command('update <email>')
    .description('activate or deactivate a user')
    .option('--active', 'activate')
    .option('--inactive', 'deactivate: the user\'s tokens stop working at once')
    .option('--json', 'print JSON')
    .action(async (email: string, options) => {
      const isActive = activeFlag(options);
      await withContext(async ({ services }) => {
        const user = isActive === undefined ? await services.users.getUserByEmail(email) : await services.users.setUserActive(email, isActive);
        const view = { ...viewUser(user) };
        print(view, options.json, () => describe(view));
      });
    });

  const rooms = program.command('rooms').description('manage rooms');

  rooms
    .command('create')
    .description('create a room owned by a user')
    .requiredOption('--owner <email>', 'the owner\'s email')
    .addOption(new Option('--access-level <level>', 'access level').choices([...ACCESS_LEVELS]).default('trusted'))
    .option('--json', 'print JSON')
    .action(async (options) => {
      const accessLevel = parseAccessLevel(options.accessLevel);
      await withContext(async ({ services, config }) => {
        const owner = await services.users.getUserByEmail(options.owner);
        const room = await services.rooms.createRoom({ ownerId: owner.id, clientId: null, accessLevel });
        const view = roomWithPin(room, config);
        print(view, options.json, () => describe(view));
      });
    });

  rooms
    .command('grant <roomId>')
    .description('give a user a role on a room (replacing the role they had)')
    .requiredOption('--user <email>', 'the user\'s email')
    .addOption(new Option('--role <role>', 'role').choices([...ROLES]).makeOptionMandatory())
    .option('--json', 'print JSON')
    .action(async (roomId: string, options) => {
      await withContext(async ({ services }) => {
        const user = await services.users.getUserByEmail(options.user);
        const { room, role } = await services.rooms.grantRole(roomId, user.id, options.role);
        const view = { room_id: room.id, user_id: user.id, email: user.email, role };
        print(view, options.json, () => describe(view));
      });
    });

  rooms
    .command('attendees <roomId>')
    .description('show a room\'s attendees (emails that skip the lobby), or replace them with --set')
    .option('--set <emails>', 'replace the list (comma-separated; "" clears it)')
    .option('--json', 'print JSON')
    .action(async (roomId: string, options) => {
      await withContext(async ({ services, config }) => {
        const room =
          options.set === undefined
            ? await services.rooms.getRoom(roomId)
            : await services.rooms.setAttendees(roomId, splitList(options.set));
        const view = roomWithPin(room, config);
        print(view, options.json, () => describe(view));
      });
    });

  rooms
    .command('delete <roomId>')
    .description('delete a room with its accesses and attendees')
    .option('--json', 'print JSON')
    .action(async (roomId: string, options) => {
      await withContext(async ({ services }) => {
        const room = await services.rooms.deleteRoom(roomId);
        print({ deleted: true, id: room.id, slug: room.slug }, options.json, () => `deleted room ${room.id} (${room.slug})`);
      });
    });

  rooms
    .command('list')
    .description('list rooms, all or those a user holds a role on')
    .option('--user <email>', 'only this user\'s rooms')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async ({ services, config }) => {
        let found: Room[];
        if (options.user === undefined) found = await services.rooms.listAllRooms();
        else {
          const user = await services.users.getUserByEmail(options.user);
          found = (await services.rooms.listRoomsForUser(user.id, 1, Number.MAX_SAFE_INTEGER)).rooms;
        }
        const views = found.map((room) => roomWithPin(room, config));
        print(views, options.json, () => table(views, ['id', 'slug', 'access_level', 'pin_code']));
      });
    });

  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed help or its message; --help and --version are not errors.
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`meet-api: configuration error: ${error.message}\n`);
    } else if (error instanceof ApiError || error instanceof UsageError) {
      process.stderr.write(`meet-api: ${error.message}\n`);
    } else if (isDatabaseUnavailable(error)) {
      // Busy or unreachable, not broken: the operator needs the reason, not our stack.
      process.stderr.write(`meet-api: the database is unavailable: ${(error as Error).message}\n`);
      return EXIT_UNAVAILABLE;
    } else {
      process.stderr.write(`meet-api: ${(error as Error).stack ?? String(error)}\n`);
      return EXIT_UNAVAILABLE;
    }
    return EXIT_INPUT;
  }
}

runCli(process.argv).then((code) => {
  process.exitCode = code;
});
