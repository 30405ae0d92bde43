/** v1.1: attendees (PATCH), deletion (DELETE), lookup by slug, and the admission decision. */
import { describe, expect, it } from 'vitest';
import { API, TEST_LAYOUT, call, createClient, getToken, startTestServer, useServer, type Client, type TestServer } from './helpers.js';
import { storedAccesses, storedAttendees, storedRooms } from './support/stored.js';

const V11_SCOPES = ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete'];
const INTERNAL_TOKEN = 'internal-token-0123456789abcdefghijklmnop';
let counter = 0;

async function actor(server: TestServer, client?: Client, email = `person-${++counter}@example.com`) {
  const user = await server.services.users.createUser({ email });
  const app = client ?? (await createClient(server, { scopes: V11_SCOPES }));
  return { user, client: app, email, token: await getToken(server, app, email) };
}

async function createRoom(server: TestServer, token: string) {
  const created = await call(server, 'POST', `${API}/rooms/`, { token });
  expect(created.status).toBe(201);
  return created.json as { id: string; slug: string; attendees: string[] };
}

describe('attendees', () => {
  const server = useServer();

  it('every room answer shows attendees, [] when none', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    expect(room.attendees).toEqual([]);
    expect((await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: owner.token })).json.attendees).toEqual([]);
    expect((await call(server, 'GET', `${API}/rooms/`, { token: owner.token })).json.results[0].attendees).toEqual([]);
  });

  it('the owner replaces the list: validated, trimmed, de-duplicated case-insensitively, order kept', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    const updated = await call(server, 'PATCH', `${API}/rooms/${room.id}/`, {
      token: owner.token,
      json: { attendees: [' Ada@Example.com', 'bob@example.org', 'ADA@example.COM'], slug: 'ignored', name: 'ignored' },
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toEqual({ id: room.id, name: room.slug, slug: room.slug, access_level: 'trusted', configuration: {}, attendees: ['Ada@Example.com', 'bob@example.org'] });
    expect((await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: owner.token })).json.attendees).toEqual([
      'Ada@Example.com',
      'bob@example.org',
    ]);
    const replaced = await call(server, 'PATCH', `${API}/rooms/${room.id}`, { token: owner.token, json: { attendees: ['carol@example.net'] } });
    expect(replaced.json.attendees).toEqual(['carol@example.net']);
    const cleared = await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: { attendees: [] } });
    expect(cleared.json.attendees).toEqual([]);
  });

  it('list and retrieve show each room its own attendees, in their set order, on every page', async () => {
    const owner = await actor(server);
    const lists = [['zed@example.com', 'amy@example.com'], [], ['k1@example.com'], ['c@example.com', 'b@example.com', 'a@example.com'], []];
    const rooms = [];
    for (const attendees of lists) {
      const room = await createRoom(server, owner.token);
      if (attendees.length > 0) {
        const set = await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: { attendees } });
        expect(set.status).toBe(200);
      }
      rooms.push({ id: room.id, name: room.slug, slug: room.slug, access_level: 'trusted', configuration: {}, attendees });
    }
    const newestFirst = [...rooms].reverse();

    const all = await call(server, 'GET', `${API}/rooms/?page_size=100`, { token: owner.token });
    expect(all.json).toEqual({ count: 5, next: null, previous: null, results: newestFirst });

    const pages = [];
    for (let page = 1; page <= 3; page++) {
      const answer = await call(server, 'GET', `${API}/rooms/?page_size=2&page=${page}`, { token: owner.token });
      expect(answer.status).toBe(200);
      expect(answer.json.count).toBe(5);
      pages.push(...answer.json.results);
    }
    expect(pages).toEqual(newestFirst);

    for (const room of rooms) {
      expect((await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: owner.token })).json).toEqual(room);
      expect((await call(server, 'GET', `${API}/rooms/${room.slug}/`, { token: owner.token })).json).toEqual(room);
      const bySlug = await call(server, 'GET', `${API}/rooms/?slug=${room.slug}`, { token: owner.token });
      expect(bySlug.json).toEqual({ count: 1, next: null, previous: null, results: [room] });
    }
  });

  it('an administrator may update; a member or a stranger may not (403, retrieve\'s message)', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    const admin = await actor(server);
    const member = await actor(server);
    const stranger = await actor(server);
    await server.services.rooms.grantRole(room.id, admin.user.id, 'administrator');
    await server.services.rooms.grantRole(room.id, member.user.id, 'member');
    const body = { attendees: ['x@example.com'] };
    expect((await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: admin.token, json: body })).status).toBe(200);
    for (const who of [member, stranger]) {
      const refused = await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: who.token, json: { attendees: [] } });
      expect(refused.status).toBe(403);
      expect(refused.json).toEqual({ detail: 'You do not have permission to perform this action.' });
    }
    expect((await server.services.rooms.getRoom(room.id)).attendees).toEqual(['x@example.com']);
  });

  it('names each bad entry, refuses more than 1,000, and writes nothing on a refusal', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: { attendees: ['keep@example.com'] } });
    const cases: [unknown, unknown][] = [
      [{ attendees: ['ok@example.com', 'ok2@example.com', 'not-an-email', 42] }, { attendees: { '2': ['Enter a valid email address.'], '3': ['Enter a valid email address.'] } }],
      [{ attendees: null }, { attendees: ['This field may not be null.'] }],
      [{ attendees: 'a@example.com' }, { attendees: ['Expected a list of email addresses but got type "string".'] }],
      [{ attendees: Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`) }, { attendees: ['Ensure this field has no more than 1000 elements.'] }],
    ];
    for (const [json, expected] of cases) {
      const refused = await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json });
      expect(refused.status).toBe(400);
      expect(refused.json).toEqual(expected);
    }
    const thousand = Array.from({ length: 1000 }, (_, i) => `u${i}@example.com`);
    expect((await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: { attendees: thousand } })).status).toBe(200);
    expect((await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: ['x'] })).status).toBe(400);
  });

  it('needs rooms:update; unknown room is 404; PUT stays 405 and Allow lists the methods', async () => {
    const client = await createClient(server, { scopes: ['rooms:create', 'rooms:retrieve'] });
    const owner = await actor(server, client);
    const room = await createRoom(server, owner.token);
    const refused = await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: { attendees: [] } });
    expect(refused.status).toBe(403);
    expect(refused.json).toEqual({ detail: 'Insufficient permissions. Required scope: rooms:update' });
    const full = await actor(server);
    const missing = await call(server, 'PATCH', `${API}/rooms/00000000-0000-4000-8000-000000000000/`, { token: full.token, json: { attendees: [] } });
    expect(missing.status).toBe(404);
    const put = await call(server, 'PUT', `${API}/rooms/${room.id}/`, { token: full.token, json: {} });
    expect(put.status).toBe(405);
    expect(put.json).toEqual({ detail: 'Method "PUT" not allowed.' });
    expect(put.headers.get('allow')).toBe('GET, PATCH, DELETE, HEAD');
  });
});

describe('deletion', () => {
  const server = useServer();

  it('the owner, through the creating application, deletes: 204, no body, gone at once, audited', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    await call(server, 'PATCH', `${API}/rooms/${room.id}/`, { token: owner.token, json: { attendees: ['a@example.com'] } });
    const deleted = await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: owner.token });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: owner.token })).status).toBe(404);
    expect((await call(server, 'GET', `${API}/rooms/`, { token: owner.token })).json.count).toBe(0);
    expect(await storedAccesses(server, room.id)).toEqual([]);
    expect(await storedAttendees(server, room.id)).toEqual([]);
    const audit = server.logs.lines.find((l) => l.event === 'room.deleted' && l.room_id === room.id);
    expect(audit).toMatchObject({ user_id: owner.user.id, client_id: owner.client.clientId });
    expect((await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: owner.token })).json).toEqual({ detail: 'Not found.' });
  });

  it('another application cannot delete, even for the owner; an administrator cannot either', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    const otherApp = await createClient(server, { scopes: V11_SCOPES });
    const ownerViaOther = await getToken(server, otherApp, owner.email);
    const refused = await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: ownerViaOther });
    expect(refused.status).toBe(403);
    expect(refused.json).toEqual({ detail: 'This room was not created by this application.' });

    const admin = await actor(server, owner.client);
    await server.services.rooms.grantRole(room.id, admin.user.id, 'administrator');
    const notOwner = await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: admin.token });
    expect(notOwner.status).toBe(403);
    expect(notOwner.json).toEqual({ detail: 'Only the owner of the room can delete it.' });
    expect((await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: owner.token })).status).toBe(200);
  });

  it('a room created by an operator (no application) cannot be deleted through the API', async () => {
    const owner = await actor(server);
    const room = await server.services.rooms.createRoom({ ownerId: owner.user.id, clientId: null });
    const refused = await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: owner.token });
    expect(refused.status).toBe(403);
  });

  it('needs rooms:delete', async () => {
    const client = await createClient(server, { scopes: ['rooms:create'] });
    const owner = await actor(server, client);
    const room = await createRoom(server, owner.token);
    const refused = await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: owner.token });
    expect(refused.status).toBe(403);
    expect(refused.json).toEqual({ detail: 'Insufficient permissions. Required scope: rooms:delete' });
  });

  it('deleting frees nothing that breaks uniqueness: new rooms keep unique slugs and PINs', async () => {
    const owner = await actor(server);
    for (let i = 0; i < 10; i++) {
      const room = await createRoom(server, owner.token);
      if (i % 2 === 0) expect((await call(server, 'DELETE', `${API}/rooms/${room.id}/`, { token: owner.token })).status).toBe(204);
    }
    const rows = await storedRooms(server);
    expect(new Set(rows.map((r) => r.slug)).size).toBe(rows.length);
    // Beside Meet no PIN is written while telephony is off.
    if (TEST_LAYOUT === 'native') expect(new Set(rows.map((r) => r.pin_code)).size).toBe(rows.length);
  });
});

describe('lookup by slug', () => {
  const server = useServer();

  it('retrieves by slug with the same permissions, and filters the list', async () => {
    const owner = await actor(server);
    const stranger = await actor(server);
    const room = await createRoom(server, owner.token);
    await createRoom(server, owner.token);
    const bySlug = await call(server, 'GET', `${API}/rooms/${room.slug}/`, { token: owner.token });
    expect(bySlug.status).toBe(200);
    expect(bySlug.json.id).toBe(room.id);
    expect((await call(server, 'GET', `${API}/rooms/${room.slug.toUpperCase()}`, { token: owner.token })).json.id).toBe(room.id);
    expect((await call(server, 'GET', `${API}/rooms/${room.slug}/`, { token: stranger.token })).status).toBe(403);
    expect((await call(server, 'GET', `${API}/rooms/zzz-zzzz-zzz/`, { token: owner.token })).status).toBe(404);

    const filtered = await call(server, 'GET', `${API}/rooms/?slug=${room.slug}`, { token: owner.token });
    expect(filtered.json.count).toBe(1);
    expect(filtered.json.results.map((r: { id: string }) => r.id)).toEqual([room.id]);
    expect((await call(server, 'GET', `${API}/rooms/?slug=${room.slug}`, { token: stranger.token })).json.count).toBe(0);
    expect((await call(server, 'GET', `${API}/rooms/`, { token: owner.token })).json.count).toBe(2);
  });
});

describe('admission decision (internal API)', () => {
  const server = useServer({ INTERNAL_API_TOKEN: INTERNAL_TOKEN });
  /** token null: no Authorization header at all. */
  const admission = (idOrSlug: string, body: unknown, token: string | null = INTERNAL_TOKEN) =>
    call(server, 'POST', `/internal-api/v1.0/rooms/${idOrSlug}/admission`, {
      json: body,
      ...(token === null ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });


  it('refuses a missing or wrong secret', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    for (const token of [null, 'wrong', `${INTERNAL_TOKEN}x`, '', `${INTERNAL_TOKEN} extra`]) {
      const refused = await admission(room.id, { email: null, authenticated: false }, token);
      expect(refused.status, `token ${token}`).toBe(401);
      expect(refused.json).toEqual({ detail: 'Invalid or missing internal API token.' });
    }
  });

  it('decides for each access level, with and without attendees', async () => {
    const owner = await actor(server);
    const member = await actor(server);
    const rooms = {
      public: await server.services.rooms.createRoom({ ownerId: owner.user.id, clientId: null, accessLevel: 'public' }),
      trusted: await server.services.rooms.createRoom({ ownerId: owner.user.id, clientId: null, accessLevel: 'trusted' }),
      restricted: await server.services.rooms.createRoom({ ownerId: owner.user.id, clientId: null, accessLevel: 'restricted' }),
    };
    await server.services.rooms.grantRole(rooms.restricted.id, member.user.id, 'member');
    const expectDecision = async (room: { id: string }, body: unknown, decision: string, reason: string) => {
      const answer = await admission(room.id, body);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ decision, reason });
    };
    const anonymous = { email: null, authenticated: false };
    const outsider = { email: 'outsider@example.com', authenticated: true };

    await expectDecision(rooms.public, anonymous, 'join', 'public_room');
    await expectDecision(rooms.trusted, anonymous, 'lobby', 'authentication_required');
    await expectDecision(rooms.trusted, outsider, 'join', 'authenticated_in_trusted_room');
    await expectDecision(rooms.restricted, outsider, 'lobby', 'not_invited');
    await expectDecision(rooms.restricted, { email: member.email.toUpperCase(), authenticated: true }, 'join', 'member_of_restricted_room');
    await expectDecision(rooms.restricted, { email: member.email, authenticated: false }, 'lobby', 'authentication_required');

    await server.services.rooms.setAttendees(rooms.restricted.id, ['Outsider@Example.com']);
    await expectDecision(rooms.restricted, outsider, 'join', 'attendee');
    await expectDecision(rooms.restricted, { email: 'outsider@example.com', authenticated: false }, 'lobby', 'authentication_required');
    await expectDecision(rooms.restricted, { email: 'other@example.com', authenticated: true }, 'lobby', 'not_invited');
    // By slug as well as by id.
    expect((await admission(rooms.restricted.slug, outsider)).json).toEqual({ decision: 'join', reason: 'attendee' });
  });

  it('validates the body and answers 404 for an unknown room', async () => {
    expect((await admission('00000000-0000-4000-8000-000000000000', { email: null, authenticated: true })).status).toBe(404);
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    const bad = await admission(room.id, { email: 'nope', authenticated: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ email: ['Enter a valid email address.'], authenticated: ['Must be a valid boolean.'] });
  });

  it('is absent while INTERNAL_API_TOKEN is unset', async () => {
    const plain = await startTestServer();
    try {
      const answer = await call(plain, 'POST', '/internal-api/v1.0/rooms/abc-defg-hij/admission', {
        json: { email: null, authenticated: false },
        headers: { authorization: 'Bearer anything' },
      });
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ detail: 'Not found.' });
    } finally {
      await plain.close();
    }
  });
});
