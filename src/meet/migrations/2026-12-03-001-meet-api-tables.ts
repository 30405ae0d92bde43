import type { Kysely } from 'kysely';

/**
 * This server's own state beside Meet's tables. No foreign key points at a Meet table:
 * Django deletes rooms and users in Python, knowing nothing of these tables, and a
 * reference would make its deletions fail. Rows of a room deleted in Meet are simply never
 * joined again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // The client id of the application (or service) that created a room through this server.
  await db.schema
    .createTable('meet_api_room')
    .addColumn('room_id', 'uuid', (c) => c.primaryKey())
    .addColumn('created_by_client_id', 'varchar(255)')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // A room's attendee list, in the order given.
  await db.schema
    .createTable('meet_api_room_attendee')
    .addColumn('room_id', 'uuid', (c) => c.notNull())
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('email_lookup', 'varchar(254)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('meet_api_room_attendee_pkey', ['room_id', 'email_lookup'])
    .execute();

  // The member accesses this server added for attendees: only these are removed when an
  // attendee leaves the list, never a role given in Meet.
  await db.schema
    .createTable('meet_api_attendee_access')
    .addColumn('room_id', 'uuid', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addPrimaryKeyConstraint('meet_api_attendee_access_pkey', ['room_id', 'user_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('meet_api_attendee_access').execute();
  await db.schema.dropTable('meet_api_room_attendee').execute();
  await db.schema.dropTable('meet_api_room').execute();
}
