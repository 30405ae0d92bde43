/**
 * The tables of a La Suite Meet deployment that the meet layout reads and writes (Django
 * owns them: this server never creates, alters or drops them), and this server's own
 * meet_api_* tables beside them. Only the columns used are listed; meet-schema-check.ts
 * verifies at start that each exists with a compatible type.
 *
 * Django puts no defaults in the database: every NOT NULL column is written explicitly.
 * Timestamps are timestamptz (Date from pg, ISO text accepted on write).
 */
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, string, string>;
type Jsonb = ColumnType<unknown, string, string>;

export interface MeetUserTable {
  id: string;
  password: string;
  last_login: Timestamp | null;
  is_superuser: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
  sub: string | null;
  email: string | null;
  admin_email: string | null;
  language: string;
  timezone: string;
  is_device: boolean;
  is_staff: boolean;
  is_active: boolean;
  full_name: string | null;
  short_name: string | null;
  default_room_access_level: string | null;
  default_room_configuration: Jsonb;
}

export interface MeetResourceTable {
  id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MeetRoomTable {
  resource_id: string;
  name: string;
  slug: string | null;
  configuration: Jsonb;
  access_level: string;
  pin_code: string | null;
}

export interface MeetResourceAccessTable {
  id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  role: string;
  resource_id: string;
  user_id: string;
}

export interface MeetRecordingTable {
  id: string;
  room_id: string;
}

export interface MeetRecordingAccessTable {
  id: string;
  user_id: string | null;
  recording_id: string;
}

export interface MeetApplicationTable {
  id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  name: string;
  is_active: boolean;
  client_id: string;
  client_secret: string;
  /** varchar[]: pg hands back a string array, and takes one */
  scopes: ColumnType<string[], string[], string[]>;
}

export interface MeetApplicationDomainTable {
  id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  domain: string;
  application_id: string;
}

export interface DjangoMigrationsTable {
  app: string;
  name: string;
}

/** The creating client of a room made through this server (Meet has no column for it). */
export interface MeetApiRoomTable {
  room_id: string;
  created_by_client_id: string | null;
  created_at: Timestamp;
}

/** A room's attendee list, as the API shows it. */
export interface MeetApiRoomAttendeeTable {
  room_id: string;
  email: string;
  email_lookup: string;
  position: number;
}

/**
 * The member accesses this server added for attendees, so replacing the list removes
 * those and never a role someone gave in Meet.
 */
export interface MeetApiAttendeeAccessTable {
  room_id: string;
  user_id: string;
}

export interface MeetDatabase {
  meet_user: MeetUserTable;
  meet_resource: MeetResourceTable;
  meet_room: MeetRoomTable;
  meet_resource_access: MeetResourceAccessTable;
  meet_recording: MeetRecordingTable;
  meet_recording_access: MeetRecordingAccessTable;
  meet_application: MeetApplicationTable;
  meet_application_domain: MeetApplicationDomainTable;
  django_migrations: DjangoMigrationsTable;
  meet_api_room: MeetApiRoomTable;
  meet_api_room_attendee: MeetApiRoomAttendeeTable;
  meet_api_attendee_access: MeetApiAttendeeAccessTable;
}
