/**
 * What the store holds, read straight from the tables of the layout under test (native:
 * this server's tables; meet: Meet's, with this server's meet_api_* beside them), in one
 * shape whichever layout: tests that look behind the API use these instead of naming tables.
 */
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/db/database.js';
import { TEST_LAYOUT } from '../helpers.js';

type Store = { database: DatabaseHandle };

export interface StoredRoom {
  id: string;
  name: string;
  slug: string;
  pin_code: string | null;
  access_level: string;
  configuration: Record<string, unknown>;
  created_by_client_id: string | null;
  created_at: string;
}

const iso = (v: string | Date) => (v instanceof Date ? v.toISOString() : v);

/** Every room (or those with these ids / this slug). */
export async function storedRooms(server: Store, filter: { ids?: string[]; slug?: string } = {}): Promise<StoredRoom[]> {
  const db = server.database.db;
  if (filter.ids !== undefined && filter.ids.length === 0) return [];
  if (TEST_LAYOUT === 'meet') {
    let query = db
      .selectFrom('meet_room')
      .innerJoin('meet_resource', 'meet_resource.id', 'meet_room.resource_id')
      .leftJoin('meet_api_room', 'meet_api_room.room_id', 'meet_room.resource_id')
      .select([
        'meet_room.resource_id as id',
        'meet_room.name',
        'meet_room.slug',
        'meet_room.pin_code',
        'meet_room.access_level',
        'meet_room.configuration',
        'meet_api_room.created_by_client_id',
        'meet_resource.created_at',
      ]);
    if (filter.ids) query = query.where('meet_room.resource_id', 'in', filter.ids);
    if (filter.slug !== undefined) query = query.where('meet_room.slug', '=', filter.slug);
    const rows = await query.execute();
    return rows.map((r) => ({ ...r, slug: r.slug ?? '', configuration: r.configuration as Record<string, unknown>, created_at: iso(r.created_at) }));
  }
  let query = db.selectFrom('rooms').select(['id', 'name', 'slug', 'pin_code', 'access_level', 'configuration', 'created_by_client_id', 'created_at']);
  if (filter.ids) query = query.where('id', 'in', filter.ids);
  if (filter.slug !== undefined) query = query.where('slug', '=', filter.slug);
  const rows = await query.execute();
  return rows.map((r) => ({ ...r, configuration: JSON.parse(r.configuration) as Record<string, unknown>, created_at: iso(r.created_at) }));
}

export async function storedRoom(server: Store, id: string): Promise<StoredRoom | undefined> {
  return (await storedRooms(server, { ids: [id] }))[0];
}

/** Roles (of one room when given), as {room_id, user_id, role}. */
export async function storedAccesses(server: Store, roomId?: string): Promise<{ room_id: string; user_id: string; role: string }[]> {
  const db = server.database.db;
  if (TEST_LAYOUT === 'meet') {
    let query = db.selectFrom('meet_resource_access').select(['resource_id as room_id', 'user_id', 'role']);
    if (roomId !== undefined) query = query.where('resource_id', '=', roomId);
    return query.execute();
  }
  let query = db.selectFrom('room_accesses').select(['room_id', 'user_id', 'role']);
  if (roomId !== undefined) query = query.where('room_id', '=', roomId);
  return query.execute();
}

/** The attendee rows of a room. */
export async function storedAttendees(server: Store, roomId: string): Promise<string[]> {
  const db = server.database.db;
  const rows =
    TEST_LAYOUT === 'meet'
      ? await db.selectFrom('meet_api_room_attendee').select('email').where('room_id', '=', roomId).orderBy('position').execute()
      : await db.selectFrom('room_attendees').select('email').where('room_id', '=', roomId).orderBy('position').execute();
  return rows.map((r) => r.email);
}

/** Users (with one of these emails, compared case-insensitively, when given). */
export async function storedUsers(server: Store, emails?: string[]): Promise<{ id: string; email: string | null; is_active: boolean }[]> {
  const db = server.database.db;
  if (emails !== undefined && emails.length === 0) return [];
  const lookups = emails?.map((e) => e.toLowerCase());
  if (TEST_LAYOUT === 'meet') {
    let query = db.selectFrom('meet_user').select(['id', 'email', 'is_active']);
    if (lookups) query = query.where(sql`lower(email)`, 'in', lookups);
    return query.execute();
  }
  let query = db.selectFrom('users').select(['id', 'email', 'is_active']);
  if (lookups) query = query.where('email_lookup', 'in', lookups);
  return (await query.execute()).map((r) => ({ ...r, is_active: r.is_active === true || r.is_active === 1 }));
}

/** The stored application row, with its secret column whatever it is called. */
export async function storedApplication(server: Store, clientId: string): Promise<{ row: Record<string, unknown>; secretHash: string } | undefined> {
  const db = server.database.db;
  if (TEST_LAYOUT === 'meet') {
    const row = await db.selectFrom('meet_application').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row && { row, secretHash: row.client_secret };
  }
  const row = await db.selectFrom('applications').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  return row && { row, secretHash: row.client_secret_hash };
}

/** Moves rooms to one creation instant (for tests of the order's tie-breaker). */
export async function setRoomsCreatedAt(server: Store, ids: string[], instant: string): Promise<void> {
  const db = server.database.db;
  if (TEST_LAYOUT === 'meet') {
    await db.updateTable('meet_resource').set({ created_at: instant }).where('id', 'in', ids).execute();
    return;
  }
  await db.updateTable('rooms').set({ created_at: instant }).where('id', 'in', ids).execute();
  // The list reads the copy of created_at kept on each access (migration 003).
  await db.updateTable('room_accesses').set({ room_created_at: instant }).where('room_id', 'in', ids).execute();
}

/** Renames an application behind the service's back. */
export async function renameStoredApplication(db: DatabaseHandle['db'], clientId: string, name: string): Promise<void> {
  if (TEST_LAYOUT === 'meet') await db.updateTable('meet_application').set({ name }).where('client_id', '=', clientId).execute();
  else await db.updateTable('applications').set({ name }).where('client_id', '=', clientId).execute();
}

/** Overwrites an application's stored secret hash. */
export async function setStoredSecretHash(server: Store, clientId: string, value: string): Promise<void> {
  const db = server.database.db;
  if (TEST_LAYOUT === 'meet') await db.updateTable('meet_application').set({ client_secret: value }).where('client_id', '=', clientId).execute();
  else await db.updateTable('applications').set({ client_secret_hash: value }).where('client_id', '=', clientId).execute();
}

/** How many rows each kind of record has, whatever the layout's table names. */
export async function storedCounts(server: Store): Promise<Record<'rooms' | 'users' | 'applications' | 'room_accesses' | 'application_domains', number>> {
  const tables =
    TEST_LAYOUT === 'meet'
      ? ({ rooms: 'meet_room', users: 'meet_user', applications: 'meet_application', room_accesses: 'meet_resource_access', application_domains: 'meet_application_domain' } as const)
      : ({ rooms: 'rooms', users: 'users', applications: 'applications', room_accesses: 'room_accesses', application_domains: 'application_domains' } as const);
  const counts = {} as Record<keyof typeof tables, number>;
  for (const [kind, table] of Object.entries(tables) as [keyof typeof tables, (typeof tables)[keyof typeof tables]][]) {
    const row = await server.database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[kind] = Number(row.n);
  }
  return counts;
}
