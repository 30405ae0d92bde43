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
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Database } from '../src/db/schema.js';
import { TEST_STORE, freshDatabaseUrl, type FreshDatabase } from './helpers.js';

function userRow(email: string) {
  const now = new Date().toISOString();
  return { id: randomUUID(), email, email_lookup: email.toLowerCase(), is_active: 1, created_at: now, updated_at: now };
}

function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
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
    const held = gate();
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('a@held.org')).execute();
      inserted();
      await held.opened;
    });
    await insertedYet;
    expect(await db.selectFrom('users').select('email').execute()).toEqual([]);
    expect(committedEmails()).toEqual([]);
    held.open();
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
    const held = gate();
    const first = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('a@doomed.org')).execute();
      await held.opened;
    });
    // A deferred foreign key is checked by COMMIT only: this member passes, and the batch's COMMIT fails.
    const dangling = db.transaction().execute(async (trx) => {
      await sql`pragma defer_foreign_keys = on`.execute(trx);
      await trx
        .insertInto('room_accesses')
        .values({ id: randomUUID(), room_id: randomUUID(), user_id: randomUUID(), role: 'owner', created_at: new Date().toISOString(), room_created_at: new Date().toISOString() })
        .execute();
    });
    const last = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('c@doomed.org')).execute();
    });
    held.open();
    const results = await Promise.allSettled([first, dangling, last]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of results) expect((result as PromiseRejectedResult).reason.message).toMatch(/FOREIGN KEY/);
    expect(committedEmails()).toEqual([]);
    expect(disk.prepare('select count(*) as n from room_accesses').get()).toEqual({ n: 0 });

    // The writer is usable again at once.
    await db.transaction().execute((trx) => trx.insertInto('users').values(userRow('after@doomed.org')).execute());
    expect(committedEmails()).toEqual(['after@doomed.org']);
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

  it('closing waits for the transaction holding the writer, commits its batch, and the file keeps it', async () => {
    const held = gate();
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(userRow('last@close.org')).execute();
      inserted();
      await held.opened;
    });
    await insertedYet;
    const closing = handle.close();
    held.open();
    await Promise.all([transaction, closing]);
    expect(committedEmails()).toEqual(['last@close.org']);
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url })); // for afterEach
  });
});
