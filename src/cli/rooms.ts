/** `meet-api rooms ...`: create rooms for a user, grant roles, set attendees, list and delete. */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { viewRoom } from '../rooms/room-view.js';
import { ACCESS_LEVELS, ROLES, type Room } from '../rooms/rooms.service.js';
import { splitList } from '../scopes.js';
import { addContextAction, described, tabulated } from './command.js';

/** The room as the API shows it, plus the PIN the operator may need to hand over. */
function roomWithPin(room: Room, config: Config): Record<string, unknown> {
  return { ...viewRoom(room, config), pin_code: room.pinCode };
}

export function addRoomsCommands(program: Command): void {
  const rooms = program.command('rooms').description('manage rooms');

  addContextAction(
    rooms
      .command('create')
      .description('create a room owned by a user')
      .requiredOption('--owner <email>', 'the owner\'s email')
      .addOption(new Option('--access-level <level>', 'access level').choices(ACCESS_LEVELS).default('trusted')),
    (options) =>
      async ({ services, config }) => {
        const owner = await services.users.getUserByEmail(options.owner);
        const room = await services.rooms.createRoom({ ownerId: owner.id, clientId: null, accessLevel: options.accessLevel });
        return described(roomWithPin(room, config));
      },
  );

  addContextAction(
    rooms
      .command('grant <roomId>')
      .description('give a user a role on a room (replacing the role they had)')
      .requiredOption('--user <email>', 'the user\'s email')
      .addOption(new Option('--role <role>', 'role').choices(ROLES).makeOptionMandatory()),
    (roomId, options) =>
      async ({ services }) => {
        const user = await services.users.getUserByEmail(options.user);
        const { room, role } = await services.rooms.grantRole(roomId, user.id, options.role);
        return described({ room_id: room.id, user_id: user.id, email: user.email, role });
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
      .option('--user <email>', 'only this user\'s rooms'),
    (options) =>
      async ({ services, config }) => {
        let found: Room[];
        if (options.user === undefined) found = await services.rooms.listAllRooms();
        else {
          const user = await services.users.getUserByEmail(options.user);
          found = (await services.rooms.listRoomsForUser(user.id, 1, Number.MAX_SAFE_INTEGER)).rooms;
        }
        return tabulated(
          found.map((room) => roomWithPin(room, config)),
          ['id', 'slug', 'access_level', 'pin_code'],
        );
      },
  );
}
