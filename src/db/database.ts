/**
 * The only module that knows which database is behind DATABASE_URL. Everything above it
 * speaks Kysely; the few things that differ between SQLite and PostgreSQL (opening,
 * pragmas and pool settings, how errors are spelled) are settled here.
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import {
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type QueryCompiler,
  sql,
  type Driver,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
import type { Config } from '../config.js';
import type { Database } from './schema.js';
import { GroupCommitSqliteDriver } from './sqlite-driver.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where generated files belong next to this database (the JWT key outside production). */
  readonly dataDir: string;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Connections open, idle, and callers waiting for one (metrics). */
  connectionUse(): { open: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export type DatabaseOptions = Pick<Config, 'databaseUrl' | 'databasePoolMax' | 'databaseStatementTimeoutMs'>;

const PG_INT8_OID = 20;

export function sqlitePathOf(databaseUrl: string): string {
  // sqlite:./data/meet.db, sqlite:/abs/path.db and sqlite:///abs/path.db all name a file.
  return databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
}

export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  return options.databaseUrl.startsWith('sqlite:') ? openSqlite(options) : openPostgres(options);
}

/**
 * SQLite runs DDL inside transactions, though Kysely's adapter says it does not. Saying
 * so makes the migrator apply all pending migrations in one transaction: a crash leaves
 * the schema as it was, and a second process starting at the same time waits for the
 * write lock, then finds nothing left to do.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** Kysely's SQLite dialect with our driver and adapter; its compiler and introspector as they are. */
class GroupCommitSqliteDialect implements Dialect {
  constructor(
    private readonly connections: { writer: SQLite.Database; reader: SQLite.Database },
    private readonly lockWaitMs: number,
  ) {}

  /** The driver Kysely was given, kept for its connection figures. */
  driver: GroupCommitSqliteDriver | undefined;

  createDriver(): Driver {
    this.driver = new GroupCommitSqliteDriver(this.connections, this.lockWaitMs);
    return this.driver;
  }

  createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

function openSqlite(options: DatabaseOptions): DatabaseHandle {
  const file = sqlitePathOf(options.databaseUrl);
  const dataDir = path.dirname(path.resolve(file));
  fs.mkdirSync(dataDir, { recursive: true });
  // Opening may meet a lock held by another process: the last connection to close
  // checkpoints and removes the WAL under an exclusive lock, and switching to WAL needs one
  // too. Nothing else runs yet, so SQLite's own (blocking) busy handler may wait for it here.
  const writer = new SQLite(file, { timeout: options.databaseStatementTimeoutMs });
  writer.pragma('journal_mode = WAL');
  // FULL: in WAL mode, NORMAL may lose the last commits on power loss; FULL syncs the WAL
  // on every commit, so an answered 201 survives a crash. Group commit (sqlite-driver.ts)
  // shares each sync between the transactions that arrive together.
  writer.pragma('synchronous = FULL');
  writer.pragma('foreign_keys = ON');
  writer.pragma('temp_store = MEMORY');
  const reader = new SQLite(file, { readonly: true, timeout: options.databaseStatementTimeoutMs });
  // From here on, lock waits happen asynchronously in the driver.
  writer.pragma('busy_timeout = 0');
  reader.pragma('busy_timeout = 0');
  const dialect = new GroupCommitSqliteDialect({ writer, reader }, options.databaseStatementTimeoutMs);
  const db = new Kysely<Database>({ dialect });
  return {
    db,
    dialect: 'sqlite',
    dataDir,
    async ping() {
      await sql`select 1`.execute(db);
    },
    connectionUse: () => dialect.driver?.connectionUse() ?? { open: 2, idle: 2, waiting: 0 },
    close: () => db.destroy(),
  };
}

function openPostgres(options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.databasePoolMax,
    connectionTimeoutMillis: options.databaseStatementTimeoutMs,
    statement_timeout: options.databaseStatementTimeoutMs,
    query_timeout: options.databaseStatementTimeoutMs + 1000,
    idleTimeoutMillis: 30_000,
    // count(*) and bigint come back as strings by default; our numbers are far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose server went away emits 'error'; without a listener that would
  // kill the process. The next query gets a fresh connection instead.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: discardingBrokenClients(pool) }) });
  return {
    db,
    dialect: 'postgres',
    dataDir: path.resolve('data'),
    async ping() {
      await sql`select 1`.execute(db);
    },
    connectionUse: () => ({ open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}

/**
 * A connection whose query timed out or lost its server may still be mid-protocol; handed
 * back to the pool as healthy, it would poison every later query. This wrapper destroys
 * such a connection on release, so the pool opens a fresh one once the database is back.
 */
function discardingBrokenClients(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken = false;
      // The server may drop the connection while the client is checked out but between
      // queries; pg then emits 'error' on the client, which with no listener would crash
      // the process. Mark it broken instead: it is destroyed on release.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      return {
        query: ((text: unknown, parameters?: ReadonlyArray<unknown>) => {
          if (typeof text !== 'string') return client.query(text as never);
          return client.query(text, parameters as unknown[]).catch((error: unknown) => {
            if (isDatabaseUnavailable(error)) broken = true;
            throw error;
          });
        }) as unknown as PostgresPoolClient['query'],
        release: (destroy?: boolean) => {
          client.off('error', onError);
          client.release(destroy === true || broken);
        },
      };
    },
    end: () => pool.end(),
  };
}

/** True when a write failed on a unique constraint, whichever database said so. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement timeout)
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '55000', // object_not_in_prerequisite_state: the database does not allow connections (ALTER DATABASE ... ALLOW_CONNECTIONS false)
  '3D000', // invalid_catalog_name: the database is gone
  '28000', // invalid_authorization_specification: the role may not log in (now)
  '28P01', // invalid_password: the password changed under us
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/**
 * SQLite's ways of saying "not now": a lock held too long, a full disk, an I/O error, and
 * a write rolled back with the rest of its batch (sqlite-driver.ts). None says the request
 * was wrong; a client may retry.
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|FULL|IOERR|ABORT)/;

const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'Client has encountered a connection error',
  'database is locked',
];

/** True when an error says "the database cannot answer right now" rather than "this query is wrong". */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || SQLITE_UNAVAILABLE.test(code))) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== error) return isDatabaseUnavailable(cause);
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.some(isDatabaseUnavailable);
}
