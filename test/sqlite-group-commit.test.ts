/**
 * The SQLite driver's group commit (src/db/sqlite-driver.ts), through the real module on a
 * real file: write transactions that arrive together share one COMMIT, none is
 * acknowledged before that COMMIT has returned, a failing one is rolled back alone, and
 * readers only ever see committed data. An independent connection to the same file plays
 * the part of "the disk" (another process).
 */
import { randomUUID } from 'node:crypto';
import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { isDatabaseUnavailable, openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Database } from '../src/db/schema.js';
import { TEST_STORE, freshDatabaseUrl, type FreshDatabase } from './helpers.js';

function userRow(email: string) {
  const now = new Date().toISOString();
  return { id: randomUUID(), email, email_lookup: email.toLowerCase(), is_active: 1, created_at: now, updated_at: now };
}

/**
 * A table whose foreign key is checked at COMMIT only (none of the project's is): a row
 * pointing nowhere passes its own transaction and makes the batch's COMMIT fail.
 */
async function createDeferredChild(db: Kysely<Database>): Promise<void> {
  await sql`create table deferred_child (parent text references users (id) deferrable initially deferred)`.execute(db);
}

function insertDangling(trx: Kysely<Database>) {
  return sql`insert into deferred_child (parent) values (${randomUUID()})`.execute(trx);
}

function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A transaction that has written a user with this email and holds the writer until released. */
async function holdingTransaction(db: Kysely<Database>, email: string): Promise<{ transaction: Promise<void>; release(): void }> {
  const held = gate();
  const inserted = gate();
  const transaction = db.transaction().execute(async (trx) => {
    await trx.insertInto('users').values(userRow(email)).execute();
    inserted.open();
    await held.opened;
  });
  await inserted.opened;
  return { transaction, release: held.open };
}

describe.runIf(TEST_STORE === 'sqlite')('SQLite group commit', () => {
  let fresh: FreshDatabase;
  let handle: DatabaseHandle;
  let db: Kysely<Database>;
  let disk: SQLite.Database;

  /** What another process would read from the file right now. */
  const committedEmails = () =>
    (disk.prepare('select email from users order by email').all() as { email: string }[]).map((row) => row.email);

  beforeEach(async () => {
    fresh = await freshDatabaseUrl();
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url }));
    db = handle.db;
    await migrateToLatest(db);
    disk = new SQLite(fresh.url.slice('sqlite:'.length), { readonly: true });
  });
  afterEach(async () => {
    disk.close();
    await handle.close();
    await fresh.drop();
  });

  it('a reader neither waits for an open transaction nor sees its writes before the commit has returned', async () => {
    const { transaction, release } = await holdingTransaction(db, 'a@held.org');
    expect(await db.selectFrom('users').select('email').execute()).toEqual([]);
    expect(committedEmails()).toEqual([]);
    release();
    await transaction;
    // Acknowledged means on disk: another connection sees it the moment the caller does.
    expect(committedEmails()).toEqual(['a@held.org']);
    expect(await db.selectFrom('users').select('email').execute()).toEqual([{ email: 'a@held.org' }]);
  });

  it('transactions queued behind one run in arrival order, and are acknowledged together, after one COMMIT', async () => {
    const held = gate();
    const order: string[] = [];
    const seenAtAcknowledgement: Record<string, string[]> = {};
    const write = (name: string, wait?: Promise<void>) =>
      db
        .transaction()
        .execute(async (trx) => {
          order.push(name);
          await trx.insertInto('users').values(userRow(`${name}@batch.org`)).execute();
          if (wait) await wait;
        })
        .then(() => {
          seenAtAcknowledgement[name] = committedEmails();
        });
    const first = write('a', held.opened);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const queued = ['b', 'c', 'd', 'e'].map((name) => write(name));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['a']); // the others wait for the writer
    held.open();
    await Promise.all([first, ...queued]);
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
    const all = ['a@batch.org', 'b@batch.org', 'c@batch.org', 'd@batch.org', 'e@batch.org'];
    // When the first was acknowledged, the four queued behind it were already on disk too:
    // they were committed with it, by the same COMMIT.
    for (const name of ['a', 'b', 'c', 'd', 'e']) expect(seenAtAcknowledgement[name], name).toEqual(all);
  });

  it('a transaction that fails is rolled back alone; the others of its batch commit', async () => {
    const held = gate();
    const first = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('a@mixed.org')).execute();
      await held.opened;
    });
    const failing = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('b@mixed.org')).execute();
      throw new Error('changed my mind');
    });
    const duplicate = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('c@mixed.org')).execute();
      await trx.insertInto('users').values(userRow('A@MIXED.ORG')).execute(); // unique violation
    });
    const last = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('d@mixed.org')).execute();
    });
    held.open();
    const results = await Promise.allSettled([first, failing, duplicate, last]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('changed my mind');
    expect((results[2] as PromiseRejectedResult).reason.message).toMatch(/UNIQUE/);
    expect(committedEmails()).toEqual(['a@mixed.org', 'd@mixed.org']);
  });

  it('when the COMMIT fails, every transaction of the batch fails and none of their writes remains', async () => {
    await createDeferredChild(db);
    const held = gate();
    const first = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('a@doomed.org')).execute();
      await held.opened;
    });
    // A deferred foreign key is checked by COMMIT only: this member passes, and the batch's COMMIT fails.
    const dangling = db.transaction().execute(async (trx) => {
      await insertDangling(trx);
    });
    const last = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('c@doomed.org')).execute();
    });
    held.open();
    const results = await Promise.allSettled([first, dangling, last]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of results) expect((result as PromiseRejectedResult).reason.message).toMatch(/FOREIGN KEY/);
    expect(committedEmails()).toEqual([]);
    expect(disk.prepare('select count(*) as n from deferred_child').get()).toEqual({ n: 0 });

    // The writer is usable again at once.
    await db.transaction().execute((trx) => trx.insertInto('users').values(userRow('after@doomed.org')).execute());
    expect(committedEmails()).toEqual(['after@doomed.org']);
  });

  it('a batch that fails while transactions wait leaves each waiting transaction whole, and each member its own error', async () => {
    // 64 members fill a batch, which then commits at once while others still wait; one of
    // the 64 breaks a deferred foreign key, so that COMMIT fails.
    await createDeferredChild(db);
    const members = Array.from({ length: 64 }, (_, i) =>
      db.transaction().execute(async (trx) => {
        if (i === 10) {
          await insertDangling(trx);
        } else {
          await trx.insertInto('users').values(userRow(`m${i}@full.org`)).execute();
        }
      }),
    );
    // Behind them, transactions that write twice with a pause between: any other
    // transaction touching the writer meanwhile would split them.
    const waiting = Array.from({ length: 8 }, (_, i) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(userRow(`w${i}-first@wait.org`)).execute();
        await new Promise((resolve) => setTimeout(resolve, 2));
        await trx.insertInto('users').values(userRow(`w${i}-second@wait.org`)).execute();
      }),
    );
    const memberResults = await Promise.allSettled(members);
    for (const result of memberResults) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason.message).toMatch(/FOREIGN KEY/);
    }
    const waitingResults = await Promise.allSettled(waiting);
    expect(waitingResults.map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
    const expected = Array.from({ length: 8 }, (_, i) => [`w${i}-first@wait.org`, `w${i}-second@wait.org`]).flat().sort();
    expect(committedEmails()).toEqual(expected);
  });

  it('a write arriving once closing has begun is refused, not left hanging; the one holding the writer still commits', async () => {
    const { transaction: holder, release } = await holdingTransaction(db, 'holder@closing.org');
    const closing = handle.close();
    const late = db.insertInto('users').values(userRow('late@closing.org')).execute();
    await expect(late).rejects.toThrow(/closed/);
    release();
    await Promise.all([holder, closing]);
    expect(committedEmails()).toEqual(['holder@closing.org']);
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url })); // for afterEach
  });

  it('statements that would change a connection or the batch (PRAGMA setters, BEGIN, COMMIT, SAVEPOINT) are refused, in and out of transactions', async () => {
    for (const statement of ['pragma foreign_keys = off', 'begin', 'commit', 'savepoint x', 'pragma synchronous = off']) {
      await expect(sql.raw(statement).execute(db), statement).rejects.toThrow(/refused/);
    }
    const held = gate();
    const first = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('a@control.org')).execute();
      await held.opened;
    });
    const meddling = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('b@control.org')).execute();
      await sql`commit`.execute(trx); // would commit the whole batch early
    });
    const deferring = db.transaction().execute(async (trx) => {
      await sql`pragma defer_foreign_keys = on`.execute(trx); // would last for the rest of the batch
    });
    const last = db.transaction().execute((trx) => trx.insertInto('users').values(userRow('c@control.org')).execute());
    held.open();
    const results = await Promise.allSettled([first, meddling, deferring, last]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(committedEmails()).toEqual(['a@control.org', 'c@control.org']);
    // The writer kept its settings: a dangling reference is still refused at once.
    await expect(
      db
        .insertInto('room_accesses')
        .values({ id: randomUUID(), room_id: randomUUID(), user_id: randomUUID(), role: 'owner', created_at: 'x', room_created_at: 'x' })
        .execute(),
    ).rejects.toThrow(/FOREIGN KEY/);
    // Reading a PRAGMA is a read like any other.
    expect(await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db)).toMatchObject({ rows: [{ foreign_keys: expect.any(Number) }] });
  });

  it('a write waiting behind a slow transaction of this process gives up with SQLITE_BUSY, and one made through the database inside a transaction cannot deadlock', async () => {
    await handle.close();
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url, DATABASE_STATEMENT_TIMEOUT_MS: '200' }));
    db = handle.db;
    const held = gate();
    const slow = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('slow@busy.org')).execute();
      await held.opened;
    });
    const started = Date.now();
    const waiting = db.insertInto('users').values(userRow('waiting@busy.org')).execute();
    await expect(waiting).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - started).toBeLessThan(3_000); // without a deadline it waited for good
    expect(isDatabaseUnavailable(await waiting.catch((error: unknown) => error))).toBe(true); // answered 503
    held.open();
    await slow;

    // A callback that writes through `db` instead of `trx` waits for its own transaction:
    // it gets SQLITE_BUSY after the timeout instead of blocking every write for good.
    const tangled = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('outer@busy.org')).execute();
      await db.insertInto('users').values(userRow('inner@busy.org')).execute();
    });
    await expect(tangled).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    await db.insertInto('users').values(userRow('after@busy.org')).execute();
    expect(committedEmails()).toEqual(['after@busy.org', 'slow@busy.org']);
  });

  it('a full disk, an I/O error and a write lost with its batch are "unavailable" (503), not server errors', async () => {
    // A real SQLITE_FULL: a connection of the test's own, capped at the pages it has.
    const capped = new SQLite(fresh.url.slice('sqlite:'.length));
    let full: unknown;
    try {
      const pages = (capped.pragma('page_count', { simple: true }) as number) + 0;
      capped.pragma(`max_page_count = ${pages}`);
      const insert = capped.prepare('insert into users (id, email, email_lookup, is_active, created_at, updated_at) values (?, ?, ?, 1, ?, ?)');
      for (let i = 0; i < 10_000 && full === undefined; i++) {
        try {
          insert.run(randomUUID(), `f${i}@${'x'.repeat(200)}.org`, `f${i}@${'x'.repeat(200)}.org`, 'x', 'x');
        } catch (error) {
          full = error;
        }
      }
    } finally {
      capped.close();
    }
    expect(full).toMatchObject({ code: 'SQLITE_FULL' });
    expect(isDatabaseUnavailable(full)).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_FSYNC' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('rolled back'), { code: 'SQLITE_ABORT_ROLLBACK' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(false);
  });

  it('a write outside any transaction is a transaction of its own: on disk when it returns, refused alone', async () => {
    await db.insertInto('users').values(userRow('solo@alone.org')).execute();
    expect(committedEmails()).toEqual(['solo@alone.org']);
    await expect(db.insertInto('users').values(userRow('SOLO@alone.org')).execute()).rejects.toThrow(/UNIQUE/);
    const updated = await db.updateTable('users').set({ is_active: 0 }).where('email', '=', 'solo@alone.org').executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
    expect(disk.prepare('select is_active from users').get()).toEqual({ is_active: 0 });
  });

  it('while another process holds the write lock, writes wait for it and reads go on', async () => {
    const other = new SQLite(fresh.url.slice('sqlite:'.length));
    try {
      other.exec('begin immediate');
      other.prepare('insert into users (id, email, email_lookup, is_active, created_at, updated_at) values (?, ?, ?, ?, ?, ?)').run(
        ...Object.values(userRow('other@process.org')),
      );
      let written = false;
      const write = db
        .insertInto('users')
        .values(userRow('ours@process.org'))
        .execute()
        .then(() => (written = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(written).toBe(false);
      expect(await db.selectFrom('users').select('email').execute()).toEqual([]);
      other.exec('commit');
      await write;
      expect(committedEmails()).toEqual(['other@process.org', 'ours@process.org']);
    } finally {
      other.close();
    }
  });

  it('queued writes waiting for another process give up DATABASE_STATEMENT_TIMEOUT_MS after they arrived, not one after another', async () => {
    await handle.close();
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url, DATABASE_STATEMENT_TIMEOUT_MS: '300' }));
    db = handle.db;
    const other = new SQLite(fresh.url.slice('sqlite:'.length));
    try {
      other.exec('begin immediate');
      const started = Date.now();
      const writes = Array.from({ length: 5 }, (_, i) =>
        db
          .insertInto('users')
          .values(userRow(`q${i}@queue.org`))
          .execute()
          .then(
            () => ({ ok: true, after: Date.now() - started }),
            (error: Error) => ({ ok: false, after: Date.now() - started, message: error.message }),
          ),
      );
      const results = await Promise.all(writes);
      for (const result of results) {
        expect(result).toMatchObject({ ok: false, message: 'database is locked' });
        // Each gave up at about 300 ms; waiting in turn would have taken 600, 900, 1,200, 1,500
        // (the bound leaves a busy machine room, and still fails the last two of those).
        expect(result.after).toBeLessThan(1_100);
      }
    } finally {
      other.exec('rollback');
      other.close();
    }
    await db.insertInto('users').values(userRow('after@queue.org')).execute();
    expect(committedEmails()).toEqual(['after@queue.org']);
  });

  it('closing waits for the transaction holding the writer, commits its batch, and the file keeps it', async () => {
    const { transaction, release } = await holdingTransaction(db, 'last@close.org');
    const closing = handle.close();
    release();
    await Promise.all([transaction, closing]);
    expect(committedEmails()).toEqual(['last@close.org']);
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url })); // for afterEach
  });
});
