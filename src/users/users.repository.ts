import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromBoolean, nowIso, toBoolean } from '../db/convert.js';
import { PreparedQuery } from '../db/prepared-query.js';
import { emailLookupKey } from '../validation.js';

export interface User {
  id: string;
  email: string;
  isActive: boolean;
}

type Db = Kysely<Database>;

const columns = ['id', 'email', 'is_active'] as const;

function toUser(row: { id: string; email: string; is_active: number | boolean }): User {
  return { id: row.id, email: row.email, isActive: toBoolean(row.is_active) };
}

const userByEmail = new PreparedQuery<{ lookup: string }, { id: string; email: string; is_active: number | boolean }>((db, param) =>
  db.selectFrom('users').select(columns).where('email_lookup', '=', param('lookup')),
);

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const row = await userByEmail.executeTakeFirst(db, { lookup: emailLookupKey(email) });
  return row && toUser(row);
}

export async function listUsers(db: Db): Promise<User[]> {
  const rows = await db.selectFrom('users').select(columns).orderBy('email_lookup').execute();
  return rows.map(toUser);
}

/** Inserts a user; throws the database's unique violation when the email is taken. */
export async function insertUser(db: Db, email: string, isActive: boolean): Promise<User> {
  const now = nowIso();
  const user = { id: randomUUID(), email, isActive };
  await db
    .insertInto('users')
    .values({
      id: user.id,
      email,
      email_lookup: emailLookupKey(email),
      is_active: fromBoolean(isActive),
      created_at: now,
      updated_at: now,
    })
    .execute();
  return user;
}

/**
 * Inserts the user unless one already has that email, then reads whichever row won. The
 * unique constraint decides between concurrent callers; the losers simply re-read.
 */
export async function insertUserIfAbsent(db: Db, email: string): Promise<User> {
  const now = nowIso();
  await db
    .insertInto('users')
    .values({ id: randomUUID(), email, email_lookup: emailLookupKey(email), is_active: 1, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('email_lookup').doNothing())
    .execute();
  const user = await findUserByEmail(db, email);
  if (!user) throw new Error('user vanished between insert and read');
  return user;
}

export async function setUserActive(db: Db, id: string, isActive: boolean): Promise<void> {
  await db.updateTable('users').set({ is_active: fromBoolean(isActive), updated_at: nowIso() }).where('id', '=', id).execute();
}
