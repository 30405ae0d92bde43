/**
 * At start in the meet layout: is this a Meet database this server can work on? Django
 * must have applied Meet's core migration 0022 (or a later one), and every column this
 * server reads or writes must exist with a type it can handle. Otherwise the server
 * refuses to start, naming what is missing, rather than fail on the first request.
 */
import { sql, type Kysely } from 'kysely';
import { ConfigError } from '../config.js';
import type { Database } from '../db/schema.js';

export const REQUIRED_CORE_MIGRATION = '0022_user_default_room_access_level_and_more';
const REQUIRED_NUMBER = 22;

const UUID = ['uuid'];
const TEXT = ['character varying', 'text'];
const TIMESTAMP = ['timestamp with time zone'];
const BOOLEAN = ['boolean'];
const JSONB = ['jsonb'];
/** information_schema reports arrays as ARRAY; udt_name says of what. */
const TEXT_ARRAY = ['ARRAY:_varchar', 'ARRAY:_text'];

/** Every Meet column used, with the types accepted (information_schema.columns.data_type). */
export const REQUIRED_COLUMNS: Record<string, Record<string, readonly string[]>> = {
  meet_user: {
    id: UUID,
    password: TEXT,
    last_login: TIMESTAMP,
    is_superuser: BOOLEAN,
    created_at: TIMESTAMP,
    updated_at: TIMESTAMP,
    sub: TEXT,
    email: TEXT,
    admin_email: TEXT,
    language: TEXT,
    timezone: TEXT,
    is_device: BOOLEAN,
    is_staff: BOOLEAN,
    is_active: BOOLEAN,
    full_name: TEXT,
    short_name: TEXT,
    default_room_access_level: TEXT,
    default_room_configuration: JSONB,
  },
  meet_resource: { id: UUID, created_at: TIMESTAMP, updated_at: TIMESTAMP },
  meet_room: { resource_id: UUID, name: TEXT, slug: TEXT, configuration: JSONB, access_level: TEXT, pin_code: TEXT },
  meet_resource_access: { id: UUID, created_at: TIMESTAMP, updated_at: TIMESTAMP, role: TEXT, resource_id: UUID, user_id: UUID },
  meet_recording: { id: UUID, room_id: UUID },
  meet_recording_access: { id: UUID, user_id: UUID, recording_id: UUID },
  meet_application: {
    id: UUID,
    created_at: TIMESTAMP,
    updated_at: TIMESTAMP,
    name: TEXT,
    is_active: BOOLEAN,
    client_id: TEXT,
    client_secret: TEXT,
    scopes: TEXT_ARRAY,
  },
  meet_application_domain: { id: UUID, created_at: TIMESTAMP, updated_at: TIMESTAMP, domain: TEXT, application_id: UUID },
};

function refuse(problem: string): never {
  throw new ConfigError('DATABASE_URL', `DATABASE_LAYOUT=meet: ${problem}`);
}

/** The 4-digit number a Django migration's name starts with, or undefined. */
function migrationNumber(name: string): number | undefined {
  const match = /^(\d{4})_/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export async function checkMeetSchema(db: Kysely<Database>): Promise<void> {
  const columns = await sql<{ table_name: string; column_name: string; data_type: string; udt_name: string }>`
    select table_name, column_name, data_type, udt_name from information_schema.columns
    where table_schema = current_schema() and table_name in (${sql.join(['django_migrations', ...Object.keys(REQUIRED_COLUMNS)])})
  `.execute(db);
  const found = new Map(columns.rows.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type === 'ARRAY' ? `ARRAY:${c.udt_name}` : c.data_type]));

  if (!found.has('django_migrations.name') || !found.has('django_migrations.app')) {
    refuse("the database has no django_migrations table: DATABASE_URL must name a La Suite Meet database (Django's)");
  }
  const core = await db.selectFrom('django_migrations').select('name').where('app', '=', 'core').execute();
  if (!core.some((m) => (migrationNumber(m.name) ?? 0) >= REQUIRED_NUMBER)) {
    refuse(`Meet's core migration ${REQUIRED_CORE_MIGRATION} (or a later one) is not applied: upgrade Meet first (django_migrations has no such row)`);
  }

  const problems: string[] = [];
  for (const [table, wanted] of Object.entries(REQUIRED_COLUMNS)) {
    for (const [column, types] of Object.entries(wanted)) {
      const type = found.get(`${table}.${column}`);
      if (type === undefined) problems.push(`column ${table}.${column} is missing`);
      else if (!types.includes(type)) problems.push(`column ${table}.${column} is ${type.replace(/^ARRAY:_/, 'an array of ')}, expected ${types.join(' or ')}`);
    }
  }
  if (problems.length > 0) refuse(`Meet's schema is not what this server works with: ${problems.join('; ')}`);
}
