/** `meet-api users ...`: create, list, activate and deactivate users. */
import type { Command } from '@commander-js/extra-typings';
import { viewUser } from '../users/users.service.js';
import { activeFlag, addContextAction, described, tabulated } from './command.js';

export function addUsersCommands(program: Command): void {
  const users = program.command('users').description('manage users');

  addContextAction(
    users
      .command('create')
      .description('create a user')
      .requiredOption('--email <email>', 'email address (unique, case-insensitive)')
      .option('--inactive', 'create it deactivated'),
    (options) =>
      async ({ services }) =>
        described({ ...viewUser(await services.users.createUser({ email: options.email, isActive: !options.inactive })) }),
  );

  addContextAction(
    users.command('list').description('list users'),
    () =>
      async ({ services }) => {
        const views = (await services.users.listUsers()).map((u) => ({ ...viewUser(u) }));
        return tabulated(views, ['id', 'email', 'is_active']);
      },
  );

  addContextAction(
    users
      .command('update <email>')
      .description('activate or deactivate a user')
      .option('--active', 'activate')
      .option('--inactive', 'deactivate: the user\'s tokens stop working at once'),
    (email, options) => {
      const isActive = activeFlag(options);
      return async ({ services }) => {
        // Without a flag the command only shows the user, as a check before changing it.
        const user = isActive === undefined ? await services.users.getUserByEmail(email) : await services.users.setUserActive(email, isActive);
        return described({ ...viewUser(user) });
      };
    },
  );
}
