import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, RoomRow } from '../db/schema.js';
import { nowIso, toIsoString } from '../db/convert.js';
import { PreparedQuery, type ParamRef } from '../db/prepared-query.js';
import { emailLookupKey } from '../validation.js';

export const ROLES = ['owner', 'administrator', 'member'] as const;
export type Role = (typeof ROLES)[number];

export { ACCESS_LEVELS, type AccessLevel } from './access-levels.js';
import type { AccessLevel } from './access-levels.js';

export interface Room {
  id: string;
  name: string;
  slug: string;
  /** null for a Meet room made while telephony was off (the meet layout writes one only while it is on) */
  pinCode: string | null;
  accessLevel: AccessLevel;
  /** The room's options (RoomConfiguration), as stored. */
  configuration: Record<string, unknown>;
  createdByClientId: string | null;
  createdAt: string;
}

type Db = Kysely<Database> | Transaction<Database>;

const ROOM_COLUMN_NAMES = ['id', 'name', 'slug', 'pin_code', 'access_level', 'configuration', 'created_by_client_id', 'created_at'] as const;
const roomColumns = ROOM_COLUMN_NAMES.map((column) => `rooms.${column}` as const);

type RoomColumns = Pick<RoomRow, (typeof ROOM_COLUMN_NAMES)[number]>;

/** The stored configuration; anything but a JSON object reads as no options. */
function parseConfiguration(text: string): Record<string, unknown> {
  // Most rooms have no options: no parse for those (a list reads 20 of them).
  if (text === '{}') return {};
  const parsed: unknown = JSON.parse(text);
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

function toRoom(row: RoomColumns): Room {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    pinCode: row.pin_code,
    accessLevel: row.access_level as AccessLevel,
    configuration: parseConfiguration(row.configuration),
    createdByClientId: row.created_by_client_id,
    createdAt: toIsoString(row.created_at),
  };
}

/** What a new room is made of; the store adds its id and creation time. */
export type NewRoom = Pick<Room, 'accessLevel' | 'configuration' | 'createdByClientId' | 'slug'> & { pinCode: string };

const insertRoomIfFree = new PreparedQuery<
  { id: string; slug: string; pinCode: string; accessLevel: AccessLevel; configuration: string; clientId: string | null; now: string },
  { id: string }
>((db, param) =>
  db
    .insertInto('rooms')
    .values({
      id: param('id'),
      // A generated room's name is its slug (upstream Meet derives the slug from the name).
      name: param('slug'),
      slug: param('slug'),
      pin_code: param('pinCode'),
      access_level: param('accessLevel'),
      configuration: param('configuration'),
      created_by_client_id: param('clientId'),
      created_at: param('now'),
      updated_at: param('now'),
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id'),
);

/**
 * Inserts the room unless its slug or PIN is taken, in which case nothing is written and
 * undefined comes back (the caller draws new values). ON CONFLICT DO NOTHING keeps a
 * PostgreSQL transaction usable, where a raised unique violation would abort it.
 */
export async function insertRoomUnlessTaken(
  trx: Transaction<Database>,
  room: NewRoom,
): Promise<Room | undefined> {
  const now = nowIso();
  const id = randomUUID();
  const inserted = await insertRoomIfFree.executeTakeFirst(trx, {
    id,
    slug: room.slug,
    pinCode: room.pinCode,
    accessLevel: room.accessLevel,
    configuration: JSON.stringify(room.configuration),
    clientId: room.createdByClientId,
    now,
  });
  if (!inserted) return undefined;
  return { id, name: room.slug, ...room, createdAt: now };
}

/**
 * Writes the options given (access level, configuration), leaving the others as they are.
 * The row is updated even with nothing to change: on PostgreSQL that locks it, so
 * concurrent changes of one room run one after the other. False when the room is gone.
 */
export async function updateRoomOptions(
  trx: Transaction<Database>,
  roomId: string,
  options: { accessLevel?: AccessLevel; configuration?: Record<string, unknown> },
): Promise<boolean> {
  const updated = await trx
    .updateTable('rooms')
    .set({
      ...(options.accessLevel === undefined ? {} : { access_level: options.accessLevel }),
      ...(options.configuration === undefined ? {} : { configuration: JSON.stringify(options.configuration) }),
      updated_at: nowIso(),
    })
    .where('id', '=', roomId)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

const upsertAccess = new PreparedQuery<
  { id: string; roomId: string; userId: string; role: Role; now: string; roomCreatedAt: string },
  { id: string }
>((db, param) =>
  db
    .insertInto('room_accesses')
    .values({
      id: param('id'),
      room_id: param('roomId'),
      user_id: param('userId'),
      role: param('role'),
      created_at: param('now'),
      room_created_at: param('roomCreatedAt'),
    })
    .onConflict((oc) => oc.columns(['room_id', 'user_id']).doUpdateSet({ role: param('role') }))
    .returning('id'),
);

/** Gives the user a role on the room, replacing the role they had. */
export async function upsertRoomAccess(db: Db, room: Pick<Room, 'id' | 'createdAt'>, userId: string, role: Role): Promise<void> {
  await upsertAccess.execute(db, { id: randomUUID(), roomId: room.id, userId, role, now: nowIso(), roomCreatedAt: room.createdAt });
}

/** How a room is named in a request: its id (a UUID, lower-cased) or its slug. */
export type RoomKey = { id: string } | { slug: string };

export async function findRoom(db: Db, key: RoomKey): Promise<Room | undefined> {
  const query = db.selectFrom('rooms').select(roomColumns);
  const row = await ('id' in key ? query.where('rooms.id', '=', key.id) : query.where('rooms.slug', '=', key.slug)).executeTakeFirst();
  return row && toRoom(row);
}

/** A room with its attendee emails, in the order they were set. */
export type RoomWithAttendees = Room & { attendees: string[] };

type RoomAttendeeRow = RoomColumns & { email: string | null };

/**
 * Rooms from rows that carry one attendee each (a null email for a room with none),
 * grouped in the rows' order: one round trip for rooms and attendees together. Each
 * layout reads its rows into rooms its own way (`toRoomOf`).
 */
export function groupAttendees<Row extends { id: string; email: string | null }>(rows: readonly Row[], toRoomOf: (row: Row) => Room): RoomWithAttendees[] {
  const rooms: RoomWithAttendees[] = [];
  let current: RoomWithAttendees | undefined;
  for (const row of rows) {
    if (current === undefined || current.id !== row.id) {
      current = { ...toRoomOf(row), attendees: [] };
      rooms.push(current);
    }
    if (row.email !== null) current.attendees.push(row.email);
  }
  return rooms;
}

function roomWithRoleAndAttendeesQuery(by: 'id' | 'slug') {
  return new PreparedQuery<{ key: string; userId: string }, RoomAttendeeRow & { role: string | null }>((db, param) =>
    db
      .selectFrom('rooms')
      .leftJoin('room_accesses', (join) =>
        join.onRef('room_accesses.room_id', '=', 'rooms.id').on('room_accesses.user_id', '=', param('userId')),
      )
      .leftJoin('room_attendees', 'room_attendees.room_id', 'rooms.id')
      .select([...roomColumns, 'room_accesses.role', 'room_attendees.email'])
      .where(by === 'id' ? 'rooms.id' : 'rooms.slug', '=', param('key'))
      .orderBy('room_attendees.position'),
  );
}

const roomWithRoleAndAttendeesById = roomWithRoleAndAttendeesQuery('id');
const roomWithRoleAndAttendeesBySlug = roomWithRoleAndAttendeesQuery('slug');

/** The room with its attendees, and the role the user holds on it, in one query. */
export async function findRoomWithRoleAndAttendees(
  db: Kysely<Database>,
  key: RoomKey,
  userId: string,
): Promise<{ room: RoomWithAttendees; role: Role | undefined } | undefined> {
  const [query, value] = 'id' in key ? [roomWithRoleAndAttendeesById, key.id] : [roomWithRoleAndAttendeesBySlug, key.slug];
  const rows = await query.execute(db, { key: value, userId });
  const first = rows[0];
  const room = groupAttendees(rows, toRoom)[0];
  if (first === undefined || room === undefined) return undefined;
  return { room, role: (first.role ?? undefined) as Role | undefined };
}

/** The role held on the room by the user with this email, if any such user exists. */
export async function roleOfEmail(db: Db, roomId: string, email: string): Promise<Role | undefined> {
  const row = await db
    .selectFrom('room_accesses')
    .innerJoin('users', 'users.id', 'room_accesses.user_id')
    .select('room_accesses.role')
    .where('room_accesses.room_id', '=', roomId)
    .where('users.email_lookup', '=', emailLookupKey(email))
    .where('users.is_active', '=', 1)
    .executeTakeFirst();
  return (row?.role ?? undefined) as Role | undefined;
}

/** Attendee emails of each room, in the order they were set (operator commands). */
export async function attendeesOf(db: Db, roomIds: readonly string[]): Promise<Map<string, string[]>> {
  const byRoom = new Map<string, string[]>(roomIds.map((id) => [id, []]));
  if (roomIds.length === 0) return byRoom;
  const rows = await db
    .selectFrom('room_attendees')
    .select(['room_id', 'email'])
    .where('room_id', 'in', roomIds)
    .orderBy('room_id')
    .orderBy('position')
    .execute();
  for (const row of rows) byRoom.get(row.room_id)?.push(row.email);
  return byRoom;
}

export async function isAttendee(db: Db, roomId: string, email: string): Promise<boolean> {
  const row = await db
    .selectFrom('room_attendees')
    .select('id')
    .where('room_id', '=', roomId)
    .where('email_lookup', '=', emailLookupKey(email))
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Replaces the attendee list (already validated and de-duplicated by the caller), inside
 * a transaction that has locked the room (updateRoomOptions).
 */
export async function replaceAttendees(trx: Transaction<Database>, roomId: string, emails: readonly string[]): Promise<void> {
  await trx.deleteFrom('room_attendees').where('room_id', '=', roomId).execute();
  if (emails.length === 0) return;
  await trx
    .insertInto('room_attendees')
    .values(emails.map((email, position) => ({ id: randomUUID(), room_id: roomId, email, email_lookup: emailLookupKey(email), position })))
    .execute();
}

/** Deletes the room; its accesses and attendees go with it (ON DELETE CASCADE). */
export async function deleteRoom(db: Db, roomId: string): Promise<RoomDeletion> {
  await db.deleteFrom('rooms').where('id', '=', roomId).execute();
  return 'deleted';
}

/** The user's accesses, to rooms with that slug when one is given. */
function accessesOfUser(db: Kysely<Database>, param: ParamRef<{ userId: string; slug: string }>, withSlug: boolean) {
  const query = db.selectFrom('room_accesses').where('room_accesses.user_id', '=', param('userId'));
  return withSlug ? query.innerJoin('rooms', 'rooms.id', 'room_accesses.room_id').where('rooms.slug', '=', param('slug')) : query;
}

function countRoomsQuery(withSlug: boolean) {
  return new PreparedQuery<{ userId: string; slug: string }, { count: number | string }>((db, param) =>
    accessesOfUser(db, param, withSlug).select((eb) => eb.fn.countAll<number | string>().as('count')),
  );
}

const countRooms = countRoomsQuery(false);
const countRoomsWithSlug = countRoomsQuery(true);

export async function countRoomsOfUser(db: Kysely<Database>, userId: string, slug?: string): Promise<number> {
  // The query without the slug filter never reads the slug value.
  const row = await (slug === undefined ? countRooms : countRoomsWithSlug).executeTakeFirst(db, { userId, slug: slug ?? '' });
  return Number(row?.count ?? 0);
}

type PageRow = RoomAttendeeRow & { total: number | string | null };

function pageWithAttendeesQuery(withSlug: boolean) {
  return new PreparedQuery<{ userId: string; slug: string; limit: number; offset: number }, PageRow>((db, param) => {
    // The page first (read in index order, stopped at the page), then its attendees.
    let page = db
      .selectFrom('room_accesses')
      .innerJoin('rooms', 'rooms.id', 'room_accesses.room_id')
      .select([...roomColumns, 'room_accesses.room_created_at as sort_key'])
      .where('room_accesses.user_id', '=', param('userId'));
    if (withSlug) page = page.where('rooms.slug', '=', param('slug'));
    const pageQuery = page
      .orderBy('room_accesses.room_created_at', 'desc')
      .orderBy('room_accesses.room_id', 'desc')
      .limit(param('limit'))
      .offset(param('offset'));
    // The count rides along as an uncorrelated subquery, which both databases evaluate
    // once per statement: one round trip instead of two, and count and page from one snapshot.
    const total = accessesOfUser(db, param, withSlug).select((eb) => eb.fn.countAll<number | string>().as('count'));
    return db
      .selectFrom(pageQuery.as('page'))
      .leftJoin('room_attendees', 'room_attendees.room_id', 'page.id')
      .select(ROOM_COLUMN_NAMES.map((column) => `page.${column}` as const))
      .select('room_attendees.email')
      .select(total.as('total'))
      .orderBy('page.sort_key', 'desc')
      .orderBy('page.id', 'desc')
      .orderBy('room_attendees.position');
  });
}

const pageWithAttendees = pageWithAttendeesQuery(false);
const pageWithAttendeesAndSlug = pageWithAttendeesQuery(true);

/**
 * One page of the user's rooms with their attendees, newest first, ties broken by id, and
 * how many rooms the user has in all, in one query. `total` is undefined when the page is
 * empty (no rooms, or an offset past the end): the count did not come back with it.
 */
export async function pageOfUserRooms(
  db: Kysely<Database>,
  userId: string,
  limit: number,
  offset: number,
  slug?: string,
): Promise<{ total: number | undefined; rooms: RoomWithAttendees[] }> {
  const query = slug === undefined ? pageWithAttendees : pageWithAttendeesAndSlug;
  const rows = await query.execute(db, { userId, slug: slug ?? '', limit, offset });
  return { total: rows.length === 0 ? undefined : Number(rows[0]!.total ?? 0), rooms: groupAttendees(rows, toRoom) };
}

export async function listAllRooms(db: Db): Promise<Room[]> {
  const rows = await db.selectFrom('rooms').select(roomColumns).orderBy('rooms.created_at', 'desc').orderBy('rooms.id', 'desc').execute();
  return rows.map(toRoom);
}

/** The rooms on which the user is the only owner. */
export async function roomsSolelyOwnedBy(db: Db, userId: string): Promise<Pick<Room, 'id' | 'slug'>[]> {
  return db
    .selectFrom('room_accesses as mine')
    .innerJoin('rooms', 'rooms.id', 'mine.room_id')
    .select(['rooms.id', 'rooms.slug'])
    .where('mine.user_id', '=', userId)
    .where('mine.role', '=', 'owner')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('room_accesses as other')
            .select('other.id')
            .whereRef('other.room_id', '=', 'mine.room_id')
            .where('other.role', '=', 'owner')
            .whereRef('other.user_id', '<>', 'mine.user_id'),
        ),
      ),
    )
    .orderBy('rooms.slug')
    .execute();
}

/** The user's role on the room, if any. */
export async function roleOfUser(db: Db, roomId: string, userId: string): Promise<Role | undefined> {
  const row = await db.selectFrom('room_accesses').select('role').where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
  return row?.role as Role | undefined;
}

/** Removes the user's role on the room; false when they held none. */
export async function deleteRoomAccess(db: Db, roomId: string, userId: string): Promise<boolean> {
  const deleted = await db.deleteFrom('room_accesses').where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
  return Number(deleted.numDeletedRows) > 0;
}

/**
 * Locks the rooms the user owns (an update that changes nothing): on PostgreSQL, changes
 * to one room's owners then run one after the other, so two of them cannot each see
 * another owner and together leave none. SQLite runs one write transaction at a time anyway.
 */
export async function lockRoomsOwnedBy(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('rooms')
    .set({ updated_at: sql<string>`updated_at` })
    .where('id', 'in', (eb) => eb.selectFrom('room_accesses').select('room_id').where('user_id', '=', userId).where('role', '=', 'owner'))
    .execute();
}

/** 'recordings': the room has recordings (Meet's), and nothing was deleted. */
export type RoomDeletion = 'deleted' | 'recordings';

/**
 * Every query on rooms, roles and attendees. One implementation per database layout
 * (db/layout.ts picks it): this file's functions for the native tables, meet/ for Meet's.
 * Each method takes the database or the transaction it runs in; the services own the
 * transactions.
 */
export interface RoomsRepository {
  /** Inserts the room unless its slug or PIN is taken (then undefined: draw new values). */
  insertRoomUnlessTaken(trx: Transaction<Database>, room: NewRoom): Promise<Room | undefined>;
  /** Writes the options given and locks the room; false when it is gone. */
  updateRoomOptions(trx: Transaction<Database>, roomId: string, options: { accessLevel?: AccessLevel; configuration?: Record<string, unknown> }): Promise<boolean>;
  upsertRoomAccess(db: Db, room: Pick<Room, 'id' | 'createdAt'>, userId: string, role: Role): Promise<void>;
  findRoom(db: Db, key: RoomKey): Promise<Room | undefined>;
  findRoomWithRoleAndAttendees(db: Kysely<Database>, key: RoomKey, userId: string): Promise<{ room: RoomWithAttendees; role: Role | undefined } | undefined>;
  roleOfEmail(db: Db, roomId: string, email: string): Promise<Role | undefined>;
  attendeesOf(db: Db, roomIds: readonly string[]): Promise<Map<string, string[]>>;
  isAttendee(db: Db, roomId: string, email: string): Promise<boolean>;
  /** Replaces the attendee list, inside a transaction that has locked the room. */
  replaceAttendees(trx: Transaction<Database>, roomId: string, emails: readonly string[]): Promise<void>;
  /** Deletes the room with everything that hangs on it (its own transaction where it takes several statements). */
  deleteRoom(db: Kysely<Database>, roomId: string): Promise<RoomDeletion>;
  countRoomsOfUser(db: Kysely<Database>, userId: string, slug?: string): Promise<number>;
  pageOfUserRooms(db: Kysely<Database>, userId: string, limit: number, offset: number, slug?: string): Promise<{ total: number | undefined; rooms: RoomWithAttendees[] }>;
  listAllRooms(db: Db): Promise<Room[]>;
  roomsSolelyOwnedBy(db: Db, userId: string): Promise<Pick<Room, 'id' | 'slug'>[]>;
  roleOfUser(db: Db, roomId: string, userId: string): Promise<Role | undefined>;
  deleteRoomAccess(db: Db, roomId: string, userId: string): Promise<boolean>;
  lockRoomsOwnedBy(db: Db, userId: string): Promise<void>;
}

/** The native layout: this server's own tables. */
export const nativeRoomsRepository: RoomsRepository = {
  insertRoomUnlessTaken,
  updateRoomOptions,
  upsertRoomAccess,
  findRoom,
  findRoomWithRoleAndAttendees,
  roleOfEmail,
  attendeesOf,
  isAttendee,
  replaceAttendees,
  deleteRoom,
  countRoomsOfUser,
  pageOfUserRooms,
  listAllRooms,
  roomsSolelyOwnedBy,
  roleOfUser,
  deleteRoomAccess,
  lockRoomsOwnedBy,
};
