/**
 * What every meet-api command shares: the context it works in (configuration, database,
 * services), how it prints its result, and how a failure becomes a message and an exit
 * status. A command is then its flags and a few lines over the services.
 */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { isDatabaseUnavailable, openDatabase, type DatabaseHandle } from '../db/database.js';
import { prepareDatabase } from '../db/layout.js';
import { ApiError } from '../errors.js';
import { createLogger } from '../logger.js';
import { splitList } from '../scopes.js';
import { createServices, type Services } from '../services.js';
import type { UserKey } from '../users/users.service.js';

export interface Context {
  config: Config;
  database: DatabaseHandle;
  services: Services;
  /** The migrations this run applied (usually none: only `migrate` reports them). */
  applied: string[];
}

type Printable = Record<string, unknown> | Record<string, unknown>[];

/** A command's result: the document printed with --json, the text printed without. */
export interface Output {
  document: Printable;
  text: string;
}

/** Exit status for input the command refuses (bad flag values, unknown ids). */
const EXIT_INPUT = 1;
/** Exit status when the command could not run at all (database unavailable, unexpected failure). */
const EXIT_UNAVAILABLE = 2;

export class UsageError extends Error {}

/**
 * Adds --json (last, so help lists it after the command's own options) and the action.
 * `prepare` receives the command's arguments and options and checks them before anything
 * is opened, so refused input is reported as such whatever the state of the configuration
 * or the database; the work it returns runs with the context open.
 */
export function addContextAction<Args extends unknown[], Opts extends OptionValues, GlobalOpts extends OptionValues>(
  command: Command<Args, Opts, GlobalOpts>,
  prepare: (...input: [...Args, Opts]) => (context: Context) => Promise<Output>,
): void {
  command.option('--json', 'print JSON').action(async () => {
    const work = prepare(...command.processedArgs, command.opts());
    print(await withContext(work), command.getOptionValue('json') === true);
  });
}

/** Opens everything a command needs, runs it, and always closes the database. */
async function withContext(run: (context: Context) => Promise<Output>): Promise<Output> {
  const config = loadConfig();
  // The CLI's own log lines (the audit line of a room it creates) go to stderr: stdout is for results.
  const logger = createLogger(config.logLevel, process.stderr);
  const database = openDatabase(config);
  try {
    const applied = await prepareDatabase(database, config);
    return await run({ config, database, services: createServices(database, config, logger), applied });
  } finally {
    await database.close();
  }
}

function print(output: Output, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(output.document, null, 2)}\n` : `${output.text}\n`);
}

/** One record, printed as `key: value` lines. */
export function described(record: Record<string, unknown>): Output {
  return { document: record, text: describe(record) };
}

/** Several records, printed as a table of the given columns. */
export function tabulated(records: Record<string, unknown>[], columns: string[]): Output {
  return { document: records, text: table(records, columns) };
}

export function describe(record: Record<string, unknown>): string {
  return Object.entries(record)
    // An object (a room's configuration, its telephony) is shown as its JSON, not "[object Object]".
    .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') || '-' : value === null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
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
export function activeFlag(options: { active?: boolean; inactive?: boolean }): boolean | undefined {
  if (options.active && options.inactive) throw new UsageError('choose one of --active and --inactive, not both');
  if (options.active) return true;
  if (options.inactive) return false;
  return undefined;
}

/**
 * The user a command names: by email (a positional argument or a flag) or by --sub, one of
 * the two (a user from the identity provider may have a sub and no email).
 */
export function userKey(email: string | undefined, sub: string | undefined, emailFlag = 'EMAIL'): UserKey {
  if (email !== undefined && sub !== undefined) throw new UsageError(`name the user by ${emailFlag} or by --sub, not both`);
  if (email !== undefined) return { email };
  if (sub !== undefined) return { sub };
  throw new UsageError(`name the user by ${emailFlag} or by --sub`);
}

/** A JSON document given on the command line (--configuration). */
export function jsonArgument(flag: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new UsageError(`${flag}: not valid JSON: ${value}`);
  }
}

/** Option parser for a repeatable flag that also takes comma-separated values. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, ...splitList(value)];
}

/** Reports a failed command on stderr and returns its exit status. */
export function reportFailure(error: unknown): number {
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
