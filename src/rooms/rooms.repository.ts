import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database, RoomRow } from '../db/schema.js';
import { nowIso, toIsoString } from '../db/convert.js';

export const ROLES = ['owner', 'administrator', 'member'] as const;
export type Role = (typeof ROLES)[number];

export const ACCESS_LEVELS = ['public', 'trusted', 'restricted'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export interface Room {
  id: string;
  slug: string;
  pinCode: string;
  accessLevel: AccessLevel;
  createdByClientId: string | null;
  createdAt: string;
}

type Db = Kysely<Database> | Transaction<Database>;

const roomColumns = ['rooms.id', 'rooms.slug', 'rooms.pin_code', 'rooms.access_level', 'rooms.created_by_client_id', 'rooms.created_at'] as const;

type RoomColumns = Pick<RoomRow, 'id' | 'slug' | 'pin_code' | 'access_level' | 'created_by_client_id' | 'created_at'>;

function toRoom(row: RoomColumns): Room {
  return {
    id: row.id,
    slug: row.slug,
    pinCode: row.pin_code,
    accessLevel: row.access_level as AccessLevel,
    createdByClientId: row.created_by_client_id,
    createdAt: toIsoString(row.created_at),
  };
}

/**
 * Inserts the room unless its slug or PIN is taken, in which case nothing is written and
 * undefined comes back (the caller draws new values). ON CONFLICT DO NOTHING keeps a
 * PostgreSQL transaction usable, where a raised unique violation would abort it.
 */
export async function insertRoomUnlessTaken(
  trx: Transaction<Database>,
  room: { slug: string; pinCode: string; accessLevel: AccessLevel; createdByClientId: string | null },
): Promise<Room | undefined> {
  const now = nowIso();
  const id = randomUUID();
  const inserted = await trx
    .insertInto('rooms')
    .values({
      id,
      slug: room.slug,
      pin_code: room.pinCode,
      access_level: room.accessLevel,
      created_by_client_id: room.createdByClientId,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return undefined;
  return { id, slug: room.slug, pinCode: room.pinCode, accessLevel: room.accessLevel, createdByClientId: room.createdByClientId, createdAt: now };
}

/** Gives the user a role on the room, replacing the role they had. */
export async function upsertRoomAccess(db: Db, roomId: string, userId: string, role: Role): Promise<void> {
  await db
    .insertInto('room_accesses')
    .values({ id: randomUUID(), room_id: roomId, user_id: userId, role, created_at: nowIso() })
    .onConflict((oc) => oc.columns(['room_id', 'user_id']).doUpdateSet({ role }))
    .execute();
}

export async function findRoomById(db: Db, roomId: string): Promise<Room | undefined> {
  const row = await db.selectFrom('rooms').select(roomColumns).where('rooms.id', '=', roomId).executeTakeFirst();
  return row && toRoom(row);
}

/** The room and the role the user holds on it (undefined when none), in one query. */
export async function findRoomWithRole(
  db: Db,
  roomId: string,
  userId: string,
): Promise<{ room: Room; role: Role | undefined } | undefined> {
  const row = await db
    .selectFrom('rooms')
    .leftJoin('room_accesses', (join) =>
      join.onRef('room_accesses.room_id', '=', 'rooms.id').on('room_accesses.user_id', '=', userId),
    )
    .select([...roomColumns, 'room_accesses.role'])
    .where('rooms.id', '=', roomId)
    .executeTakeFirst();
  if (!row) return undefined;
  return { room: toRoom(row), role: (row.role ?? undefined) as Role | undefined };
}

export async function countRoomsOfUser(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('room_accesses')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** One page of the user's rooms, newest first, ties broken by id (a total order). */
export async function listRoomsOfUser(db: Db, userId: string, limit: number, offset: number): Promise<Room[]> {
  const rows = await db
    .selectFrom('room_accesses')
    .innerJoin('rooms', 'rooms.id', 'room_accesses.room_id')
    .select(roomColumns)
    .where('room_accesses.user_id', '=', userId)
    .orderBy('rooms.created_at', 'desc')
    .orderBy('rooms.id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  return rows.map(toRoom);
}

export async function listAllRooms(db: Db): Promise<Room[]> {
  const rows = await db.selectFrom('rooms').select(roomColumns).orderBy('rooms.created_at', 'desc').orderBy('rooms.id', 'desc').execute();
  return rows.map(toRoom);
}
