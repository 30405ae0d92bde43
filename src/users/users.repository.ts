import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromBoolean, nowIso, toBoolean } from '../db/convert.js';
import { PreparedQuery } from '../db/prepared-query.js';
import { emailLookupKey } from '../validation.js';

export interface User {
  id: string;
  /** null for a user known only by the identity provider's sub */
  email: string | null;
  /** the identity provider's subject, when known */
  sub: string | null;
  isActive: boolean;
}

/** How an operator or a token names a user: by email (case-insensitive) or by the identity provider's sub. */
export type UserKey = { email: string } | { sub: string };

type Db = Kysely<Database> | Transaction<Database>;

const columns = ['id', 'email', 'sub', 'is_active'] as const;
type UserColumns = { id: string; email: string | null; sub: string | null; is_active: number | boolean };

function toUser(row: UserColumns): User {
  return { id: row.id, email: row.email, sub: row.sub, isActive: toBoolean(row.is_active) };
}

const userByEmail = new PreparedQuery<{ lookup: string }, UserColumns>((db, param) =>
  db.selectFrom('users').select(columns).where('email_lookup', '=', param('lookup')),
);

const userBySub = new PreparedQuery<{ sub: string }, UserColumns>((db, param) => db.selectFrom('users').select(columns).where('sub', '=', param('sub')));

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const row = await userByEmail.executeTakeFirst(db, { lookup: emailLookupKey(email) });
  return row && toUser(row);
}

export async function findUserBySub(db: Db, sub: string): Promise<User | undefined> {
  const row = await userBySub.executeTakeFirst(db, { sub });
  return row && toUser(row);
}

export function findUser(db: Db, key: UserKey): Promise<User | undefined> {
  return 'email' in key ? findUserByEmail(db, key.email) : findUserBySub(db, key.sub);
}

export async function listUsers(db: Db): Promise<User[]> {
  // Users without an email (NULL) come after the others on both stores.
  const rows = await db
    .selectFrom('users')
    .select(columns)
    .orderBy((eb) => eb.case().when('email_lookup', 'is', null).then(1).else(0).end())
    .orderBy('email_lookup')
    .orderBy('sub')
    .execute();
  return rows.map(toUser);
}

/** Inserts a user; throws the database's unique violation when the email or the sub is taken. */
export async function insertUser(db: Db, user: { email: string | null; sub: string | null; isActive: boolean }): Promise<User> {
  const now = nowIso();
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({
      id,
      email: user.email,
      email_lookup: user.email === null ? null : emailLookupKey(user.email),
      sub: user.sub,
      is_active: fromBoolean(user.isActive),
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { id, ...user };
}

/**
 * Inserts the user unless one already has that email (or that sub), then reads whichever
 * row won. The unique index decides between concurrent callers; the losers simply re-read.
 */
export async function insertUserIfAbsent(db: Db, key: UserKey): Promise<User> {
  const now = nowIso();
  const email = 'email' in key ? key.email : null;
  await db
    .insertInto('users')
    .values({
      id: randomUUID(),
      email,
      email_lookup: email === null ? null : emailLookupKey(email),
      sub: 'sub' in key ? key.sub : null,
      is_active: 1,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('email' in key ? 'email_lookup' : 'sub').doNothing())
    .execute();
  const user = await findUser(db, key);
  if (!user) throw new Error('user vanished between insert and read');
  return user;
}

export async function updateUser(db: Db, id: string, changes: { isActive?: boolean; email?: string }): Promise<void> {
  await db
    .updateTable('users')
    .set({
      ...(changes.isActive === undefined ? {} : { is_active: fromBoolean(changes.isActive) }),
      ...(changes.email === undefined ? {} : { email: changes.email, email_lookup: emailLookupKey(changes.email) }),
      updated_at: nowIso(),
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.deleteFrom('users').where('id', '=', id).execute();
}

/**
 * Every query on users. One implementation per database layout (db/layout.ts picks it):
 * this file's functions for the native table, meet/ for Meet's meet_user.
 */
export interface UsersRepository {
  /** The user with this id (add-on tokens name users by id). */
  findUserById(db: Db, id: string): Promise<Pick<User, 'id' | 'isActive'> | undefined>;
  /**
   * The users with this email (case-insensitive): none, one, or (only where the store lets
   * several users share an email, as Meet's does) more; at most two are read.
   */
  findUsersByEmail(db: Db, email: string): Promise<User[]>;
  findUserBySub(db: Db, sub: string): Promise<User | undefined>;
  listUsers(db: Db): Promise<User[]>;
  /** Throws the database's unique violation when the email or the sub is taken. */
  insertUser(db: Db, user: { email: string | null; sub: string | null; isActive: boolean }): Promise<User>;
  /** Inserts the user unless one has that email (or sub), then reads whichever row won. */
  insertUserIfAbsent(db: Db, key: UserKey): Promise<User>;
  updateUser(db: Db, id: string, changes: { isActive?: boolean; email?: string }): Promise<void>;
  /** Deletes the user and their roles. */
  deleteUser(db: Db, id: string): Promise<void>;
}

/** The native layout: this server's own table, where an email names one user at most. */
const userById = new PreparedQuery<{ id: string }, { id: string; is_active: number | boolean }>((db, param) =>
  db.selectFrom('users').select(['id', 'is_active']).where('id', '=', param('id')),
);

export const nativeUsersRepository: UsersRepository = {
  async findUserById(db, id) {
    const row = await userById.executeTakeFirst(db, { id });
    return row && { id: row.id, isActive: toBoolean(row.is_active) };
  },
  async findUsersByEmail(db, email) {
    const user = await findUserByEmail(db, email);
    return user === undefined ? [] : [user];
  },
  findUserBySub,
  listUsers,
  insertUser,
  insertUserIfAbsent,
  updateUser,
  deleteUser,
};
