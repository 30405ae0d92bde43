import { sql, type Kysely } from 'kysely';
import { isPostgres, timestampType, uuidType } from './column-types.js';

/**
 * Upstream Meet's 2026 API: a room has a `name` (a generated room's is its slug) and a
 * `configuration` (JSON, `{}` until set). A user may come from the identity provider with
 * a `sub` and no email (the resource-server mode): `sub` is unique where present, and the
 * email columns accept NULL.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rooms').addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
  await sql`update rooms set name = slug`.execute(db);
  await db.schema.alterTable('rooms').addColumn('configuration', 'text', (c) => c.notNull().defaultTo('{}')).execute();

  if (isPostgres(db)) {
    await db.schema.alterTable('users').addColumn('sub', 'varchar(255)').execute();
    await db.schema.alterTable('users').alterColumn('email', (c) => c.dropNotNull()).execute();
    await db.schema.alterTable('users').alterColumn('email_lookup', (c) => c.dropNotNull()).execute();
  } else {
    await rebuildSqliteUsers(db);
  }
  // NULLs never collide in a unique index, on either store: users without a sub are many.
  await db.schema.createIndex('users_sub_unique').on('users').column('sub').unique().execute();
}

/**
 * SQLite cannot drop NOT NULL, so `users` is rebuilt. The migration runs inside a
 * transaction with foreign keys on, where a plain DROP TABLE users would cascade into
 * room_accesses: instead users is renamed aside (SQLite rewrites room_accesses' reference
 * to follow it), rebuilt, and room_accesses is rebuilt to point at the new table before
 * the old ones are dropped. Nothing is deleted on the way.
 */
async function rebuildSqliteUsers(db: Kysely<any>): Promise<void> {
  const uuid = uuidType(db);
  const timestamp = timestampType(db);

  await sql`alter table users rename to users_before_sub`.execute(db);
  await db.schema
    .createTable('users')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('email', 'varchar(254)')
    .addColumn('email_lookup', 'varchar(254)', (c) => c.unique())
    .addColumn('sub', 'varchar(255)')
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  await sql`insert into users (id, email, email_lookup, is_active, created_at, updated_at)
            select id, email, email_lookup, is_active, created_at, updated_at from users_before_sub`.execute(db);

  await sql`alter table room_accesses rename to room_accesses_before_sub`.execute(db);
  await db.schema.dropIndex('room_accesses_user_newest_index').execute();
  await db.schema
    .createTable('room_accesses')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('room_id', uuid, (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('room_created_at', timestamp)
    .addUniqueConstraint('room_accesses_room_user_unique', ['room_id', 'user_id'])
    .execute();
  await sql`insert into room_accesses (id, room_id, user_id, role, created_at, room_created_at)
            select id, room_id, user_id, role, created_at, room_created_at from room_accesses_before_sub`.execute(db);
  await db.schema
    .createIndex('room_accesses_user_newest_index')
    .on('room_accesses')
    .columns(['user_id', 'room_created_at desc', 'room_id desc'])
    .execute();

  await db.schema.dropTable('room_accesses_before_sub').execute();
  await db.schema.dropTable('users_before_sub').execute();
}

export async function down(): Promise<void> {
  throw new Error('2026-12-02-004 cannot be undone: users without an email would have nowhere to go');
}
