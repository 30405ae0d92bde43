/**
 * Users in Meet's meet_user (the meet layout). Meet lets several users share an email (the
 * service refuses such an email), finds users by email case-insensitively, and allows one
 * provisional user (sub NULL) per lower-cased email through its partial unique index:
 * that index decides between concurrent first requests. New users are written as Meet
 * writes them: every NOT NULL column given (Django sets no database defaults).
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { nowIso } from '../db/convert.js';
import { PreparedQuery } from '../db/prepared-query.js';
import { randomString } from '../secrets.js';
import { emailLookupKey } from '../validation.js';
import type { User, UsersRepository } from '../users/users.repository.js';

type Db = Kysely<Database> | Transaction<Database>;
type UserRow = { id: string; email: string | null; sub: string | null; is_active: boolean };

const columns = ['id', 'email', 'sub', 'is_active'] as const;

function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, sub: row.sub, isActive: row.is_active };
}

// No index serves lower(email) for users with a sub (Meet has none, and this server adds
// nothing to Meet's tables): two rows at most are read, enough to tell "several".
const usersByEmail = new PreparedQuery<{ lookup: string }, UserRow>((db, param) =>
  db
    .selectFrom('meet_user')
    .select(columns)
    .where(sql`lower(email)`, '=', param('lookup'))
    .orderBy('created_at')
    .orderBy('id')
    .limit(2),
);

const userBySub = new PreparedQuery<{ sub: string }, UserRow>((db, param) => db.selectFrom('meet_user').select(columns).where('sub', '=', param('sub')));

/** A meet_user row as Meet creates a user: an unusable password ("!" and 40 random characters, Django's) and Meet's defaults. */
export function meetUserRow(user: { id: string; email: string | null; sub: string | null; isActive: boolean }, now: string) {
  return {
    id: user.id,
    password: `!${randomString(40)}`,
    last_login: null,
    is_superuser: false,
    created_at: now,
    updated_at: now,
    sub: user.sub,
    email: user.email,
    admin_email: null,
    language: 'en-us',
    timezone: 'UTC',
    is_device: false,
    is_staff: false,
    is_active: user.isActive,
    full_name: null,
    short_name: null,
    default_room_access_level: null,
    default_room_configuration: '{}',
  };
}

async function findUsersByEmail(db: Db, email: string): Promise<User[]> {
  return (await usersByEmail.execute(db, { lookup: emailLookupKey(email) })).map(toUser);
}

async function findUserBySub(db: Db, sub: string): Promise<User | undefined> {
  const row = await userBySub.executeTakeFirst(db, { sub });
  return row && toUser(row);
}

const userById = new PreparedQuery<{ id: string }, { id: string; is_active: boolean }>((db, param) =>
  db.selectFrom('meet_user').select(['id', 'is_active']).where('id', '=', param('id')),
);

export const meetUsersRepository: UsersRepository = {
  async findUserById(db, id) {
    const row = await userById.executeTakeFirst(db, { id });
    return row && { id: row.id, isActive: row.is_active };
  },
  findUsersByEmail,
  findUserBySub,

  async listUsers(db) {
    const rows = await db
      .selectFrom('meet_user')
      .select(columns)
      .orderBy((eb) => eb.case().when('email', 'is', null).then(1).else(0).end())
      .orderBy(sql`lower(email)`)
      .orderBy('sub')
      .orderBy('id')
      .execute();
    return rows.map(toUser);
  },

  async insertUser(db, user) {
    const id = randomUUID();
    await db.insertInto('meet_user').values(meetUserRow({ id, ...user }, nowIso())).execute();
    return { id, ...user };
  },

  async insertUserIfAbsent(db, key) {
    const email = 'email' in key ? key.email : null;
    // ON CONFLICT without a target: Meet's partial unique index on lower(email) (provisional
    // users) or the unique sub, whichever the row would break, and the loser re-reads.
    await db
      .insertInto('meet_user')
      .values(meetUserRow({ id: randomUUID(), email, sub: 'sub' in key ? key.sub : null, isActive: true }, nowIso()))
      .onConflict((oc) => oc.doNothing())
      .execute();
    const user = 'email' in key ? (await findUsersByEmail(db, key.email))[0] : await findUserBySub(db, key.sub);
    if (!user) throw new Error('user vanished between insert and read');
    return user;
  },

  async updateUser(db, id, changes) {
    await db
      .updateTable('meet_user')
      .set({
        ...(changes.isActive === undefined ? {} : { is_active: changes.isActive }),
        ...(changes.email === undefined ? {} : { email: changes.email }),
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .execute();
  },

  /** As Django's cascade would: the user's roles and recording accesses go first (no ON DELETE in Meet's keys). */
  async deleteUser(db, id) {
    await db.deleteFrom('meet_resource_access').where('user_id', '=', id).execute();
    await db.deleteFrom('meet_recording_access').where('user_id', '=', id).execute();
    await db.deleteFrom('meet_api_attendee_access').where('user_id', '=', id).execute();
    await db.deleteFrom('meet_user').where('id', '=', id).execute();
  },
};
