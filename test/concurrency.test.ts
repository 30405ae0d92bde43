/**
 * Concurrency (docs/api.md, token endpoint and rooms): parallel creations never collide, never fail, and
 * never make two of what must be one; slug and PIN retries stay invisible to the caller.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { API, TEST_LAYOUT, call, createClient, getToken, useServer, userWithToken, type TestServer } from './helpers.js';
import { storedAccesses, storedRooms, storedUsers } from './support/stored.js';

const SLUG = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;
const TOKEN = `${API}/application/token/`;

function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function usersWithEmail(server: TestServer, email: string) {
  return storedUsers(server, [email]);
}

describe('100 parallel room creations for one user', () => {
  const server = useServer();

  it('all answer 201, with 100 distinct slugs and PINs and 100 owner accesses', async () => {
    const { user, client, token } = await userWithToken(server);
    const results = await Promise.all(Array.from({ length: 100 }, () => call(server, 'POST', `${API}/rooms/`, { token })));
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(201));
    const ids = results.map((r) => r.json.id as string);
    expect(new Set(ids).size).toBe(100);
    expect(new Set(results.map((r) => r.json.slug)).size).toBe(100);
    for (const result of results) {
      expect(result.json.slug).toMatch(SLUG);
      expect(result.headers.get('location')).toBe(`${server.origin}${API}/rooms/${result.json.id}/`);
    }

    const rooms = await storedRooms(server);
    expect(rooms).toHaveLength(100);
    expect(new Set(rooms.map((r) => r.id))).toEqual(new Set(ids));
    expect(new Set(rooms.map((r) => r.slug)).size).toBe(100);
    // Beside Meet a PIN is written only while telephony is on (it is off here).
    if (TEST_LAYOUT === 'native') expect(new Set(rooms.map((r) => r.pin_code)).size).toBe(100);
    for (const room of rooms) {
      if (TEST_LAYOUT === 'native') expect(room.pin_code).toMatch(/^\d{10}$/);
      else expect(room.pin_code).toBeNull();
      expect(room.created_by_client_id).toBe(client.clientId);
    }

    const accesses = await storedAccesses(server);
    expect(accesses).toHaveLength(100);
    expect(new Set(accesses.map((a) => a.room_id))).toEqual(new Set(ids));
    for (const access of accesses) expect(access).toMatchObject({ user_id: user.id, role: 'owner' });

    // One audit line per room.
    const audited = server.logs.lines.filter((line) => typeof line.room_id === 'string' && ids.includes(line.room_id));
    expect(audited).toHaveLength(100);

    const listed = await call(server, 'GET', `${API}/rooms/?page_size=100`, { token });
    expect(listed.status).toBe(200);
    expect(listed.json.count).toBe(100);
    expect(new Set((listed.json.results as Array<{ id: string }>).map((r) => r.id))).toEqual(new Set(ids));
  });
});

describe('parallel first token requests for an unknown email (APPLICATION_ALLOW_USER_CREATION=true)', () => {
  const server = useServer({ APPLICATION_ALLOW_USER_CREATION: 'true' });

  async function parallelTokens(emails: string[]) {
    const client = await createClient(server);
    const results = await Promise.all(
      emails.map((email) =>
        call(server, 'POST', TOKEN, {
          json: { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email },
        }),
      ),
    );
    return results;
  }

  it('20 requests for one new email: all 200, one user', async () => {
    const email = 'grace@example.com';
    expect(await usersWithEmail(server, email)).toEqual([]);
    const results = await parallelTokens(Array(20).fill(email));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const users = await usersWithEmail(server, email);
    expect(users).toHaveLength(1);
    expect(users[0]?.email).toBe(email);
    const userIds = new Set(results.map((r) => claimsOf(r.json.access_token as string).user_id));
    expect(userIds).toEqual(new Set([users[0]?.id]));

    // Every one of the tokens works for the one user.
    for (const result of results.slice(0, 3)) {
      const listed = await call(server, 'GET', `${API}/rooms/`, { token: result.json.access_token });
      expect(listed.status).toBe(200);
    }
  });

  it('20 requests for one new email in differing letter case: all 200, one user', async () => {
    const variants = ['Ada@Example.com', 'ada@example.com', 'ADA@EXAMPLE.COM', 'aDa@eXample.Com'];
    const emails = Array.from({ length: 20 }, (_, i) => variants[i % variants.length] as string);
    const results = await parallelTokens(emails);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const users = await usersWithEmail(server, 'ada@example.com');
    expect(users).toHaveLength(1);
    expect(variants).toContain(users[0]?.email);
    const userIds = new Set(results.map((r) => claimsOf(r.json.access_token as string).user_id));
    expect(userIds).toEqual(new Set([users[0]?.id]));
  });

  it('parallel requests for several new emails make one user each', async () => {
    const emails = Array.from({ length: 5 }, (_, i) => `parallel-${i}@example.org`);
    const results = await parallelTokens(emails.flatMap((email) => [email, email.toUpperCase(), email, email.toUpperCase()]));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (const email of emails) expect(await usersWithEmail(server, email)).toHaveLength(1);
    const all = await storedUsers(server);
    expect(new Set(all.map((u) => u.email?.toLowerCase())).size).toBe(all.length);
  });

  it('a user made by the token endpoint can create rooms at once, in parallel', async () => {
    const client = await createClient(server);
    const token = await getToken(server, client, 'hopper@example.com');
    const results = await Promise.all(Array.from({ length: 20 }, () => call(server, 'POST', `${API}/rooms/`, { token })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(await usersWithEmail(server, 'hopper@example.com')).toHaveLength(1);
  });
});

describe('PIN collisions with ROOM_TELEPHONY_PIN_LENGTH=4 are retried invisibly', () => {
  const server = useServer({ ROOM_TELEPHONY_PIN_LENGTH: '4', ROOM_TELEPHONY_ENABLED: 'true' });

  it('200 rooms created in parallel: all 201, 200 distinct 4-digit PINs', async () => {
    const { token } = await userWithToken(server);
    const results = await Promise.all(Array.from({ length: 200 }, () => call(server, 'POST', `${API}/rooms/`, { token })));
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(201));
    const shown = results.map((r) => r.json.telephony.pin_code as string);
    for (const pin of shown) expect(pin).toMatch(/^\d{4}$/);
    expect(new Set(shown).size).toBe(200);
    const stored = await storedRooms(server);
    expect(stored).toHaveLength(200);
    expect(new Set(stored.map((r) => r.pin_code)).size).toBe(200);
    const byId = new Map(stored.map((r) => [r.id, r.pin_code]));
    for (const result of results) expect(byId.get(result.json.id)).toBe(result.json.telephony.pin_code);
  });
});

// Fills this server's own rooms table directly; beside Meet the 4-digit test above covers the retries.
describe.skipIf(TEST_LAYOUT !== 'native')('PIN collisions when half the PIN space is taken (PIN length 4, 50 retries)', () => {
  const server = useServer({ ROOM_TELEPHONY_PIN_LENGTH: '4', ROOM_TELEPHONY_PIN_MAX_RETRIES: '50' });
  const taken = new Set<string>();
  beforeAll(async () => {
    // Every even PIN is already in use: about one draw in two collides.
    const now = new Date().toISOString();
    const rows = [];
    for (let n = 0; n < 10_000; n += 2) {
      const pin = String(n).padStart(4, '0');
      taken.add(pin);
      rows.push({ id: randomUUID(), name: `filler-${pin}`, slug: `filler-${pin}`, pin_code: pin, access_level: 'trusted', configuration: '{}', created_by_client_id: null, created_at: now, updated_at: now });
    }
    for (let i = 0; i < rows.length; i += 1000) {
      await server.database.db.insertInto('rooms').values(rows.slice(i, i + 1000)).execute();
    }
  });

  it('100 rooms created in parallel: all 201, each with a free PIN, none reused', async () => {
    const { token } = await userWithToken(server);
    const results = await Promise.all(Array.from({ length: 100 }, () => call(server, 'POST', `${API}/rooms/`, { token })));
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(201));
    const ids = results.map((r) => r.json.id as string);
    const rows = await server.database.db.selectFrom('rooms').select(['id', 'pin_code']).where('id', 'in', ids).execute();
    expect(rows).toHaveLength(100);
    const pins = rows.map((r) => r.pin_code);
    for (const pin of pins) {
      expect(pin).toMatch(/^\d{4}$/);
      expect(taken.has(pin)).toBe(false);
    }
    expect(new Set(pins).size).toBe(100);
    const total = await server.database.db.selectFrom('rooms').select('pin_code').execute();
    expect(total).toHaveLength(5_100);
    expect(new Set(total.map((r) => r.pin_code)).size).toBe(5_100);
    // No room was half-made by a failed attempt: every created room has exactly its owner.
    const accesses = await server.database.db.selectFrom('room_accesses').select('room_id').execute();
    expect(accesses).toHaveLength(100);
    expect(new Set(accesses.map((a) => a.room_id))).toEqual(new Set(ids));
  });
});

describe('a room keeps an owner whatever operators do at once', () => {
  const server = useServer();

  async function roomWithTwoOwners(n: number) {
    const a = await server.services.users.createUser({ email: `a-${n}@owners.example` });
    const b = await server.services.users.createUser({ email: `b-${n}@owners.example` });
    const room = await server.services.rooms.createRoom({ ownerId: a.id, clientId: null });
    await server.services.rooms.grantRole(room.id, b.id, 'owner');
    return { room, a, b };
  }

  async function owners(roomId: string): Promise<number> {
    return (await storedAccesses(server, roomId)).filter((a) => a.role === 'owner').length;
  }

  it('revoking both owners at once, or deleting one while demoting the other: one of the two is refused', async () => {
    for (let n = 0; n < 10; n++) {
      const first = await roomWithTwoOwners(2 * n);
      const revoked = await Promise.allSettled([server.services.rooms.revokeRole(first.room.id, first.a.id), server.services.rooms.revokeRole(first.room.id, first.b.id)]);
      expect(revoked.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await owners(first.room.id)).toBe(1);

      const second = await roomWithTwoOwners(2 * n + 1);
      await Promise.allSettled([server.services.users.deleteUser({ email: second.a.email! }), server.services.rooms.grantRole(second.room.id, second.b.id, 'member')]);
      expect(await owners(second.room.id)).toBe(1);
    }
  });
});
