/**
 * The tables as the application sees them. Column types are what the code writes and
 * what either driver may hand back: booleans come back as 0/1 from SQLite and true/false
 * from PostgreSQL, timestamps as ISO text from SQLite and Date from PostgreSQL. The
 * repositories convert at their boundary so nothing above them knows the difference.
 */
import type { ColumnType, Selectable } from 'kysely';
import type { MeetDatabase } from './meet-schema.js';

type DbBoolean = ColumnType<number | boolean, number, number>;
type DbTimestamp = ColumnType<string | Date, string, string>;

export interface UsersTable {
  id: string;
  /** null for a user known only by the identity provider's sub (the resource-server mode) */
  email: string | null;
  /** lower-cased email: the unique key that makes emails case-insensitive */
  email_lookup: string | null;
  /** the identity provider's subject; unique where present */
  sub: string | null;
  is_active: DbBoolean;
  created_at: DbTimestamp;
  updated_at: DbTimestamp;
}

export interface ApplicationsTable {
  id: string;
  name: string;
  client_id: string;
  /** "sha256$<hex>": the secret itself is never stored */
  client_secret_hash: string;
  /** JSON array of scope names, in the order they were granted */
  scopes: string;
  is_active: DbBoolean;
  created_at: DbTimestamp;
  updated_at: DbTimestamp;
}

export interface ApplicationDomainsTable {
  id: string;
  application_id: string;
  /** lower-case domain */
  domain: string;
}

export interface RoomsTable {
  id: string;
  /** a generated room's name is its slug */
  name: string;
  slug: string;
  pin_code: string;
  access_level: string;
  /** JSON object of the room's options (RoomConfiguration), '{}' until set */
  configuration: string;
  /** client_id of the application that created the room; null when an operator did */
  created_by_client_id: string | null;
  created_at: DbTimestamp;
  updated_at: DbTimestamp;
}

export interface RoomAccessesTable {
  id: string;
  room_id: string;
  user_id: string;
  role: string;
  created_at: DbTimestamp;
  /** the room's created_at, copied so a user's rooms list straight off an index */
  room_created_at: DbTimestamp;
}

export interface RoomAttendeesTable {
  id: string;
  room_id: string;
  email: string;
  /** lower-cased email: attendees are unique per room whatever the case */
  email_lookup: string;
  /** order in which the attendees were given */
  position: number;
}

/**
 * Every table the code may name: this server's own (the native layout), and a La Suite
 * Meet deployment's with this server's meet_api_* beside them (the meet layout,
 * meet-schema.ts). Which set a process uses is decided in layout.ts.
 */
export interface Database extends MeetDatabase {
  users: UsersTable;
  applications: ApplicationsTable;
  application_domains: ApplicationDomainsTable;
  rooms: RoomsTable;
  room_accesses: RoomAccessesTable;
  room_attendees: RoomAttendeesTable;
}

export type UserRow = Selectable<UsersTable>;
export type ApplicationRow = Selectable<ApplicationsTable>;
export type RoomRow = Selectable<RoomsTable>;
