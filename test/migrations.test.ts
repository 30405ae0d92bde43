/**
 * Migration 2026-12-02-004 (room name and configuration, user sub) on a database already in
 * use: migrated only up to 2026-11-28-003 with Kysely's Migrator and the project's own
 * migrations, filled through plain Kysely, then migrated to the latest. Nothing is lost or
 * changed (on SQLite `users` and `room_accesses` are rebuilt inside the migration, under
 * foreign keys that cascade), the new columns hold what they should, the constraints still
 * hold, and the application's services read the migrated rows. On SQLite, or on PostgreSQL
 * when TEST_DATABASE_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { fromBoolean } from '../src/db/convert.js';
import { isUniqueViolation, openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { MIGRATION_NAMES, migrateToLatest, migrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';
import { NATIVE_TABLES_ONLY, TEST_LAYOUT, TEST_STORE, useFreshDatabase } from './helpers.js';

const BEFORE = '2026-11-28-003-access-sort-key';
const UNDER_TEST = '2026-12-02-004-room-options-and-user-sub';
const TABLES = ['users', 'rooms', 'room_accesses', 'room_attendees'] as const;

const at = (minute: number) => `2026-11-30T10:${String(minute).padStart(2, '0')}:00.000Z`;

/** Three users (one inactive, emails in mixed case), three rooms, their roles and attendees. */
function rowsBefore() {
  const users = [
    { email: 'Ada@Example.org', active: true },
    { email: 'bob@example.org', active: true },
    { email: 'Cy@example.NET', active: false },
  ].map((u, i) => ({
    id: randomUUID(),
    email: u.email,
    email_lookup: u.email.toLowerCase(),
    is_active: fromBoolean(u.active),
    created_at: at(i),
    updated_at: at(i + 10),
  }));
  const rooms = ['aaa-bbbb-ccc', 'ddd-eeee-fff', 'ggg-hhhh-iii'].map((slug, i) => ({
    id: randomUUID(),
    slug,
    pin_code: `012345678${i}`,
    access_level: ['trusted', 'restricted', 'public'][i]!,
    created_by_client_id: i === 0 ? null : `client-${i}`,
    created_at: at(20 + i),
    updated_at: at(30 + i),
  }));
  const [ada, bob, cy] = users as [(typeof users)[number], ...typeof users];
  const grants: [number, typeof ada, string][] = [
    [0, ada, 'owner'],
    [0, bob!, 'member'],
    [1, bob!, 'owner'],
    [1, ada, 'administrator'],
    [1, cy!, 'member'],
    [2, cy!, 'owner'],
    [2, ada, 'owner'],
  ];
  const accesses = grants.map(([room, user, role], i) => ({
    id: randomUUID(),
    room_id: rooms[room]!.id,
    user_id: user.id,
    role,
    created_at: at(40 + i),
    room_created_at: rooms[room]!.created_at,
  }));
  const attendees = [
    [0, 'zed@example.com'],
    [0, 'Amy@Example.com'],
    [1, 'k@example.com'],
  ].map(([room, email], position) => ({
    id: randomUUID(),
    room_id: rooms[room as number]!.id,
    email: email as string,
    email_lookup: (email as string).toLowerCase(),
    position,
  }));
  return { users, rooms, room_accesses: accesses, room_attendees: attendees };
}

async function allRows(db: Kysely<any>, table: string): Promise<Record<string, unknown>[]> {
  return db.selectFrom(table).selectAll().orderBy('id').execute();
}

/** The explicitly named indexes of a table, whichever the store. */
async function indexNames(db: Kysely<any>, table: string): Promise<string[]> {
  const rows =
    TEST_STORE === 'postgres'
      ? await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = ${table}`.execute(db)
      : await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table}`.execute(db);
  return rows.rows.map((r) => r.name);
}

async function tableNames(db: Kysely<any>): Promise<string[]> {
  return (await db.introspection.getTables()).map((t) => t.name);
}

/** What the insert is refused with (a unique violation, expected), or undefined when it is accepted. */
async function insertError(db: Kysely<any>, table: string, values: Record<string, unknown>): Promise<unknown> {
  try {
    await db.insertInto(table).values(values).execute();
    return undefined;
  } catch (error) {
    return error;
  }
}

function newUser(fields: { email?: string | null; sub?: string | null }) {
  const email = fields.email ?? null;
  return { id: randomUUID(), email, email_lookup: email?.toLowerCase() ?? null, sub: fields.sub ?? null, is_active: 1, created_at: at(50), updated_at: at(50) };
}

describe.skipIf(TEST_LAYOUT !== 'native')(`migration ${UNDER_TEST} on a database in use (${TEST_STORE}), ${NATIVE_TABLES_ONLY}`, () => {
  const fresh = useFreshDatabase();
  let handle: DatabaseHandle;
  let db: Kysely<any>;
  const inserted = rowsBefore();
  const before: Record<string, Record<string, unknown>[]> = {};
  let applied: string[];

  beforeAll(async () => {
    handle = openDatabase(loadConfig({ DATABASE_URL: fresh.url }));
    db = handle.db as unknown as Kysely<any>;
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const partial = await migrator.migrateTo(BEFORE);
    if (partial.error) throw partial.error;
    expect(partial.results?.map((r) => r.migrationName)).toEqual(MIGRATION_NAMES.slice(0, MIGRATION_NAMES.indexOf(BEFORE) + 1));
    expect(MIGRATION_NAMES.at(-1)).toBe(UNDER_TEST);

    for (const table of TABLES) await db.insertInto(table).values(inserted[table]).execute();
    for (const table of TABLES) before[table] = await allRows(db, table);
    expect(before.users).toHaveLength(3);
    expect(before.room_accesses).toHaveLength(7);

    applied = await migrateToLatest(handle.db);
  });
  afterAll(async () => handle?.close());

  it('applies exactly the pending migration, once', async () => {
    expect(applied).toEqual([UNDER_TEST]);
    expect(await migrateToLatest(handle.db)).toEqual([]);
  });

  it('keeps every user, each column as it was, with no sub', async () => {
    expect(await allRows(db, 'users')).toEqual(before.users!.map((u) => ({ ...u, sub: null })));
  });

  it('keeps every role and every attendee as they were', async () => {
    expect(await allRows(db, 'room_accesses')).toEqual(before.room_accesses);
    expect(await allRows(db, 'room_attendees')).toEqual(before.room_attendees);
  });

  it('keeps every room; each one\'s name is its slug and its configuration \'{}\'', async () => {
    const rooms = await allRows(db, 'rooms');
    expect(rooms).toEqual(before.rooms!.map((r) => ({ ...r, name: r.slug, configuration: '{}' })));
  });

  it('leaves no table aside and keeps the indexes the queries rely on', async () => {
    const tables = await tableNames(db);
    expect(tables).not.toContain('users_before_sub');
    expect(tables).not.toContain('room_accesses_before_sub');
    expect(await indexNames(db, 'users')).toContain('users_sub_unique');
    expect(await indexNames(db, 'room_accesses')).toContain('room_accesses_user_newest_index');
  });

  it('the application reads the migrated rows: rooms with name and configuration, roles, attendees in order', async () => {
    const services = createServices(handle, loadConfig({ DATABASE_URL: fresh.url }), createLogger('silent'));
    const [room0, room1] = inserted.rooms;
    const shown = await services.rooms.getRoom(room0!.id);
    expect(shown).toMatchObject({ name: room0!.slug, slug: room0!.slug, accessLevel: 'trusted', configuration: {}, attendees: ['zed@example.com', 'Amy@Example.com'] });
    const ada = await services.users.getUser({ email: 'ada@example.org' });
    expect(ada).toEqual({ id: inserted.users[0]!.id, email: 'Ada@Example.org', sub: null, isActive: true });
    const page = await services.rooms.listRoomsForUser(ada.id, 1, 10);
    expect(page.count).toBe(3);
    expect(page.rooms.map((r) => r.id)).toEqual([...inserted.rooms].reverse().map((r) => r.id));
    expect((await services.rooms.getRoomForUser(room1!.slug, inserted.users[2]!.id)).id).toBe(room1!.id);
  });

  it('users may now have a sub and no email; a sub is unique, emails stay unique, and many users may lack either', async () => {
    expect(await insertError(db, 'users', newUser({ sub: 'oidc|1' }))).toBeUndefined();
    expect(await insertError(db, 'users', newUser({ sub: 'oidc|2' }))).toBeUndefined();
    expect(await insertError(db, 'users', newUser({ email: 'dee@example.org' }))).toBeUndefined();
    expect(await insertError(db, 'users', newUser({ email: 'eve@example.org', sub: 'oidc|3' }))).toBeUndefined();

    for (const taken of [newUser({ sub: 'oidc|1' }), newUser({ email: 'ADA@example.org' }), newUser({ email: 'other@example.org', sub: 'oidc|3' })]) {
      const error = await insertError(db, 'users', taken);
      expect(isUniqueViolation(error), String(error)).toBe(true);
    }
    const subs = await db.selectFrom('users').select(['sub', 'email']).where('sub', 'is not', null).orderBy('sub').execute();
    expect(subs).toEqual([
      { sub: 'oidc|1', email: null },
      { sub: 'oidc|2', email: null },
      { sub: 'oidc|3', email: 'eve@example.org' },
    ]);
  });

  it('the rebuilt tables keep their foreign keys: no role for an unknown user, and a deleted user\'s roles go with them', async () => {
    const [room0] = inserted.rooms;
    const orphan = { id: randomUUID(), room_id: room0!.id, user_id: randomUUID(), role: 'member', created_at: at(55), room_created_at: room0!.created_at };
    expect(await insertError(db, 'room_accesses', orphan)).toBeDefined();

    const bob = inserted.users[1]!;
    await db.deleteFrom('users').where('id', '=', bob.id).execute();
    const left = await allRows(db, 'room_accesses');
    expect(left).toEqual(before.room_accesses!.filter((a) => a.user_id !== bob.id));
    expect(left.length).toBe(5);
  });
});
