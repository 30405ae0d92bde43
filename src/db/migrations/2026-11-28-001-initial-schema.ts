import type { Kysely } from 'kysely';
import { timestampType, uuidType } from './column-types.js';

export async function up(db: Kysely<any>): Promise<void> {
  const uuid = uuidType(db);
  const timestamp = timestampType(db);

  await db.schema
    .createTable('users')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('email_lookup', 'varchar(254)', (c) => c.notNull().unique())
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('applications')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('client_id', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('client_secret_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('application_domains')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('application_id', uuid, (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('domain', 'varchar(253)', (c) => c.notNull())
    .addUniqueConstraint('application_domains_application_domain_unique', ['application_id', 'domain'])
    .execute();

  await db.schema
    .createTable('rooms')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('slug', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('pin_code', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('access_level', 'varchar(20)', (c) => c.notNull())
    .addColumn('created_by_client_id', 'varchar(255)')
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  // Listing walks rooms newest first with the id as tie-breaker.
  await db.schema.createIndex('rooms_created_at_id_index').on('rooms').columns(['created_at desc', 'id desc']).execute();

  await db.schema
    .createTable('room_accesses')
    .addColumn('id', uuid, (c) => c.primaryKey())
    .addColumn('room_id', uuid, (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addUniqueConstraint('room_accesses_room_user_unique', ['room_id', 'user_id'])
    .execute();
  // A user's rooms: found through this index without touching other users' accesses.
  await db.schema.createIndex('room_accesses_user_room_index').on('room_accesses').columns(['user_id', 'room_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('room_accesses').execute();
  await db.schema.dropTable('rooms').execute();
  await db.schema.dropTable('application_domains').execute();
  await db.schema.dropTable('applications').execute();
  await db.schema.dropTable('users').execute();
}
