/** `meet-api apps ...`: register and manage client applications. */
import type { Command } from '@commander-js/extra-typings';
import { viewApplication } from '../applications/applications.service.js';
import { splitList } from '../scopes.js';
import { activeFlag, addContextAction, collect, describe, described, tabulated, type Output } from './command.js';

/** An application with its clear secret, which no later command can show again. */
function withSecretShownOnce(view: Record<string, unknown>): Output {
  return { document: view, text: `${describe(view)}\n\nStore the client_secret now: it is not shown again.` };
}

export function addAppsCommands(program: Command): void {
  const apps = program.command('apps').description('register and manage client applications');

  addContextAction(
    apps
      .command('create')
      .description('register an application; its secret is shown once')
      .requiredOption('--name <name>', 'display name')
      .option('--scopes <list>', 'comma-separated scopes (rooms:list,rooms:retrieve,rooms:create,rooms:update,rooms:delete)')
      .option('--domains <list>', 'comma-separated email domains the application may act for (all when none)')
      .option('--client-id <id>', 'use this client id instead of a generated one')
      .option('--secret <secret>', 'use this client secret instead of a generated one (at least 32 characters)')
      .option('--inactive', 'create it deactivated'),
    (options) =>
      async ({ services }) => {
        const { application, secret } = await services.applications.createApplication({
          name: options.name,
          scopes: splitList(options.scopes),
          domains: splitList(options.domains),
          clientId: options.clientId,
          secret: options.secret,
          isActive: !options.inactive,
        });
        return withSecretShownOnce({ ...viewApplication(application, secret) });
      },
  );

  addContextAction(
    apps.command('list').description('list applications (without secrets)'),
    () =>
      async ({ services }) => {
        const views = (await services.applications.listApplications()).map((a) => ({ ...viewApplication(a) }));
        return tabulated(views, ['client_id', 'name', 'is_active', 'scopes', 'domains']);
      },
  );

  addContextAction(
    apps.command('show <clientId>').description('show one application'),
    (clientId) =>
      async ({ services }) =>
        described({ ...viewApplication(await services.applications.getApplication(clientId)) }),
  );

  addContextAction(
    apps
      .command('update <clientId>')
      .description('change an application')
      .option('--name <name>', 'new display name')
      .option('--scopes <list>', 'replace the scopes (comma-separated; empty string for none)')
      .option('--active', 'activate')
      .option('--inactive', 'deactivate: its tokens stop working at once')
      .option('--add-domain <domain>', 'allow an email domain (repeatable, or comma-separated)', collect, [])
      .option('--remove-domain <domain>', 'stop allowing an email domain (repeatable, or comma-separated)', collect, []),
    (clientId, options) => {
      const isActive = activeFlag(options);
      return async ({ services }) => {
        const application = await services.applications.updateApplication(clientId, {
          name: options.name,
          scopes: options.scopes === undefined ? undefined : splitList(options.scopes),
          isActive,
          addDomains: options.addDomain,
          removeDomains: options.removeDomain,
        });
        return described({ ...viewApplication(application) });
      };
    },
  );

  addContextAction(
    apps.command('rotate-secret <clientId>').description('replace the client secret; the old one stops working at once'),
    (clientId) =>
      async ({ services }) => {
        const { application, secret } = await services.applications.rotateSecret(clientId);
        return withSecretShownOnce({ ...viewApplication(application, secret) });
      },
  );

  addContextAction(
    apps.command('delete <clientId>').description('delete an application; its tokens stop working at once'),
    (clientId) =>
      async ({ services }) => {
        const { clientId: deleted } = await services.applications.deleteApplication(clientId);
        return { document: { deleted: true, client_id: deleted }, text: `deleted application ${deleted}` };
      },
  );
}
