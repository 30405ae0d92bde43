/**
 * DATABASE_LAYOUT=meet read as Meet's backend would read it: the rows this server writes
 * are the rows Django would have written, and rows Django wrote are what this server
 * serves. Runs in the meet layout (TEST_DATABASE_LAYOUT=meet), each describe block on a
 * fresh stand-in for a Meet deployment (test/fixtures/meet-schema.sql); the refusal of
 * SQLite runs everywhere.
 */
import { pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { prepareDatabase } from '../src/db/layout.js';
import { openDatabase } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';
import { startServer } from '../src/server.js';
import {
  API,
  TEST_JWT_KEY,
  TEST_LAYOUT,
  call,
  createClient,
  getToken,
  useFreshDatabase,
  useServer,
  userWithToken,
  type TestServer,
} from './helpers.js';

const MEET = TEST_LAYOUT === 'meet';
const HAS_RECORDINGS = { detail: 'This room has recordings; delete them in Meet first.' };

/** A plain connection to the server's database, as Meet's backend (or psql) has. */
async function withPg<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function rows(server: TestServer, text: string, values: unknown[] = []): Promise<Record<string, any>[]> {
  return withPg(server.databaseUrl, async (client) => (await client.query(text, values)).rows);
}

/** Django's PBKDF2 hasher, from its documented format: pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>. */
function djangoHash(secret: string, iterations: number, salt = randomBytes(16).toString('hex').slice(0, 22)): string {
  return `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(secret, salt, iterations, 32, 'sha256').toString('base64')}`;
}

/** A user row as Meet's backend creates one on first login. */
async function insertMeetUser(server: TestServer, email: string, sub: string | null = `sub-${randomUUID()}`): Promise<string> {
  const id = randomUUID();
  await rows(
    server,
    `insert into meet_user (id, password, is_superuser, created_at, updated_at, sub, email, language, timezone, is_device, is_staff, is_active, default_room_configuration)
     values ($1, '!unusable', false, now(), now(), $2, $3, 'fr-fr', 'Europe/Paris', false, false, true, '{}')`,
    [id, sub, email],
  );
  return id;
}

describe('DATABASE_LAYOUT=meet with SQLite', () => {
  it('is refused at start, naming DATABASE_LAYOUT and DATABASE_URL', () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_LAYOUT: 'meet', DATABASE_URL: 'sqlite:./data/x.db' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('DATABASE_LAYOUT');
    expect((error as Error).message).toContain('DATABASE_URL');
  });

  it('an unknown layout is refused by name', () => {
    expect(() => loadConfig({ DATABASE_LAYOUT: 'django' })).toThrow(/DATABASE_LAYOUT/);
  });
});

describe.skipIf(!MEET)('meet layout: rooms as Meet stores them', () => {
  const server = useServer();
  const telephony = useServer({ ROOM_TELEPHONY_ENABLED: 'true' }, { databaseUrl: () => server.databaseUrl });

  it('a created room is exactly a meet_resource, a meet_room and the owner access, with this server\'s row beside them', async () => {
    const { user, client, token } = await userWithToken(server);
    const created = await call(server, 'POST', `${API}/rooms/`, { token, json: { access_level: 'restricted', configuration: { everyone_can_mute: false } } });
    expect(created.status).toBe(201);
    const id = created.json.id as string;

    const [resource] = await rows(server, 'select * from meet_resource where id = $1', [id]);
    expect(Object.keys(resource!).sort()).toEqual(['created_at', 'id', 'updated_at']);
    expect(resource!.created_at).toBeInstanceOf(Date);
    expect(resource!.updated_at.getTime()).toBe(resource!.created_at.getTime());

    const room = await rows(server, 'select * from meet_room where resource_id = $1', [id]);
    expect(room).toEqual([
      {
        resource_id: id,
        name: created.json.slug,
        slug: created.json.slug,
        access_level: 'restricted',
        configuration: { everyone_can_mute: false },
        // Meet sets a PIN only while telephony is enabled at creation.
        pin_code: null,
      },
    ]);
    const accesses = await rows(server, 'select resource_id, user_id, role, created_at, updated_at from meet_resource_access where resource_id = $1', [id]);
    expect(accesses).toHaveLength(1);
    expect(accesses[0]).toMatchObject({ resource_id: id, user_id: user.id, role: 'owner' });
    expect(await rows(server, 'select room_id, created_by_client_id from meet_api_room where room_id = $1', [id])).toEqual([
      { room_id: id, created_by_client_id: client.clientId },
    ]);
  });

  it('with telephony on, the room gets a unique PIN of ROOM_TELEPHONY_PIN_LENGTH digits, shown in telephony', async () => {
    const { token } = await userWithToken(telephony);
    const created = await call(telephony, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    const [room] = await rows(telephony, 'select pin_code from meet_room where resource_id = $1', [created.json.id]);
    expect(room!.pin_code).toMatch(/^\d{10}$/);
    expect(created.json.telephony.pin_code).toBe(room!.pin_code);
  });

  it('a room inserted the way Meet\'s web app inserts it is listed for its owner, with its own name, and found by its slug', async () => {
    const email = `web-${randomBytes(3).toString('hex')}@example.com`;
    const userId = await insertMeetUser(server, email);
    const client = await createClient(server);
    const token = await getToken(server, client, email);
    const roomId = randomUUID();
    const slug = `team-standup-${randomBytes(2).toString('hex')}`;
    await withPg(server.databaseUrl, async (db) => {
      await db.query('begin');
      await db.query(`insert into meet_resource (id, created_at, updated_at) values ($1, now(), now())`, [roomId]);
      await db.query(
        `insert into meet_room (resource_id, name, slug, configuration, access_level, pin_code) values ($1, $2, $3, '{}', 'trusted', null)`,
        [roomId, `Team Standup ${slug.slice(-4)}`, slug],
      );
      await db.query(
        `insert into meet_resource_access (id, created_at, updated_at, role, resource_id, user_id) values ($1, now(), now(), 'owner', $2, $3)`,
        [randomUUID(), roomId, userId],
      );
      await db.query('commit');
    });
    const ours = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(ours.status).toBe(201);

    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    expect(listed.status).toBe(200);
    expect(listed.json.count).toBe(2);
    // Newest first: ours was made after Meet's.
    expect(listed.json.results.map((r: { id: string }) => r.id)).toEqual([ours.json.id, roomId]);
    expect(listed.json.results[1]).toEqual({
      id: roomId,
      name: `Team Standup ${slug.slice(-4)}`,
      slug,
      access_level: 'trusted',
      configuration: {},
      attendees: [],
    });
    const bySlug = await call(server, 'GET', `${API}/rooms/${slug}/`, { token });
    expect(bySlug.status).toBe(200);
    expect(bySlug.json.id).toBe(roomId);
    const filtered = await call(server, 'GET', `${API}/rooms/?slug=${slug}`, { token });
    expect(filtered.json.results.map((r: { id: string }) => r.id)).toEqual([roomId]);
  });

  it('a room made in Meet with options of other types (its column is free JSON) is shown without them, not a 500', async () => {
    // Found by review: one such room broke its owner's whole list.
    const email = `odd-${randomBytes(3).toString('hex')}@example.com`;
    const userId = await insertMeetUser(server, email);
    const token = await getToken(server, await createClient(server), email);
    const roomId = randomUUID();
    const slug = `odd-options-${randomBytes(2).toString('hex')}`;
    await withPg(server.databaseUrl, async (db) => {
      await db.query('begin');
      await db.query(`insert into meet_resource (id, created_at, updated_at) values ($1, now(), now())`, [roomId]);
      await db.query(
        `insert into meet_room (resource_id, name, slug, configuration, access_level, pin_code) values ($1, 'Odd', $2, $3, 'trusted', null)`,
        [roomId, slug, JSON.stringify({ can_publish_sources: 'camera', everyone_can_mute: 'yes', theme: 'dark' })],
      );
      await db.query(
        `insert into meet_resource_access (id, created_at, updated_at, role, resource_id, user_id) values ($1, now(), now(), 'owner', $2, $3)`,
        [randomUUID(), roomId, userId],
      );
      await db.query('commit');
    });
    const retrieved = await call(server, 'GET', `${API}/rooms/${slug}/`, { token });
    expect({ status: retrieved.status, configuration: retrieved.json.configuration }).toEqual({ status: 200, configuration: { theme: 'dark' } });
    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    expect({ status: listed.status, count: listed.json.count }).toEqual({ status: 200, count: 1 });
  });

  it('several users sharing the scope email: 400 "Multiple user accounts share a common email."', async () => {
    const email = `twice-${randomBytes(3).toString('hex')}@example.com`;
    await insertMeetUser(server, email);
    await insertMeetUser(server, email.toUpperCase());
    const client = await createClient(server);
    const answer = await call(server, 'POST', `${API}/application/token/`, {
      json: { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email },
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'Multiple user accounts share a common email.' });
  });
});

describe.skipIf(!MEET)('meet layout: provisional users as Meet writes them', () => {
  const server = useServer({ APPLICATION_ALLOW_USER_CREATION: 'true' });

  it('an unknown email gets one meet_user with Meet\'s defaults, however many ask at once', async () => {
    const client = await createClient(server);
    const email = 'First.Timer@Example.com';
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(server, 'POST', `${API}/application/token/`, {
          json: { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: i % 2 ? email : email.toLowerCase() },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const users = await rows(server, 'select * from meet_user where lower(email) = $1', [email.toLowerCase()]);
    expect(users).toHaveLength(1);
    const user = users[0]!;
    expect(user).toMatchObject({
      sub: null,
      admin_email: null,
      language: 'en-us',
      timezone: 'UTC',
      is_device: false,
      is_staff: false,
      is_superuser: false,
      is_active: true,
      full_name: null,
      short_name: null,
      last_login: null,
      default_room_configuration: {},
    });
    expect(user.password).toMatch(/^![A-Za-z0-9]{40}$/);
  });
});

describe.skipIf(!MEET)('meet layout: applications as Django stores them', () => {
  const server = useServer();

  it('an application row written the way Django writes it (PBKDF2 hash, 1,000,000 iterations) authenticates, with its domains', async () => {
    const email = 'django@allowed.org';
    await server.services.users.createUser({ email });
    const secret = randomBytes(48).toString('base64url');
    const clientId = `django-${randomBytes(6).toString('hex')}`;
    const appId = randomUUID();
    await withPg(server.databaseUrl, async (db) => {
      await db.query(
        `insert into meet_application (id, created_at, updated_at, name, is_active, client_id, client_secret, scopes)
         values ($1, now(), now(), 'From Meet admin', true, $2, $3, $4)`,
        [appId, clientId, djangoHash(secret, 1_000_000), ['rooms:list', 'rooms:create']],
      );
      await db.query(`insert into meet_application_domain (id, created_at, updated_at, domain, application_id) values ($1, now(), now(), 'allowed.org', $2)`, [randomUUID(), appId]);
    });
    const token = async (scope: string, presented = secret) =>
      call(server, 'POST', `${API}/application/token/`, { json: { client_id: clientId, client_secret: presented, grant_type: 'client_credentials', scope } });

    const issued = await token(email);
    expect(issued.status).toBe(200);
    expect(issued.json.scope).toBe('rooms:list rooms:create');
    expect((await token(email, `${secret}x`)).json).toEqual({ error: 'Invalid credentials' });
    expect((await token('someone@elsewhere.org')).status).toBe(403);
    // Warm: the second success costs no derivation, and still answers the same.
    expect((await token(email)).status).toBe(200);
    const listed = await call(server, 'GET', `${API}/rooms/`, { token: issued.json.access_token });
    expect(listed.status).toBe(200);
  });

  it('an application registered here is stored with a Django hash Django would accept (1,000,000 iterations)', async () => {
    // The production services, without the tests' cheaper hash.
    const services = createServices(server.database, server.config, createLogger('silent'));
    const { application, secret } = await services.applications.createApplication({ name: 'for Meet admin', scopes: ['rooms:list'], domains: ['Example.ORG'] });
    const [row] = await rows(server, 'select * from meet_application where client_id = $1', [application.clientId]);
    expect(row!.scopes).toEqual(['rooms:list']);
    const [algorithm, iterations, salt, hash] = (row!.client_secret as string).split('$');
    expect([algorithm, iterations]).toEqual(['pbkdf2_sha256', '1000000']);
    expect(pbkdf2Sync(secret, salt!, 1_000_000, 32, 'sha256').toString('base64')).toBe(hash);
    expect(await rows(server, 'select domain from meet_application_domain where application_id = $1', [row!.id])).toEqual([{ domain: 'example.org' }]);

    // rotate-secret writes a Django hash of the new secret, at Django's count, too.
    const rotated = await services.applications.rotateSecret(application.clientId);
    const [after] = await rows(server, 'select client_secret from meet_application where client_id = $1', [application.clientId]);
    const [, count, newSalt, newHash] = (after!.client_secret as string).split('$');
    expect(count).toBe('1000000');
    expect(pbkdf2Sync(rotated.secret, newSalt!, 1_000_000, 32, 'sha256').toString('base64')).toBe(newHash);
  });
});

describe.skipIf(!MEET)('meet layout: attendees are member accesses', () => {
  const server = useServer();

  it('each attendee gets a member access (a provisional user when unknown); existing roles are never lowered; replacing the list takes back only what was added', async () => {
    const { user: owner, token } = await userWithToken(server, undefined, ['rooms:create', 'rooms:update', 'rooms:retrieve']);
    const created = await call(server, 'POST', `${API}/rooms/`, { token, json: { access_level: 'restricted' } });
    const roomId = created.json.id as string;
    const adminEmail = `admin-${randomBytes(3).toString('hex')}@example.com`;
    const adminId = await insertMeetUser(server, adminEmail);
    await rows(server, `insert into meet_resource_access (id, created_at, updated_at, role, resource_id, user_id) values ($1, now(), now(), 'administrator', $2, $3)`, [
      randomUUID(),
      roomId,
      adminId,
    ]);
    const knownEmail = `known-${randomBytes(3).toString('hex')}@example.com`;
    const knownId = await insertMeetUser(server, knownEmail);
    const newEmail = `New-${randomBytes(3).toString('hex')}@Example.com`;

    const roles = async () =>
      Object.fromEntries((await rows(server, 'select user_id, role from meet_resource_access where resource_id = $1', [roomId])).map((r) => [r.user_id, r.role]));

    const patched = await call(server, 'PATCH', `${API}/rooms/${roomId}/`, { token, json: { attendees: [knownEmail, adminEmail, newEmail] } });
    expect(patched.status).toBe(200);
    expect(patched.json.attendees).toEqual([knownEmail, adminEmail, newEmail]);

    const [provisional] = await rows(server, 'select id, sub, password from meet_user where lower(email) = lower($1)', [newEmail]);
    expect(provisional).toMatchObject({ sub: null });
    expect(await roles()).toEqual({ [owner.id]: 'owner', [adminId]: 'administrator', [knownId]: 'member', [provisional!.id]: 'member' });

    // Someone raises the known attendee in Meet meanwhile: from then on that role is Meet's.
    await rows(server, `update meet_resource_access set role = 'administrator' where resource_id = $1 and user_id = $2`, [roomId, knownId]);
    expect((await call(server, 'PATCH', `${API}/rooms/${roomId}/`, { token, json: { attendees: [] } })).status).toBe(200);
    expect(await roles()).toEqual({ [owner.id]: 'owner', [adminId]: 'administrator', [knownId]: 'administrator' });
    expect(await rows(server, 'select * from meet_api_attendee_access where room_id = $1', [roomId])).toEqual([]);
  });
});

describe.skipIf(!MEET)('meet layout: deletion', () => {
  const server = useServer();

  it('a room with recordings is refused with 409 and nothing is deleted; without them everything of the room goes in one transaction', async () => {
    const { token } = await userWithToken(server, undefined, ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:delete']);
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    const roomId = created.json.id as string;
    await server.services.rooms.setAttendees(roomId, ['guest@example.com']);
    const recordingId = randomUUID();
    await rows(server, `insert into meet_recording (id, created_at, updated_at, room_id, status, mode, options) values ($1, now(), now(), $2, 'saved', 'screen_recording', '{}')`, [
      recordingId,
      roomId,
    ]);
    const counts = async () =>
      (
        await rows(
          server,
          `select (select count(*) from meet_resource where id = $1) as resource, (select count(*) from meet_room where resource_id = $1) as room,
                  (select count(*) from meet_resource_access where resource_id = $1) as accesses, (select count(*) from meet_api_room where room_id = $1) as api,
                  (select count(*) from meet_api_room_attendee where room_id = $1) as attendees, (select count(*) from meet_api_attendee_access where room_id = $1) as tracked`,
          [roomId],
        )
      )[0];
    const before = await counts();
    expect(before).toEqual({ resource: '1', room: '1', accesses: '2', api: '1', attendees: '1', tracked: '1' });

    const refused = await call(server, 'DELETE', `${API}/rooms/${roomId}/`, { token });
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual(HAS_RECORDINGS);
    expect(await counts()).toEqual(before);

    await rows(server, 'delete from meet_recording where id = $1', [recordingId]);
    const deleted = await call(server, 'DELETE', `${API}/rooms/${roomId}/`, { token });
    expect(deleted.status).toBe(204);
    expect(await counts()).toEqual({ resource: '0', room: '0', accesses: '0', api: '0', attendees: '0', tracked: '0' });
  });
});

describe.skipIf(!MEET)('meet layout: the start checks Meet\'s schema', () => {
  const missingColumn = useFreshDatabase();
  const missingMigration = useFreshDatabase();
  const later = useFreshDatabase();
  const env = (url: string) => loadConfig({ DATABASE_URL: url, DATABASE_LAYOUT: 'meet', APPLICATION_JWT_SECRET_KEY: TEST_JWT_KEY, PORT: '0', LOG_LEVEL: 'silent' });

  beforeAll(async () => {
    await withPg(missingColumn.url, (db) => db.query('alter table meet_room drop column pin_code'));
    await withPg(missingMigration.url, (db) => db.query(`delete from django_migrations where name = '0022_user_default_room_access_level_and_more'`));
    await withPg(later.url, (db) => db.query(`insert into django_migrations (app, name, applied) values ('core', '0031_some_later_change', now())`));
  });

  it('refuses to start when a column it uses is missing, naming it', async () => {
    await expect(startServer(env(missingColumn.url))).rejects.toThrow(/meet_room\.pin_code is missing/);
  });

  it('refuses to start when Meet\'s core migration 0022 is not applied, naming it', async () => {
    await expect(startServer(env(missingMigration.url))).rejects.toThrow(/0022_user_default_room_access_level_and_more/);
  });

  it('the native layout pointed at a Meet database (DATABASE_LAYOUT forgotten) refuses to start and creates nothing', async () => {
    const tablesBefore = await withPg(later.url, async (db) => (await db.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`)).rows[0].n);
    const native = loadConfig({ DATABASE_URL: later.url, APPLICATION_JWT_SECRET_KEY: TEST_JWT_KEY, PORT: '0', LOG_LEVEL: 'silent' });
    await expect(startServer(native)).rejects.toThrow(/set DATABASE_LAYOUT=meet/);
    const tablesAfter = await withPg(later.url, async (db) => (await db.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`)).rows[0].n);
    expect(tablesAfter).toBe(tablesBefore);
  });

  it('starts on a database with later core migrations', async () => {
    const started = await startServer(env(later.url));
    await started.close();
  });
});

describe.skipIf(!MEET)('meet layout: nothing is created outside meet_api_*', () => {
  const database = useFreshDatabase();

  it('migrate and a run (token, room, attendees, deletion) leave Meet\'s catalogue as it was', async () => {
    const catalogue = () =>
      withPg(database.url, async (db) =>
        (
          await db.query(
            `select c.relkind::text || ':' || c.relname::text as entry from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') order by 1`,
          )
        ).rows.map((r) => r.entry as string),
      );
    const columns = () =>
      withPg(database.url, async (db) =>
        (await db.query(`select table_name || '.' || column_name || ':' || data_type as c from information_schema.columns where table_schema = 'public' order by 1`)).rows.map(
          (r) => r.c as string,
        ),
      );
    const before = await catalogue();
    const columnsBefore = await columns();

    const config = loadConfig({ DATABASE_URL: database.url, DATABASE_LAYOUT: 'meet', APPLICATION_JWT_SECRET_KEY: TEST_JWT_KEY });
    const handle = openDatabase(config);
    try {
      expect(await prepareDatabase(handle, config)).toEqual(['2026-12-03-001-meet-api-tables']);
      expect(await prepareDatabase(handle, config)).toEqual([]);
    } finally {
      await handle.close();
    }
    const server = await (await import('./helpers.js')).startTestServer({}, { databaseUrl: database.url });
    try {
      const { token } = await userWithToken(server, undefined, ['rooms:list', 'rooms:create', 'rooms:delete']);
      const created = await call(server, 'POST', `${API}/rooms/`, { token });
      await server.services.rooms.setAttendees(created.json.id, ['someone@example.com']);
      expect((await call(server, 'DELETE', `${API}/rooms/${created.json.id}/`, { token })).status).toBe(204);
    } finally {
      await server.close();
    }

    const after = await catalogue();
    const added = after.filter((entry) => !before.includes(entry));
    expect(before.filter((entry) => !after.includes(entry))).toEqual([]);
    expect(added.length).toBeGreaterThan(0);
    for (const entry of added) expect(entry.split(':')[1]).toMatch(/^meet_api_/);
    const columnsAfter = await columns();
    expect(columnsAfter.filter((c) => !c.startsWith('meet_api_'))).toEqual(columnsBefore);
  });
});
