/**
 * The only module that knows which database is behind DATABASE_URL. Everything above it
 * speaks Kysely; the few things that differ between SQLite and PostgreSQL (opening,
 * pragmas and pool settings, how errors are spelled) are settled here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DialectAdapter,
  sql,
  type DatabaseConnection,
  type Driver,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDialectConfig,
} from 'kysely';
import type { Config } from '../config.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where generated files belong next to this database (the JWT key outside production). */
  readonly dataDir: string;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
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
 * Every transaction here writes. A plain BEGIN takes a read lock first and fails at once
 * with "database is locked" when it later needs to write while another connection (a CLI
 * command, another worker) holds the write lock; BEGIN IMMEDIATE takes the write lock up
 * front. Waiting for that lock is done here, asynchronously, rather than by SQLite's busy
 * handler: better-sqlite3 would sleep inside the call and freeze the event loop, so the
 * lock holder in the same process could never finish, and every other request would stall.
 */
class ImmediateTransactionSqliteDriver extends SqliteDriver {
  constructor(
    config: SqliteDialectConfig,
    private readonly lockWaitMs: number,
  ) {
    super(config);
  }

  /**
   * Kysely's own mutex wakes every waiter on each release, and all but one go back to
   * sleep: with 32 requests queued behind a transaction that is 31 wake-ups per release.
   * This queue hands the connection to the next waiter only, in arrival order.
   */
  private readonly waiters: Array<() => void> = [];
  private held = false;

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.held) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.held = true;
    try {
      return waitingForLocks(await super.acquireConnection(), this.lockWaitMs);
    } catch (error) {
      this.handOn(); // never leave the queue held by a caller that got no connection
      throw error;
    }
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    this.handOn();
  }

  private handOn(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.held = false;
    else next(); // stays held: ownership passes straight to the next in line
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Retries a statement refused for a lock, with growing pauses, until lockWaitMs has passed. */
function waitingForLocks(inner: DatabaseConnection, lockWaitMs: number): DatabaseConnection {
  return {
    async executeQuery(query) {
      const deadline = Date.now() + lockWaitMs;
      for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
        try {
          return await inner.executeQuery(query);
        } catch (error) {
          if (!isBusy(error) || Date.now() >= deadline) throw error;
          await sleep(pause);
        }
      }
    },
    streamQuery: (query, chunkSize) => inner.streamQuery(query, chunkSize),
  };
}

/**
 * SQLite runs DDL inside transactions, though Kysely's adapter says it does not. Saying
 * so makes the migrator apply all pending migrations in one BEGIN IMMEDIATE transaction:
 * a crash leaves the schema as it was, and a second process starting at the same time
 * waits for the lock, then finds nothing left to do.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateTransactionSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqliteConfig: SqliteDialectConfig,
    private readonly lockWaitMs: number,
  ) {
    super(sqliteConfig);
  }

  override createDriver(): Driver {
    return new ImmediateTransactionSqliteDriver(this.sqliteConfig, this.lockWaitMs);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** Distinct SQL texts kept prepared; our queries have a few dozen shapes. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 compiles SQL on every prepare(); Kysely prepares each query it runs.
 * Keeping the prepared statement per SQL text saves that compilation on every request.
 * Safe because Kysely runs one query at a time on this connection and never streams here.
 */
function withStatementCache(connection: SQLite.Database): SqliteDialectConfig['database'] {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => connection.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement === undefined) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statement = connection.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  } as SqliteDialectConfig['database'];
}

function openSqlite(options: DatabaseOptions): DatabaseHandle {
  const file = sqlitePathOf(options.databaseUrl);
  const dataDir = path.dirname(path.resolve(file));
  fs.mkdirSync(dataDir, { recursive: true });
  // Opening may meet a lock held by another process: the last connection to close
  // checkpoints and removes the WAL under an exclusive lock, and switching to WAL needs one
  // too. Nothing else runs yet, so SQLite's own (blocking) busy handler may wait for it here.
  const connection = new SQLite(file, { timeout: options.databaseStatementTimeoutMs });
  connection.pragma('journal_mode = WAL');
  // FULL: in WAL mode, NORMAL may lose the last commits on power loss; FULL syncs the WAL
  // on every commit, so an answered 201 survives a crash.
  connection.pragma('synchronous = FULL');
  connection.pragma('foreign_keys = ON');
  // From here on, lock waits happen asynchronously in the driver (see above).
  connection.pragma('busy_timeout = 0');
  const db = new Kysely<Database>({
    dialect: new ImmediateTransactionSqliteDialect({ database: withStatementCache(connection) }, options.databaseStatementTimeoutMs),
  });
  return {
    db,
    dialect: 'sqlite',
    dataDir,
    async ping() {
      await sql`select 1`.execute(db);
    },
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
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

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
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== error) return isDatabaseUnavailable(cause);
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.some(isDatabaseUnavailable);
}
