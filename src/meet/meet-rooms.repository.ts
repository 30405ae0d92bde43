/**
 * Rooms and roles in Meet's tables (the meet layout). A room is two rows, as Django's
 * multi-table inheritance writes it: meet_resource (id, timestamps) and meet_room
 * (resource_id, name, slug, access level, configuration, PIN); roles are
 * meet_resource_access rows. Rooms made in Meet's web app are read like ours. What Meet has
 * no column for lives in this server's meet_api_* tables: the creating client
 * (meet_api_room), the attendee list (meet_api_room_attendee), and which member accesses
 * this server added for attendees (meet_api_attendee_access).
 *
 * Meet's foreign keys carry no ON DELETE and are checked at commit (DEFERRABLE INITIALLY
 * DEFERRED): whoever deletes deletes the dependants first, in one transaction.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { nowIso, toIsoString } from '../db/convert.js';
import { PreparedQuery, type ParamRef } from '../db/prepared-query.js';
import { emailLookupKey } from '../validation.js';
import type { AccessLevel } from '../rooms/access-levels.js';
import { showableConfiguration } from '../rooms/rooms.schemas.js';
import { groupAttendees, type NewRoom, type Role, type Room, type RoomKey, type RoomWithAttendees, type RoomsRepository } from '../rooms/rooms.repository.js';
import { meetUsersRepository } from './meet-users.repository.js';

type Db = Kysely<Database> | Transaction<Database>;

interface RoomRow {
  id: string;
  name: string;
  slug: string | null;
  pin_code: string | null;
  access_level: string;
  configuration: unknown;
  created_by_client_id: string | null;
  created_at: Date | string;
}

type RoomAttendeeRow = RoomRow & { email: string | null };

function toRoom(row: RoomRow): Room {
  const configuration = row.configuration;
  return {
    id: row.id,
    name: row.name,
    slug: row.slug ?? '',
    pinCode: row.pin_code,
    accessLevel: row.access_level as AccessLevel,
    configuration: showableConfiguration(configuration),
    createdByClientId: row.created_by_client_id,
    createdAt: toIsoString(row.created_at),
  };
}


const ROOM_SELECTION = [
  'meet_room.resource_id as id',
  'meet_room.name',
  'meet_room.slug',
  'meet_room.pin_code',
  'meet_room.access_level',
  'meet_room.configuration',
  'meet_api_room.created_by_client_id',
  'meet_resource.created_at',
] as const;

/** meet_room with its resource row and this server's row about it. */
function rooms(db: Kysely<Database>) {
  return db
    .selectFrom('meet_room')
    .innerJoin('meet_resource', 'meet_resource.id', 'meet_room.resource_id')
    .leftJoin('meet_api_room', 'meet_api_room.room_id', 'meet_room.resource_id');
}

// The room and its resource in one statement: the meet_room insert yields nothing when the
// slug or the PIN is taken (ON CONFLICT DO NOTHING keeps the transaction usable), and then
// neither the resource nor this server's row is written. The resource's foreign key is
// checked at commit, so the order within the statement does not matter.
const insertRoomIfFree = new PreparedQuery<
  { id: string; slug: string; pinCode: string | null; accessLevel: string; configuration: string; clientId: string | null; now: string },
  { id: string }
>((db, param) =>
  db
    .with('room', (qc) =>
      qc
        .insertInto('meet_room')
        .values({
          resource_id: param('id'),
          // A generated room's name is its slug (Meet derives the slug from the name).
          name: param('slug'),
          slug: param('slug'),
          configuration: param('configuration'),
          access_level: param('accessLevel'),
          pin_code: param('pinCode'),
        })
        .onConflict((oc) => oc.doNothing())
        .returning('resource_id'),
    )
    .with('api', (qc) =>
      qc
        .insertInto('meet_api_room')
        .columns(['room_id', 'created_by_client_id', 'created_at'])
        .expression((eb) =>
          eb
            .selectFrom('room')
            .select([
              'room.resource_id',
              sql<string>`cast(${param('clientId')} as varchar)`.as('client_id'),
              sql<string>`cast(${param('now')} as timestamptz)`.as('created_at'),
            ]),
        )
        .returning('room_id'),
    )
    .insertInto('meet_resource')
    .columns(['id', 'created_at', 'updated_at'])
    .expression((eb) =>
      eb
        .selectFrom('room')
        .select([
          'room.resource_id',
          sql<string>`cast(${param('now')} as timestamptz)`.as('created_at'),
          sql<string>`cast(${param('now')} as timestamptz)`.as('updated_at'),
        ]),
    )
    .returning('id'),
);

// A role given (or changed) by an operator or as owner is no longer one this server added
// for an attendee: it stops being tracked, so an attendee list never takes it away.
const upsertAccess = new PreparedQuery<{ id: string; roomId: string; userId: string; role: string; now: string }, { id: string }>((db, param) =>
  db
    .with('untracked', (qc) =>
      qc
        .deleteFrom('meet_api_attendee_access')
        .where('room_id', '=', param('roomId'))
        .where('user_id', '=', param('userId'))
        .returning('user_id'),
    )
    .insertInto('meet_resource_access')
    .values({
      id: param('id'),
      created_at: param('now'),
      updated_at: param('now'),
      role: param('role'),
      resource_id: param('roomId'),
      user_id: param('userId'),
    })
    .onConflict((oc) => oc.columns(['user_id', 'resource_id']).doUpdateSet({ role: param('role'), updated_at: param('now') }))
    .returning('id'),
);

function roomWithRoleAndAttendeesQuery(by: 'id' | 'slug') {
  return new PreparedQuery<{ key: string; userId: string }, RoomAttendeeRow & { role: string | null }>((db, param) =>
    rooms(db)
      .leftJoin('meet_resource_access', (join) =>
        join.onRef('meet_resource_access.resource_id', '=', 'meet_room.resource_id').on('meet_resource_access.user_id', '=', param('userId')),
      )
      .leftJoin('meet_api_room_attendee', 'meet_api_room_attendee.room_id', 'meet_room.resource_id')
      .select([...ROOM_SELECTION, 'meet_resource_access.role', 'meet_api_room_attendee.email'])
      .where(by === 'id' ? 'meet_room.resource_id' : 'meet_room.slug', '=', param('key'))
      .orderBy('meet_api_room_attendee.position'),
  );
}

const roomWithRoleAndAttendeesById = roomWithRoleAndAttendeesQuery('id');
const roomWithRoleAndAttendeesBySlug = roomWithRoleAndAttendeesQuery('slug');

/** The user's accesses to rooms (to the room with that slug when one is given). */
function accessesOfUser(db: Kysely<Database>, param: ParamRef<{ userId: string; slug: string }>, withSlug: boolean) {
  const query = db
    .selectFrom('meet_resource_access')
    .innerJoin('meet_room', 'meet_room.resource_id', 'meet_resource_access.resource_id')
    .where('meet_resource_access.user_id', '=', param('userId'));
  return withSlug ? query.where('meet_room.slug', '=', param('slug')) : query;
}

function countRoomsQuery(withSlug: boolean) {
  return new PreparedQuery<{ userId: string; slug: string }, { count: number | string }>((db, param) =>
    accessesOfUser(db, param, withSlug).select((eb) => eb.fn.countAll<number | string>().as('count')),
  );
}

const countRooms = countRoomsQuery(false);
const countRoomsWithSlug = countRoomsQuery(true);

type PageRow = RoomAttendeeRow & { total: number | string | null };

function pageWithAttendeesQuery(withSlug: boolean) {
  return new PreparedQuery<{ userId: string; slug: string; limit: number; offset: number }, PageRow>((db, param) => {
    let page = db
      .selectFrom('meet_resource_access')
      .innerJoin('meet_room', 'meet_room.resource_id', 'meet_resource_access.resource_id')
      .innerJoin('meet_resource', 'meet_resource.id', 'meet_room.resource_id')
      .leftJoin('meet_api_room', 'meet_api_room.room_id', 'meet_room.resource_id')
      .select(ROOM_SELECTION)
      .where('meet_resource_access.user_id', '=', param('userId'));
    if (withSlug) page = page.where('meet_room.slug', '=', param('slug'));
    const pageQuery = page
      .orderBy('meet_resource.created_at', 'desc')
      .orderBy('meet_room.resource_id', 'desc')
      .limit(param('limit'))
      .offset(param('offset'));
    const total = accessesOfUser(db, param, withSlug).select((eb) => eb.fn.countAll<number | string>().as('count'));
    return db
      .selectFrom(pageQuery.as('page'))
      .leftJoin('meet_api_room_attendee', 'meet_api_room_attendee.room_id', 'page.id')
      .select(['page.id', 'page.name', 'page.slug', 'page.pin_code', 'page.access_level', 'page.configuration', 'page.created_by_client_id', 'page.created_at'])
      .select('meet_api_room_attendee.email')
      .select(total.as('total'))
      .orderBy('page.created_at', 'desc')
      .orderBy('page.id', 'desc')
      .orderBy('meet_api_room_attendee.position');
  });
}

const pageWithAttendees = pageWithAttendeesQuery(false);
const pageWithAttendeesAndSlug = pageWithAttendeesQuery(true);

async function findRoom(db: Db, key: RoomKey): Promise<Room | undefined> {
  const query = rooms(db).select(ROOM_SELECTION);
  const row = await ('id' in key ? query.where('meet_room.resource_id', '=', key.id) : query.where('meet_room.slug', '=', key.slug)).executeTakeFirst();
  return row && toRoom(row);
}

async function upsertRoomAccess(db: Db, room: Pick<Room, 'id'>, userId: string, role: Role): Promise<void> {
  await upsertAccess.execute(db, { id: randomUUID(), roomId: room.id, userId, role, now: nowIso() });
}

/**
 * Gives each attendee's user(s) a member access unless they hold a role already (never
 * lowered), and tracks the accesses added; an email no user has gets a provisional user,
 * as Meet creates them. Several users sharing the email each get the access.
 */
async function grantAttendeeAccesses(trx: Transaction<Database>, roomId: string, emails: readonly string[]): Promise<Set<string>> {
  const listed = new Set<string>();
  for (const email of emails) {
    let users = await meetUsersRepository.findUsersByEmail(trx, email);
    if (users.length === 0) users = [await meetUsersRepository.insertUserIfAbsent(trx, { email })];
    for (const user of users) {
      listed.add(user.id);
      const now = nowIso();
      const added = await trx
        .insertInto('meet_resource_access')
        .values({ id: randomUUID(), created_at: now, updated_at: now, role: 'member', resource_id: roomId, user_id: user.id })
        .onConflict((oc) => oc.columns(['user_id', 'resource_id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (added) await trx.insertInto('meet_api_attendee_access').values({ room_id: roomId, user_id: user.id }).onConflict((oc) => oc.doNothing()).execute();
    }
  }
  return listed;
}

/**
 * Takes back the member accesses this server added for attendees no longer listed. A role
 * raised since (in Meet, or by an operator) is left alone, and so is every role this
 * server did not add.
 */
async function revokeUnlistedAttendeeAccesses(trx: Transaction<Database>, roomId: string, keep: Set<string>): Promise<void> {
  const tracked = await trx.selectFrom('meet_api_attendee_access').select('user_id').where('room_id', '=', roomId).execute();
  const gone = tracked.map((t) => t.user_id).filter((id) => !keep.has(id));
  if (gone.length === 0) return;
  await trx.deleteFrom('meet_resource_access').where('resource_id', '=', roomId).where('user_id', 'in', gone).where('role', '=', 'member').execute();
  await trx.deleteFrom('meet_api_attendee_access').where('room_id', '=', roomId).where('user_id', 'in', gone).execute();
}

export function meetRoomsRepository(options: { telephonyEnabled: boolean }): RoomsRepository {
  return {
    async insertRoomUnlessTaken(trx, room: NewRoom) {
      const now = nowIso();
      const id = randomUUID();
      // Meet sets a PIN only while telephony is enabled when the room is created.
      const pinCode = options.telephonyEnabled ? room.pinCode : null;
      const inserted = await insertRoomIfFree.executeTakeFirst(trx, {
        id,
        slug: room.slug,
        pinCode,
        accessLevel: room.accessLevel,
        configuration: JSON.stringify(room.configuration),
        clientId: room.createdByClientId,
        now,
      });
      if (!inserted) return undefined;
      return { id, name: room.slug, ...room, pinCode, createdAt: now };
    },

    /** Touches the resource (which locks it, so concurrent changes of a room run one after the other), then writes the options given. */
    async updateRoomOptions(trx, roomId, changes) {
      const touched = await trx
        .updateTable('meet_resource')
        .set({ updated_at: nowIso() })
        .where('id', '=', roomId)
        .where((eb) => eb.exists(eb.selectFrom('meet_room').select('meet_room.resource_id').where('meet_room.resource_id', '=', roomId)))
        .executeTakeFirst();
      if (Number(touched.numUpdatedRows) === 0) return false;
      if (changes.accessLevel !== undefined || changes.configuration !== undefined) {
        await trx
          .updateTable('meet_room')
          .set({
            ...(changes.accessLevel === undefined ? {} : { access_level: changes.accessLevel }),
            ...(changes.configuration === undefined ? {} : { configuration: JSON.stringify(changes.configuration) }),
          })
          .where('resource_id', '=', roomId)
          .execute();
      }
      return true;
    },

    upsertRoomAccess,
    findRoom,

    async findRoomWithRoleAndAttendees(db, key, userId) {
      const [query, value] = 'id' in key ? [roomWithRoleAndAttendeesById, key.id] : [roomWithRoleAndAttendeesBySlug, key.slug];
      const rows = await query.execute(db, { key: value, userId });
      const first = rows[0];
      const room = groupAttendees(rows, toRoom)[0];
      if (first === undefined || room === undefined) return undefined;
      return { room, role: (first.role ?? undefined) as Role | undefined };
    },

    async roleOfEmail(db, roomId, email) {
      const row = await db
        .selectFrom('meet_resource_access')
        .innerJoin('meet_user', 'meet_user.id', 'meet_resource_access.user_id')
        .select('meet_resource_access.role')
        .where('meet_resource_access.resource_id', '=', roomId)
        .where(sql`lower(meet_user.email)`, '=', emailLookupKey(email))
        .where('meet_user.is_active', '=', true)
        .executeTakeFirst();
      return (row?.role ?? undefined) as Role | undefined;
    },

    async attendeesOf(db, roomIds) {
      const byRoom = new Map<string, string[]>(roomIds.map((id) => [id, []]));
      if (roomIds.length === 0) return byRoom;
      const rows = await db
        .selectFrom('meet_api_room_attendee')
        .select(['room_id', 'email'])
        .where('room_id', 'in', roomIds)
        .orderBy('room_id')
        .orderBy('position')
        .execute();
      for (const row of rows) byRoom.get(row.room_id)?.push(row.email);
      return byRoom;
    },

    async isAttendee(db, roomId, email) {
      const row = await db
        .selectFrom('meet_api_room_attendee')
        .select('room_id')
        .where('room_id', '=', roomId)
        .where('email_lookup', '=', emailLookupKey(email))
        .executeTakeFirst();
      return row !== undefined;
    },

    async replaceAttendees(trx, roomId, emails) {
      await trx.deleteFrom('meet_api_room_attendee').where('room_id', '=', roomId).execute();
      if (emails.length > 0) {
        await trx
          .insertInto('meet_api_room_attendee')
          .values(emails.map((email, position) => ({ room_id: roomId, email, email_lookup: emailLookupKey(email), position })))
          .execute();
      }
      const listed = await grantAttendeeAccesses(trx, roomId, emails);
      await revokeUnlistedAttendeeAccesses(trx, roomId, listed);
    },

    async deleteRoom(db, roomId) {
      return db.transaction().execute(async (trx) => {
        // Locked first, so a change or a grant arriving meanwhile waits for the outcome: the
        // resource, as updateRoomOptions locks it (else an attendee's access could be added
        // between the deletion of the accesses and of the resource), then the room.
        await trx.selectFrom('meet_resource').select('id').where('id', '=', roomId).forUpdate().execute();
        await trx.selectFrom('meet_room').select('resource_id').where('resource_id', '=', roomId).forUpdate().execute();
        // Recordings are files in Meet's object storage: Meet deletes them, not this server.
        const recording = await trx.selectFrom('meet_recording').select('id').where('room_id', '=', roomId).limit(1).executeTakeFirst();
        if (recording) return 'recordings' as const;
        await trx.deleteFrom('meet_resource_access').where('resource_id', '=', roomId).execute();
        await trx.deleteFrom('meet_api_attendee_access').where('room_id', '=', roomId).execute();
        await trx.deleteFrom('meet_api_room_attendee').where('room_id', '=', roomId).execute();
        await trx.deleteFrom('meet_api_room').where('room_id', '=', roomId).execute();
        await trx.deleteFrom('meet_room').where('resource_id', '=', roomId).execute();
        await trx.deleteFrom('meet_resource').where('id', '=', roomId).execute();
        return 'deleted' as const;
      });
    },

    async countRoomsOfUser(db, userId, slug) {
      const row = await (slug === undefined ? countRooms : countRoomsWithSlug).executeTakeFirst(db, { userId, slug: slug ?? '' });
      return Number(row?.count ?? 0);
    },

    async pageOfUserRooms(db, userId, limit, offset, slug) {
      const query = slug === undefined ? pageWithAttendees : pageWithAttendeesAndSlug;
      const rows = await query.execute(db, { userId, slug: slug ?? '', limit, offset });
      return { total: rows.length === 0 ? undefined : Number(rows[0]!.total ?? 0), rooms: groupAttendees(rows, toRoom) };
    },

    async listAllRooms(db) {
      const rows = await rooms(db).select(ROOM_SELECTION).orderBy('meet_resource.created_at', 'desc').orderBy('meet_room.resource_id', 'desc').execute();
      return rows.map(toRoom);
    },

    async roomsSolelyOwnedBy(db, userId) {
      const rows = await db
        .selectFrom('meet_resource_access as mine')
        .innerJoin('meet_room', 'meet_room.resource_id', 'mine.resource_id')
        .select(['meet_room.resource_id as id', 'meet_room.slug'])
        .where('mine.user_id', '=', userId)
        .where('mine.role', '=', 'owner')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('meet_resource_access as other')
                .select('other.id')
                .whereRef('other.resource_id', '=', 'mine.resource_id')
                .where('other.role', '=', 'owner')
                .whereRef('other.user_id', '<>', 'mine.user_id'),
            ),
          ),
        )
        .orderBy('meet_room.slug')
        .execute();
      return rows.map((r) => ({ id: r.id, slug: r.slug ?? '' }));
    },

    async roleOfUser(db, roomId, userId) {
      const row = await db
        .selectFrom('meet_resource_access')
        .select('role')
        .where('resource_id', '=', roomId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row?.role as Role | undefined;
    },

    async deleteRoomAccess(db, roomId, userId) {
      await db.deleteFrom('meet_api_attendee_access').where('room_id', '=', roomId).where('user_id', '=', userId).execute();
      const deleted = await db.deleteFrom('meet_resource_access').where('resource_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    },

    /** Row locks on the rooms the user owns (SELECT ... FOR UPDATE writes nothing to Meet's rows). */
    async lockRoomsOwnedBy(db, userId) {
      await db
        .selectFrom('meet_room')
        .select('resource_id')
        .where('resource_id', 'in', (eb) =>
          eb.selectFrom('meet_resource_access').select('resource_id').where('user_id', '=', userId).where('role', '=', 'owner'),
        )
        .forUpdate()
        .execute();
    },
  };
}
