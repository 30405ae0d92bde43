/** `meet-api rooms ...`: create and change rooms, grant and revoke roles, set attendees, list and delete. */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { viewRoom } from '../rooms/room-view.js';
import { ACCESS_LEVELS, ROLES, type Room } from '../rooms/rooms.service.js';
import { splitList } from '../scopes.js';
import { addContextAction, described, jsonArgument, tabulated, userKey } from './command.js';

/** The room as the API shows it, plus the PIN the operator may need to hand over. */
function roomWithPin(room: Room, config: Config): Record<string, unknown> {
  return { ...viewRoom(room, config), pin_code: room.pinCode };
}

const accessLevelOption = () => new Option('--access-level <level>', 'access level').choices(ACCESS_LEVELS);
const configurationOption = () =>
  new Option('--configuration <json>', 'the room\'s options as JSON, e.g. \'{"everyone_can_mute": false}\'').argParser(
    // null reads as {}, as in the API; said here because Commander turns a parser's null into ''.
    (value) => jsonArgument('--configuration', value) ?? {},
  );

export function addRoomsCommands(program: Command): void {
  const rooms = program.command('rooms').description('manage rooms');

  addContextAction(
    rooms
      .command('create')
      .description('create a room owned by a user')
      .option('--owner <email>', 'the owner\'s email')
      .option('--sub <sub>', 'the owner, named by sub instead of email')
      .addOption(accessLevelOption().default('trusted' as const))
      .addOption(configurationOption()),
    (options) => {
      const owner = userKey(options.owner, options.sub, '--owner');
      return async ({ services, config }) => {
        const user = await services.users.getUser(owner);
        const room = await services.rooms.createRoomAsOperator(user.id, { access_level: options.accessLevel, configuration: options.configuration });
        return described(roomWithPin(room, config));
      };
    },
  );

  addContextAction(
    rooms
      .command('update <roomId>')
      .description('change a room\'s access level or configuration (each given replaces the stored one)')
      .addOption(accessLevelOption())
      .addOption(configurationOption()),
    (roomId, options) =>
      async ({ services, config }) => {
        const changes = {
          ...(options.accessLevel === undefined ? {} : { access_level: options.accessLevel }),
          ...(options.configuration === undefined ? {} : { configuration: options.configuration }),
        };
        return described(roomWithPin(await services.rooms.changeRoom(roomId, changes), config));
      },
  );

  addContextAction(
    rooms
      .command('grant <roomId>')
      .description('give a user a role on a room (replacing the role they had)')
      .option('--user <email>', 'the user\'s email')
      .option('--sub <sub>', 'the user, named by sub instead of email')
      .addOption(new Option('--role <role>', 'role').choices(ROLES).makeOptionMandatory()),
    (roomId, options) => {
      const key = userKey(options.user, options.sub, '--user');
      return async ({ services }) => {
        const user = await services.users.getUser(key);
        const { room, role } = await services.rooms.grantRole(roomId, user.id, options.role);
        return described({ room_id: room.id, user_id: user.id, email: user.email, sub: user.sub, role });
      };
    },
  );

  addContextAction(
    rooms
      .command('revoke <roomId>')
      .description('take a user\'s role on a room away (a room keeps at least one owner)')
      .option('--user <email>', 'the user\'s email')
      .option('--sub <sub>', 'the user, named by sub instead of email'),
    (roomId, options) => {
      const key = userKey(options.user, options.sub, '--user');
      return async ({ services }) => {
        const user = await services.users.getUser(key);
        const room = await services.rooms.revokeRole(roomId, user.id);
        return {
          document: { revoked: true, room_id: room.id, user_id: user.id, email: user.email, sub: user.sub },
          text: `revoked the role of ${user.email ?? user.sub} on room ${room.id} (${room.slug})`,
        };
      };
    },
  );

  addContextAction(
    rooms
      .command('attendees <roomId>')
      .description('show a room\'s attendees (emails that skip the lobby), or replace them with --set')
      .option('--set <emails>', 'replace the list (comma-separated; "" clears it)'),
    (roomId, options) =>
      async ({ services, config }) => {
        const room =
          options.set === undefined
            ? await services.rooms.getRoom(roomId)
            : await services.rooms.setAttendees(roomId, splitList(options.set));
        return described(roomWithPin(room, config));
      },
  );

  addContextAction(
    rooms.command('delete <roomId>').description('delete a room with its accesses and attendees'),
    (roomId) =>
      async ({ services }) => {
        const room = await services.rooms.deleteRoom(roomId);
        return { document: { deleted: true, id: room.id, slug: room.slug }, text: `deleted room ${room.id} (${room.slug})` };
      },
  );

  addContextAction(
    rooms
      .command('list')
      .description('list rooms, all or those a user holds a role on')
      .option('--user <email>', 'only this user\'s rooms')
      .option('--sub <sub>', 'only the rooms of the user with this sub'),
    (options) => {
      const key = options.user === undefined && options.sub === undefined ? undefined : userKey(options.user, options.sub, '--user');
      return async ({ services, config }) => {
        let found: Room[];
        if (key === undefined) found = await services.rooms.listAllRooms();
        else {
          const user = await services.users.getUser(key);
          found = (await services.rooms.listRoomsForUser(user.id, 1, Number.MAX_SAFE_INTEGER)).rooms;
        }
        return tabulated(
          found.map((room) => roomWithPin(room, config)),
          ['id', 'slug', 'access_level', 'pin_code'],
        );
      };
    },
  );
}
