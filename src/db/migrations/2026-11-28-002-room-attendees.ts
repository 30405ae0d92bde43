import type { Kysely } from 'kysely';
import { uuidType } from './column-types.js';

/** Attendees of a room: emails allowed to skip the lobby, in the order they were given. */
export async function up(db: Kysely<any>): Promise<void> {
  const uuid = uuidType(db);
  await db.schema
    .createTable('room_attendees')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('room_id', uuid, (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('email_lookup', 'varchar(254)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addUniqueConstraint('room_attendees_room_email_unique', ['room_id', 'email_lookup'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('room_attendees').execute();
}
