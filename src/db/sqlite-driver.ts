/**
 * The SQLite driver: two connections to one file, and group commit.
 *
 * Durable commits (`synchronous=FULL`) cost one `fsync` each, some 0.5 to 1 ms during which
 * better-sqlite3 holds the event loop. One commit per room creation would cap creations
 * at about a thousand a second whatever the CPU does. Here, write transactions that arrive
 * together share one commit:
 *
 * - The **writer** connection keeps one SQLite transaction (BEGIN IMMEDIATE) open for a
 *   batch. Each Kysely transaction runs inside it as a savepoint, one at a time, in
 *   arrival order; a transaction that fails is rolled back to its savepoint alone.
 * - The batch is committed once no transaction waits for the writer any more (at the end
 *   of the current turn of the event loop, so everything that arrived in that turn joins),
 *   or when it reaches MAX_BATCH transactions.
 * - A transaction's commit resolves only after the batch's COMMIT has returned: no caller
 *   learns of a write (no 201 is sent) before it is on disk. When the COMMIT fails, every
 *   transaction of the batch fails with it, and none was acknowledged.
 * - The **reader** connection (read-only) serves every query outside a transaction, and
 *   so sees committed data only: a reader never observes a batch that might still fail.
 *   A statement outside a transaction that writes runs as a transaction of its own.
 *
 * Lock waits (another process holding the write lock, a CLI command, another worker) are
 * retried asynchronously rather than by SQLite's busy handler: better-sqlite3 would sleep
 * inside the call and freeze the event loop. A write gives up DATABASE_STATEMENT_TIMEOUT_MS
 * after it arrived, whether it waited for another process or for this one's queue, with
 * SQLite's own SQLITE_BUSY (answered 503).
 *
 * Refused, because they would break the batch or reach one connection of two: statements
 * that change the connection rather than the data (BEGIN, COMMIT, SAVEPOINT, ATTACH, PRAGMA
 * setters), inside or outside a transaction. openSqlite sets the PRAGMAs on both
 * connections. Not provided, and not needed by the project: Kysely's nested savepoints
 * (`trx.savepoint()`), streaming, and statements that cannot run inside a transaction
 * (VACUUM, changing the journal mode).
 *
 * One limit is SQLite's own: a COMMIT that fails with an I/O error while syncing may have
 * written the batch's commit record already, so after a crash that batch may be found on
 * disk although its callers were told it failed. Nothing is ever acknowledged unwritten.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type SQLite from 'better-sqlite3';
import type { CompiledQuery, DatabaseConnection, Driver, QueryResult } from 'kysely';

/** A batch is committed at this many transactions even while others are waiting. */
const MAX_BATCH = 64;

/** Distinct SQL texts kept prepared per connection; our queries have a few dozen shapes. */
const STATEMENT_CACHE_SIZE = 500;

/** The savepoint each transaction of a batch runs in (one at a time, so one name is enough). */
const MEMBER = 'batch_member';

/**
 * Longer SQL texts are prepared each time rather than kept: they come from statements with
 * many rows (an attendee list of up to 1,000), each length a text of its own, and would
 * fill the cache with large statements used once.
 */
const CACHED_SQL_MAX_LENGTH = 2048;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** An error with SQLite's spelling (`code`), so callers classify it as they would SQLite's own. */
function sqliteError(code: string, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

const rolledBack = (cause?: unknown) =>
  sqliteError('SQLITE_ABORT_ROLLBACK', 'the write transaction was rolled back by SQLite; nothing of it was kept', cause);

/**
 * Statements that neither read nor write data but change the connection (BEGIN, COMMIT,
 * SAVEPOINT, ATTACH, PRAGMA setters): better-sqlite3 calls them read-only non-readers.
 */
function changesConnection(statement: SQLite.Statement): boolean {
  return statement.readonly && !statement.reader;
}

/**
 * better-sqlite3 compiles SQL on every prepare(), and Kysely prepares each query it runs;
 * keeping the statement per SQL text saves that compilation on every request. The least
 * recently used text goes first when the cache is full.
 */
class StatementCache {
  private readonly statements = new Map<string, SQLite.Statement>();

  constructor(readonly connection: SQLite.Database) {}

  prepare(text: string): SQLite.Statement {
    let statement = this.statements.get(text);
    if (statement !== undefined) {
      this.statements.delete(text);
      this.statements.set(text, statement);
      return statement;
    }
    statement = this.connection.prepare(text);
    if (changesConnection(statement)) {
      throw new Error(`refused: "${text.slice(0, 40)}" would change the connection or the write batch, not the data`);
    }
    if (text.length <= CACHED_SQL_MAX_LENGTH) {
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(text, statement);
    }
    return statement;
  }
}

/** Runs a prepared statement the way Kysely's own SQLite driver does. */
function run<R>(statement: SQLite.Statement, parameters: readonly unknown[]): QueryResult<R> {
  if (statement.reader) return { rows: statement.all(parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

interface Waiter {
  take(): void;
  timer: NodeJS.Timeout | undefined;
}

interface Batch {
  /** Settles when the batch's COMMIT has returned (or failed). */
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  size: number;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // A batch whose members all rolled back has nobody awaiting it; its failure is theirs.
  committed.catch(() => undefined);
  return { committed, resolve, reject, size: 0 };
}

export class GroupCommitSqliteDriver implements Driver {
  private readonly writer: StatementCache;
  private readonly reader: StatementCache;
  /** The writer is lent to one transaction at a time; the others wait here, first come first served. */
  private writerHeld = false;
  private readonly writerQueue: Waiter[] = [];
  /** The open SQLite transaction that members join, if any. */
  private batch: Batch | undefined;
  private commitScheduled = false;
  /** Set by destroy(): new writes are refused instead of queued behind the close. */
  private closed = false;

  constructor(
    connections: { writer: SQLite.Database; reader: SQLite.Database },
    private readonly lockWaitMs: number,
  ) {
    this.writer = new StatementCache(connections.writer);
    this.reader = new StatementCache(connections.reader);
  }
  /** For metrics: the two connections, whether the writer is taken, and how many transactions wait for it. */
  connectionUse(): { open: number; idle: number; waiting: number } {
    return { open: 2, idle: this.writerHeld ? 1 : 2, waiting: this.writerQueue.length };
  }


  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RoutedConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await this.beginMember();
    (connection as RoutedConnection).inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as RoutedConnection).inTransaction = false;
    await this.commitMember();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const routed = connection as RoutedConnection;
    // Kysely also rolls back after a failed commit. By then this transaction has handed
    // the writer on, and the savepoint open now is the next transaction's: leave it be.
    if (!routed.inTransaction) return;
    routed.inTransaction = false;
    this.rollbackMember();
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    this.closed = true;
    // Transactions already waiting for the writer are ahead of this one: they finish and
    // are committed below. Any that arrive from now on are refused. A holder that does not
    // finish in time loses its batch: closing the connection rolls it back.
    try {
      await this.takeWriter(Date.now() + this.lockWaitMs, true);
      if (this.batch !== undefined) this.commitBatch();
    } catch {
      this.abandonBatch(rolledBack(new Error('the database was closed before this write was committed')));
    }
    this.reader.connection.close();
    this.writer.connection.close();
  }

  /** A statement outside any transaction: read from the reader, or written as a transaction of its own. */
  async runAlone<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.reader.prepare(query.sql);
    if (statement.readonly) return this.withLockWaits(() => run<R>(statement, query.parameters), Date.now() + this.lockWaitMs);
    await this.beginMember();
    let result: QueryResult<R>;
    try {
      result = this.runInMember<R>(query);
    } catch (error) {
      this.rollbackMember();
      throw error;
    }
    await this.commitMember();
    return result;
  }

  /** A statement of the transaction that holds the writer. */
  runInMember<R>(query: CompiledQuery): QueryResult<R> {
    // SQLite rolls a whole transaction back on some errors (a full disk, I/O errors); a
    // statement run after that would commit on its own, outside any batch.
    if (!this.writer.connection.inTransaction) throw rolledBack();
    return run<R>(this.writer.prepare(query.sql), query.parameters);
  }

  private async beginMember(): Promise<void> {
    // Waiting for another process's lock counts from arrival, not from the turn in the
    // queue: otherwise each queued write would wait its own full lockWaitMs in turn.
    const deadline = Date.now() + this.lockWaitMs;
    await this.takeWriter(deadline);
    try {
      if (this.batch === undefined) {
        // Left open only when a failed COMMIT could not be rolled back either: retry that first.
        if (this.writer.connection.inTransaction) this.writer.connection.exec('rollback');
        await this.withLockWaits(() => this.writer.connection.exec('begin immediate'), deadline);
        this.batch = newBatch();
      }
      this.writer.connection.exec(`savepoint ${MEMBER}`);
    } catch (error) {
      this.handOnWriter();
      throw error;
    }
  }

  /** Keeps the member's work in the batch, lends the writer on, and waits for the batch's COMMIT. */
  private async commitMember(): Promise<void> {
    const batch = this.batch;
    if (batch === undefined || !this.writer.connection.inTransaction) {
      this.rollbackMember(); // abandons what SQLite already rolled back, and hands the writer on
      throw rolledBack();
    }
    try {
      this.writer.connection.exec(`release ${MEMBER}`);
    } catch (error) {
      this.rollbackMember();
      throw error;
    }
    batch.size += 1;
    if (batch.size >= MAX_BATCH) this.commitBatch();
    this.handOnWriter();
    await batch.committed;
  }

  /** Undoes the holder's work alone, and hands the writer on; never throws (the caller has an error of its own to report). */
  private rollbackMember(): void {
    try {
      if (this.writer.connection.inTransaction) {
        this.writer.connection.exec(`rollback to ${MEMBER}`);
        this.writer.connection.exec(`release ${MEMBER}`);
      } else {
        this.abandonBatch(rolledBack());
      }
    } catch (error) {
      // The savepoint could not be undone: the batch cannot be trusted, so none of it commits.
      if (this.writer.connection.inTransaction) {
        try {
          this.writer.connection.exec('rollback');
        } catch {
          // Nothing more to undo here; the batch is abandoned below either way.
        }
      }
      this.abandonBatch(rolledBack(error));
    } finally {
      this.handOnWriter();
    }
  }

  /** Waits for the writer until the deadline (then SQLITE_BUSY, as for another process's lock). */
  private async takeWriter(deadline: number, closing = false): Promise<void> {
    if (this.closed && !closing) throw sqliteError('SQLITE_MISUSE', 'the database is closed');
    if (!this.writerHeld) {
      this.writerHeld = true;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { take: resolve, timer: undefined };
      waiter.timer = setTimeout(
        () => {
          const index = this.writerQueue.indexOf(waiter);
          if (index >= 0) this.writerQueue.splice(index, 1);
          reject(sqliteError('SQLITE_BUSY', 'database is locked'));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.writerQueue.push(waiter);
    });
  }

  private handOnWriter(): void {
    const next = this.writerQueue.shift();
    if (next !== undefined) {
      clearTimeout(next.timer);
      next.take(); // stays held: ownership passes straight to the next in line
      return;
    }
    this.writerHeld = false;
    this.scheduleCommit();
  }

  /**
   * Commits after the current turn of the event loop: requests read in this turn reach
   * their transaction before then and join the batch, at no cost in latency when idle.
   */
  private scheduleCommit(): void {
    if (this.batch === undefined || this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      // A transaction holding the writer schedules the commit again when it hands it on.
      if (!this.writerHeld && this.batch !== undefined) this.commitBatch();
    });
  }

  /** Commits the open batch; called only by the writer's holder, or while nobody holds it. */
  private commitBatch(): void {
    const batch = this.batch!;
    this.batch = undefined;
    try {
      this.writer.connection.exec('commit');
    } catch (error) {
      if (this.writer.connection.inTransaction) {
        try {
          this.writer.connection.exec('rollback');
        } catch {
          // Still open: the next beginMember() rolls it back before it begins.
        }
      }
      batch.reject(error);
      return;
    }
    batch.resolve();
  }

  /** SQLite rolled the batch back by itself: every member already released fails with it. */
  private abandonBatch(error: Error): void {
    const batch = this.batch;
    this.batch = undefined;
    batch?.reject(error);
  }

  /** Runs a statement, retrying it with growing pauses while another process holds a lock, until the deadline. */
  private async withLockWaits<T>(statement: () => T, deadline: number): Promise<T> {
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        return statement();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
        await sleep(pause);
      }
    }
  }
}

/** What Kysely calls a connection: routes each statement to the reader or the writer. */
class RoutedConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(private readonly driver: GroupCommitSqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inTransaction ? this.driver.runInMember<R>(query) : this.driver.runAlone<R>(query);
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by this driver');
  }
}
