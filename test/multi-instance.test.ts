import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.js';
import { MIGRATION_NAMES, migrateToLatest } from '../src/db/migrate.js';
import { API, TEST_LAYOUT, call, createClient, freshDatabaseUrl, getToken, useFreshDatabase, useServer } from './helpers.js';

describe('several instances on one database behave as one service', () => {
  const shared = useFreshDatabase();
  const a = useServer({}, { databaseUrl: () => shared.url });
  const b = useServer({}, { databaseUrl: () => shared.url });

  it('a room created through one instance is listed and retrieved through the other', async () => {
    await a.services.users.createUser({ email: 'grace@example.com' });
    const client = await createClient(a);
    const tokenFromB = await getToken(b, client, 'grace@example.com');
    const created = await call(a, 'POST', `${API}/rooms/`, { token: tokenFromB });
    expect(created.status).toBe(201);
    const listed = await call(b, 'GET', `${API}/rooms/`, { token: tokenFromB });
    expect(listed.json.results.map((r: { id: string }) => r.id)).toEqual([created.json.id]);
    expect((await call(b, 'GET', `${API}/rooms/${created.json.id}/`, { token: tokenFromB })).status).toBe(200);
  });

  it('an application deactivated through one instance is refused by the other on the next request', async () => {
    await a.services.users.createUser({ email: 'linus@example.com' });
    const client = await createClient(a);
    const token = await getToken(a, client, 'linus@example.com');
    expect((await call(b, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
    await a.services.applications.updateApplication(client.clientId, { isActive: false });
    const refused = await call(b, 'GET', `${API}/rooms/`, { token });
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ detail: 'Application is disabled.' });
  });

  it('parallel room creation through both instances never collides', async () => {
    await a.services.users.createUser({ email: 'ken@example.com' });
    const client = await createClient(a);
    const token = await getToken(a, client, 'ken@example.com');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(i % 2 === 0 ? a : b, 'POST', `${API}/rooms/`, { token })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(201));
    expect(new Set(results.map((r) => r.json.slug)).size).toBe(40);
  });
});

// The native schema's migrations (db/migrate.ts); beside Meet, test/meet-layout.test.ts migrates meet_api_*.
describe.runIf(TEST_LAYOUT === 'native')('migrations', () => {
  it('several instances migrating one fresh database at once apply each migration once', async () => {
    const fresh = await freshDatabaseUrl();
    const handles = Array.from({ length: 4 }, () =>
      openDatabase({ databaseUrl: fresh.url, databasePoolMax: 2, databaseStatementTimeoutMs: 10_000 }),
    );
    try {
      const applied = await Promise.all(handles.map((h) => migrateToLatest(h.db)));
      expect(applied.flat().sort()).toEqual(MIGRATION_NAMES);
      const { rows } = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(handles[0]!.db);
      expect(Number(rows[0]!.n)).toBe(MIGRATION_NAMES.length);
      expect(await migrateToLatest(handles[0]!.db)).toEqual([]);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      await fresh.drop();
    }
  });
});
