/**
 * meet-api: the operator's command line (README, "Command line"). Each command is a thin shell over
 * the same services the HTTP API uses; it opens the database named by DATABASE_URL,
 * creates the schema if needed, does one thing, and prints the result (exactly one JSON
 * document with --json). Errors go to stderr with a non-zero exit.
 *
 * Importing this module runs nothing: bin/meet-api.js calls runCli.
 */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { addAppsCommands } from './apps.js';
import { addContextAction, reportFailure } from './command.js';
import { addRoomsCommands } from './rooms.js';
import { addUsersCommands } from './users.js';

export function buildProgram(): Command {
  const program = new Command('meet-api')
    .description('Meet External API server and its operator commands')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('start the HTTP server (same as npm start)')
    .action(async () => {
      const { main } = await import('../server.js');
      await main();
    });

  addContextAction(
    program.command('migrate').description('create or upgrade the database schema'),
    // Opening the context migrates; this command only reports what that applied.
    () =>
      async ({ applied, database }) => ({
        document: { applied, store: database.dialect },
        text: applied.length === 0 ? 'schema is up to date' : `applied: ${applied.join(', ')}`,
      }),
  );

  addAppsCommands(program);
  addUsersCommands(program);
  addRoomsCommands(program);
  return program;
}

/** Runs one command line; resolves to the process's exit status. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    // Commander has already printed help or its message; --help and --version are not errors.
    if (error instanceof CommanderError) return error.exitCode;
    return reportFailure(error);
  }
}
