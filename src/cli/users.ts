/** `meet-api users ...`: create, list, change and delete users (by email, or by the identity provider's sub). */
import type { Command } from '@commander-js/extra-typings';
import { viewUser } from '../users/users.service.js';
import { activeFlag, addContextAction, described, tabulated, userKey } from './command.js';

export function addUsersCommands(program: Command): void {
  const users = program.command('users').description('manage users');

  addContextAction(
    users
      .command('create')
      .description('create a user, with an email, a sub, or both')
      .option('--email <email>', 'email address (unique, case-insensitive)')
      .option('--sub <sub>', 'the identity provider\'s subject (unique)')
      .option('--inactive', 'create it deactivated'),
    (options) =>
      async ({ services }) =>
        described({ ...viewUser(await services.users.createUser({ email: options.email, sub: options.sub, isActive: !options.inactive })) }),
  );

  addContextAction(
    users.command('list').description('list users'),
    () =>
      async ({ services }) => {
        const views = (await services.users.listUsers()).map((u) => ({ ...viewUser(u) }));
        return tabulated(views, ['id', 'email', 'sub', 'is_active']);
      },
  );

  addContextAction(
    users
      .command('update [email]')
      .description('activate or deactivate a user, or set their email')
      .option('--sub <sub>', 'name the user by sub instead of email')
      .option('--active', 'activate')
      .option('--inactive', 'deactivate: the user\'s tokens stop working at once')
      .option('--email <new>', 'give the user this email'),
    (email, options) => {
      const key = userKey(email, options.sub);
      const isActive = activeFlag(options);
      return async ({ services }) => {
        // Without a change the command only shows the user, as a check before changing it.
        const changed = isActive !== undefined || options.email !== undefined;
        const user = changed ? await services.users.updateUser(key, { isActive, email: options.email }) : await services.users.getUser(key);
        return described({ ...viewUser(user) });
      };
    },
  );

  addContextAction(
    users
      .command('delete [email]')
      .description('delete a user and their roles (refused while they are the last owner of a room)')
      .option('--sub <sub>', 'name the user by sub instead of email'),
    (email, options) => {
      const key = userKey(email, options.sub);
      return async ({ services }) => {
        const user = await services.users.deleteUser(key);
        return { document: { deleted: true, ...viewUser(user) }, text: `deleted user ${user.email ?? user.sub} (${user.id})` };
      };
    },
  );
}
