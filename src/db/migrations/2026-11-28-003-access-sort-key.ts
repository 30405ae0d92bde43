import { sql, type Kysely } from 'kysely';
import { timestampType } from './column-types.js';

/**
 * A user's rooms are listed newest first. With the room's creation time copied onto each
 * access and indexed after the user id, a page is read straight off the index in order:
 * the cost follows the page, not how many rooms the user (or the table) holds.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('room_accesses').addColumn('room_created_at', timestampType(db)).execute();
  await sql`update room_accesses set room_created_at = (select rooms.created_at from rooms where rooms.id = room_accesses.room_id)`.execute(db);
  await db.schema
    .createIndex('room_accesses_user_newest_index')
    .on('room_accesses')
    .columns(['user_id', 'room_created_at desc', 'room_id desc'])
    .execute();
  await db.schema.dropIndex('room_accesses_user_room_index').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('room_accesses_user_room_index').on('room_accesses').columns(['user_id', 'room_id']).execute();
  await db.schema.dropIndex('room_accesses_user_newest_index').execute();
  await db.schema.alterTable('room_accesses').dropColumn('room_created_at').execute();
}
