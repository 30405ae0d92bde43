/**
 * docs/api.md, "Rooms": the rooms API over a real port. The shape of a room (and what it must
 * never show), creation, retrieval by role, and the paginated list.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { API, TEST_LAYOUT, call, useFreshDatabase, useServer, userWithToken, type TestServer } from './helpers.js';
import { setRoomsCreatedAt, storedAccesses, storedRoom, storedRooms } from './support/stored.js';

/** Beside Meet a room gets a PIN only while telephony is enabled at its creation, as Meet does. */
const PIN_WITHOUT_TELEPHONY = TEST_LAYOUT === 'native';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SLUG = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };
const NOT_FOUND = { detail: 'Not found.' };
const INVALID_PAGE = { detail: 'Invalid page.' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RoomJson {
  id: string;
  slug: string;
  access_level: string;
  url?: string;
  telephony?: { enabled: boolean; pin_code: string; phone_number: string | null; default_country: string };
  attendees?: string[];
}

async function createRoom(server: TestServer, token: string): Promise<RoomJson> {
  const created = await call(server, 'POST', `${API}/rooms/`, { token });
  expect(created.status).toBe(201);
  return created.json as RoomJson;
}

async function roomRow(server: TestServer, id: string) {
  return storedRoom(server, id);
}

async function pinOf(server: TestServer, id: string): Promise<string> {
  const row = await roomRow(server, id);
  if (!row) throw new Error(`room ${id} not in the database`);
  if (row.pin_code === null) throw new Error(`room ${id} has no PIN`);
  return row.pin_code;
}

/** Every page of the list, following `next`, with the given page size. */
async function walkPages(server: TestServer, token: string, pageSize: number): Promise<{ pages: RoomJson[][]; counts: number[] }> {
  const pages: RoomJson[][] = [];
  const counts: number[] = [];
  let url: string | null = `${server.origin}${API}/rooms/?page_size=${pageSize}`;
  while (url !== null) {
    expect(url.startsWith(server.origin)).toBe(true);
    const page = await call(server, 'GET', url.slice(server.origin.length), { token });
    expect(page.status).toBe(200);
    pages.push(page.json.results as RoomJson[]);
    counts.push(page.json.count as number);
    url = page.json.next as string | null;
    if (pages.length > 1000) throw new Error('pagination never ends');
  }
  return { pages, counts };
}

describe('room shape with the defaults (no APPLICATION_BASE_URL, telephony off)', () => {
  const server = useServer();
  let token: string;
  beforeAll(async () => {
    ({ token } = await userWithToken(server));
  });

  it('create, retrieve and list show exactly id, name, slug, access_level, configuration and (v1.1) attendees', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    expect(created.json.id).toMatch(UUID);
    expect(created.json.slug).toMatch(SLUG);
    expect(created.json.access_level).toBe('trusted');
    expect(created.json.url).toBeUndefined();
    expect(created.json.telephony).toBeUndefined();

    const retrieved = await call(server, 'GET', `${API}/rooms/${created.json.id}/`, { token });
    expect(retrieved.status).toBe(200);
    expect(retrieved.json).toEqual(created.json);

    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    expect(listed.status).toBe(200);
    expect(Object.keys(listed.json).sort()).toEqual(['count', 'next', 'previous', 'results']);
    const inList = (listed.json.results as RoomJson[]).find((r) => r.id === created.json.id);
    expect(inList).toEqual(created.json);
    for (const room of [created.json, retrieved.json, ...(listed.json.results as RoomJson[])]) {
      expect(Object.keys(room).sort()).toEqual(['access_level', 'attendees', 'configuration', 'id', 'name', 'slug']);
      expect(room.attendees).toEqual([]);
      // A generated room's name is its slug; no option is set until asked.
      expect(room.name).toBe(room.slug);
      expect(room.configuration).toEqual({});
    }
  });

  it.skipIf(!PIN_WITHOUT_TELEPHONY)('every room gets a PIN of ROOM_TELEPHONY_PIN_LENGTH (default 10) digits even with telephony off, never shown', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    const pin = await pinOf(server, created.json.id);
    expect(pin).toMatch(/^\d{10}$/);
    expect(created.text).not.toContain(pin);
    const retrieved = await call(server, 'GET', `${API}/rooms/${created.json.id}/`, { token });
    expect(retrieved.text).not.toContain(pin);
    const listed = await call(server, 'GET', `${API}/rooms/?page_size=100`, { token });
    expect(listed.text).not.toContain(pin);
  });

  it('no internal column (pin_code, created_by_client_id, created_at, accesses) appears in any answer', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    const retrieved = await call(server, 'GET', `${API}/rooms/${created.json.id}/`, { token });
    for (const text of [created.text, listed.text, retrieved.text]) {
      for (const word of ['pin_code', 'pin', 'created_by', 'client_id', 'created_at', 'updated_at', 'accesses', 'role', 'owner', 'telephony', 'url']) {
        expect(text).not.toContain(`"${word}"`);
      }
    }
  });
});

describe('room shape with APPLICATION_BASE_URL ending in "/" and telephony on (PIN length 6, no phone number)', () => {
  const server = useServer({
    APPLICATION_BASE_URL: 'https://meet.example.org/',
    ROOM_TELEPHONY_ENABLED: 'true',
    ROOM_TELEPHONY_PIN_LENGTH: '6',
  });
  let token: string;
  beforeAll(async () => {
    ({ token } = await userWithToken(server));
  });

  it('adds url (no double slash) and telephony {enabled, pin_code, phone_number: null, default_country: "US"}', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    const room = created.json as RoomJson;
    expect(room.url).toBe(`https://meet.example.org/${room.slug}`);
    expect(Object.keys(room.telephony ?? {}).sort()).toEqual(['default_country', 'enabled', 'phone_number', 'pin_code']);
    expect(room.telephony).toEqual({ enabled: true, pin_code: await pinOf(server, room.id), phone_number: null, default_country: 'US' });
    expect(room.telephony?.pin_code).toMatch(/^\d{6}$/);

    const retrieved = await call(server, 'GET', `${API}/rooms/${room.id}/`, { token });
    expect(retrieved.status).toBe(200);
    expect(retrieved.json).toEqual(room);

    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    expect(listed.status).toBe(200);
    expect(listed.json.results).toEqual([room]);

    expect(Object.keys(room).sort()).toEqual(['access_level', 'attendees', 'configuration', 'id', 'name', 'slug', 'telephony', 'url']);
  });

  it('PINs have exactly 6 digits for every room', async () => {
    const rooms = [];
    for (let i = 0; i < 5; i++) rooms.push(await createRoom(server, token));
    for (const room of rooms) {
      expect(room.telephony?.pin_code).toMatch(/^\d{6}$/);
      expect(await pinOf(server, room.id)).toBe(room.telephony?.pin_code);
    }
  });
});

describe('room shape with a base URL carrying a path, and telephony with a phone number and country', () => {
  const server = useServer({
    APPLICATION_BASE_URL: 'https://visio.example.org/meet',
    ROOM_TELEPHONY_ENABLED: 'YES',
    ROOM_TELEPHONY_PIN_LENGTH: '4',
    ROOM_TELEPHONY_PHONE_NUMBER: '+1-555-0100',
    ROOM_TELEPHONY_DEFAULT_COUNTRY: 'FR',
  });
  let token: string;
  beforeAll(async () => {
    ({ token } = await userWithToken(server));
  });

  it('url is <base>/<slug> and telephony shows the configured number and country', async () => {
    const room = await createRoom(server, token);
    expect(room.url).toBe(`https://visio.example.org/meet/${room.slug}`);
    expect(room.telephony).toEqual({ enabled: true, pin_code: await pinOf(server, room.id), phone_number: '+1-555-0100', default_country: 'FR' });
    expect(room.telephony?.pin_code).toMatch(/^\d{4}$/);
    const retrieved = await call(server, 'GET', `${API}/rooms/${room.id}`, { token });
    expect(retrieved.json).toEqual(room);
    expect(Object.keys(room).sort()).toEqual(['access_level', 'attendees', 'configuration', 'id', 'name', 'slug', 'telephony', 'url']);
  });
});

describe('room shape with a base URL set and telephony explicitly off', () => {
  const server = useServer({
    APPLICATION_BASE_URL: 'http://localhost:3000//',
    ROOM_TELEPHONY_ENABLED: 'false',
    ROOM_TELEPHONY_PHONE_NUMBER: '+1-555-0100',
  });
  let token: string;
  beforeAll(async () => {
    ({ token } = await userWithToken(server));
  });

  it('shows url but no telephony', async () => {
    const room = await createRoom(server, token);
    expect(room.url).toBe(`http://localhost:3000/${room.slug}`);
    expect(room.telephony).toBeUndefined();
    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    expect(listed.json.results).toEqual([room]);
    expect(Object.keys(room).sort()).toEqual(['access_level', 'attendees', 'configuration', 'id', 'name', 'slug', 'url']);
  });
});

describe('turning telephony on later shows a PIN for rooms created while it was off', () => {
  const shared = useFreshDatabase();
  const off = useServer({}, { databaseUrl: () => shared.url });
  const on = useServer({ ROOM_TELEPHONY_ENABLED: '1' }, { databaseUrl: () => shared.url });

  // Beside Meet such a room has no PIN (Meet's rule): test/meet-layout.test.ts shows it null.
  it.skipIf(!PIN_WITHOUT_TELEPHONY)('the room created without telephony has a 10-digit PIN once telephony is enabled', async () => {
    const { token } = await userWithToken(off);
    const room = await createRoom(off, token);
    expect(room.telephony).toBeUndefined();
    const seen = await call(on, 'GET', `${API}/rooms/${room.id}/`, { token });
    expect(seen.status).toBe(200);
    expect(seen.json).toEqual({
      ...room,
      telephony: { enabled: true, pin_code: await pinOf(off, room.id), phone_number: null, default_country: 'US' },
    });
    expect(seen.json.telephony.pin_code).toMatch(/^\d{10}$/);
  });
});

describe('POST /rooms/', () => {
  const server = useServer();
  let token: string;
  let userId: string;
  let clientId: string;
  beforeAll(async () => {
    const subject = await userWithToken(server);
    token = subject.token;
    userId = subject.user.id;
    clientId = subject.client.clientId;
  });

  // The exact set of fields is the shape tests' business (above); here, what creation did.
  async function expectCreated(result: Awaited<ReturnType<typeof call>>) {
    expect(result.status).toBe(201);
    expect(result.json.id).toMatch(UUID);
    expect(result.json.slug).toMatch(SLUG);
    expect(result.json.access_level).toBe('trusted');
    expect(result.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const row = await roomRow(server, result.json.id);
    expect(row?.slug).toBe(result.json.slug);
    expect(row?.access_level).toBe('trusted');
  }

  it('accepts no body at all', async () => {
    await expectCreated(await call(server, 'POST', `${API}/rooms/`, { token }));
  });

  it('accepts an empty body with content-type application/json', async () => {
    await expectCreated(await call(server, 'POST', `${API}/rooms/`, { token, body: '', headers: { 'content-type': 'application/json' } }));
  });

  it('accepts a whitespace-only body with content-type application/json', async () => {
    await expectCreated(await call(server, 'POST', `${API}/rooms/`, { token, body: ' \n ', headers: { 'content-type': 'application/json' } }));
  });

  it('accepts {}', async () => {
    await expectCreated(await call(server, 'POST', `${API}/rooms/`, { token, json: {} }));
  });

  it('accepts JSON declared as UTF-8, in any spelling of the media type', async () => {
    for (const type of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON']) {
      await expectCreated(await call(server, 'POST', `${API}/rooms/`, { token, body: '{}', headers: { 'content-type': type } }));
    }
  });

  it('ignores id, slug, name and any other field the client sends besides the room options', async () => {
    const forcedId = '11111111-2222-4333-8444-555555555555';
    const sent = {
      id: forcedId,
      slug: 'aaa-bbbb-ccc',
      name: 'my own name',
      pin_code: '0000000000',
      url: 'https://evil.example.com/x',
      telephony: { enabled: true, pin_code: '1234' },
      created_by_client_id: 'someone-else',
      owner: 'mallory@example.com',
    };
    const created = await call(server, 'POST', `${API}/rooms/`, { token, json: sent });
    await expectCreated(created);
    expect(created.json.id).not.toBe(forcedId);
    expect(created.json.slug).not.toBe('aaa-bbbb-ccc');
    expect(created.json.name).toBe(created.json.slug);
    expect(created.json.access_level).toBe('trusted');
    expect(await roomRow(server, forcedId)).toBeUndefined();
    const row = await roomRow(server, created.json.id);
    expect(row?.pin_code).not.toBe('0000000000');
    expect(row?.created_by_client_id).toBe(clientId);
    const bySlug = await storedRooms(server, { slug: 'aaa-bbbb-ccc' });
    expect(bySlug).toEqual([]);
  });

  it('answers 201 with a Location header pointing at the room, which GET serves', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    const location = created.headers.get('location');
    expect(location).toBe(`${server.origin}${API}/rooms/${created.json.id}/`);
    const followed = await fetch(location as string, { headers: { authorization: `Bearer ${token}` } });
    expect(followed.status).toBe(200);
    expect(await followed.json()).toEqual(created.json);
  });

  it('also creates on /rooms without the trailing slash, with the same Location form', async () => {
    const created = await call(server, 'POST', `${API}/rooms`, { token });
    await expectCreated(created);
    expect(created.headers.get('location')).toBe(`${server.origin}${API}/rooms/${created.json.id}/`);
  });

  it('records the creating application client_id and makes the user owner', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    const row = await roomRow(server, created.json.id);
    expect(row?.created_by_client_id).toBe(clientId);
    const accesses = await storedAccesses(server, created.json.id);
    expect(accesses).toEqual([{ room_id: created.json.id, user_id: userId, role: 'owner' }]);
  });

  it('writes an audit log line with room id, user id and client id', async () => {
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    const audit = server.logs.lines.filter((line) => line.room_id === created.json.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ room_id: created.json.id, user_id: userId, client_id: clientId });
    // The line says who did what, never the room's PIN.
    if (PIN_WITHOUT_TELEPHONY) expect(JSON.stringify(audit[0])).not.toContain(await pinOf(server, created.json.id));
  });

  it('generates a distinct slug and PIN for each room', async () => {
    const rooms: RoomJson[] = [];
    for (let i = 0; i < 10; i++) rooms.push(await createRoom(server, token));
    expect(new Set(rooms.map((r) => r.slug)).size).toBe(10);
    expect(new Set(rooms.map((r) => r.id)).size).toBe(10);
    if (!PIN_WITHOUT_TELEPHONY) return;
    const pins = await Promise.all(rooms.map((r) => pinOf(server, r.id)));
    expect(new Set(pins).size).toBe(10);
    for (const pin of pins) expect(pin).toMatch(/^\d{10}$/);
  });
});

describe('GET /rooms/{id}/', () => {
  const server = useServer();
  let owner: Awaited<ReturnType<typeof userWithToken>>;
  let other: Awaited<ReturnType<typeof userWithToken>>;
  let room: RoomJson;
  beforeAll(async () => {
    owner = await userWithToken(server);
    other = await userWithToken(server);
    room = await createRoom(server, owner.token);
  });

  it('answers 200 with the room for its owner', async () => {
    const result = await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: owner.token });
    expect(result.status).toBe(200);
    expect(result.json).toEqual(room);
  });

  it('answers 403 with the exact body to a user with no role on it', async () => {
    const result = await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: other.token });
    expect(result.status).toBe(403);
    expect(result.json).toEqual(FORBIDDEN);
    const noSlash = await call(server, 'GET', `${API}/rooms/${room.id}`, { token: other.token });
    expect(noSlash.status).toBe(403);
    expect(noSlash.json).toEqual(FORBIDDEN);
  });

  for (const role of ['administrator', 'member', 'owner'] as const) {
    it(`answers 200 to a user granted the ${role} role`, async () => {
      const target = await createRoom(server, owner.token);
      const grantee = await userWithToken(server);
      const before = await call(server, 'GET', `${API}/rooms/${target.id}/`, { token: grantee.token });
      expect(before.status).toBe(403);
      expect(before.json).toEqual(FORBIDDEN);
      await server.services.rooms.grantRole(target.id, grantee.user.id, role);
      const after = await call(server, 'GET', `${API}/rooms/${target.id}/`, { token: grantee.token });
      expect(after.status).toBe(200);
      expect(after.json).toEqual(target);
    });
  }

  it('answers 404 {"detail": "Not found."} for an unknown UUID', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'b0f7d1f2-9a3c-4e5d-8f6a-7b8c9d0e1f2a']) {
      for (const suffix of ['/', '']) {
        const result = await call(server, 'GET', `${API}/rooms/${id}${suffix}`, { token: owner.token });
        expect(result.status).toBe(404);
        expect(result.json).toEqual(NOT_FOUND);
      }
    }
  });

  it('answers 404 {"detail": "Not found."} for ids that are neither UUIDs nor slugs (v1.1 accepts slugs)', async () => {
    const ids = ['not-a-uuid', '123', `${room.slug}x`, 'zzz-zzzz-zzz', `${room.id}0`, room.id.slice(0, -1), room.id.replace(/-/g, ''), `${room.id.slice(0, -1)}g`, "1'%20OR%20'1'%3D'1", '%20'];
    const answers = [];
    for (const id of ids) {
      const result = await call(server, 'GET', `${API}/rooms/${id}/`, { token: owner.token });
      answers.push({ id, status: result.status, body: result.json });
    }
    expect(answers).toEqual(ids.map((id) => ({ id, status: 404, body: NOT_FOUND })));
  });

  it('accepts the id in upper case', async () => {
    const result = await call(server, 'GET', `${API}/rooms/${room.id.toUpperCase()}/`, { token: owner.token });
    expect(result.status).toBe(200);
    expect(result.json).toEqual(room);
    const forbidden = await call(server, 'GET', `${API}/rooms/${room.id.toUpperCase()}/`, { token: other.token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toEqual(FORBIDDEN);
  });
});

describe('GET /rooms/: which rooms, in which order', () => {
  const server = useServer();

  it('lists only the rooms on which the user holds a role, each once, newest first', async () => {
    const alice = await userWithToken(server);
    const bob = await userWithToken(server);
    const carol = await userWithToken(server);

    const own: RoomJson[] = [];
    for (let i = 0; i < 3; i++) {
      own.push(await createRoom(server, alice.token));
      await sleep(5);
    }
    const bobsMember = await createRoom(server, bob.token);
    await sleep(5);
    const bobsAdmin = await createRoom(server, bob.token);
    await sleep(5);
    const bobsPrivate = await createRoom(server, bob.token);
    await sleep(5);
    const carolsRoom = await createRoom(server, carol.token);

    await server.services.rooms.grantRole(bobsMember.id, alice.user.id, 'member');
    await server.services.rooms.grantRole(bobsAdmin.id, alice.user.id, 'administrator');
    // A second grant on the same room replaces the role: still one entry.
    await server.services.rooms.grantRole(bobsAdmin.id, alice.user.id, 'member');
    await server.services.rooms.grantRole(bobsAdmin.id, alice.user.id, 'administrator');
    // Carol's room shared with Bob does not make it Alice's.
    await server.services.rooms.grantRole(carolsRoom.id, bob.user.id, 'member');

    const listed = await call(server, 'GET', `${API}/rooms/`, { token: alice.token });
    expect(listed.status).toBe(200);
    expect(listed.json.count).toBe(5);
    expect(listed.json.next).toBeNull();
    expect(listed.json.previous).toBeNull();
    const ids = (listed.json.results as RoomJson[]).map((r) => r.id);
    // Newest first: rooms were created in this order, a few milliseconds apart.
    expect(ids).toEqual([bobsAdmin.id, bobsMember.id, own[2]!.id, own[1]!.id, own[0]!.id]);
    expect(ids).not.toContain(bobsPrivate.id);
    expect(ids).not.toContain(carolsRoom.id);
    expect(listed.json.results[0]).toEqual(bobsAdmin);

    const bobs = await call(server, 'GET', `${API}/rooms/`, { token: bob.token });
    expect(bobs.json.count).toBe(4);
    expect((bobs.json.results as RoomJson[]).map((r) => r.id)).toEqual([carolsRoom.id, bobsPrivate.id, bobsAdmin.id, bobsMember.id]);

    const carols = await call(server, 'GET', `${API}/rooms/`, { token: carol.token });
    expect(carols.json).toEqual({ count: 1, next: null, previous: null, results: [carolsRoom] });
  });

  it('breaks created_at ties by id, the same total order on every page', async () => {
    const dave = await userWithToken(server);
    const rooms: RoomJson[] = [];
    for (let i = 0; i < 10; i++) rooms.push(await createRoom(server, dave.token));
    // Ten rooms created in the same instant.
    const instant = '2030-01-01T00:00:00.000Z';
    await setRoomsCreatedAt(server, rooms.map((r) => r.id), instant);
    const expected = rooms.map((r) => r.id).sort().reverse();

    const full = await call(server, 'GET', `${API}/rooms/?page_size=100`, { token: dave.token });
    expect(full.status).toBe(200);
    const fullIds = (full.json.results as RoomJson[]).map((r) => r.id);
    expect(fullIds).toEqual(expected);

    for (let i = 0; i < 3; i++) {
      const { pages, counts } = await walkPages(server, dave.token, 3);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1]);
      expect(counts).toEqual([10, 10, 10, 10]);
      expect(pages.flat().map((r) => r.id)).toEqual(expected);
    }
  });

  it('walking every page with page_size=3 over 10 rooms yields each room exactly once, in list order', async () => {
    const erin = await userWithToken(server);
    const rooms: RoomJson[] = [];
    for (let i = 0; i < 10; i++) rooms.push(await createRoom(server, erin.token));
    const { pages, counts } = await walkPages(server, erin.token, 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(counts).toEqual([10, 10, 10, 10]);
    const walked = pages.flat().map((r) => r.id);
    expect(new Set(walked).size).toBe(10);
    expect([...walked].sort()).toEqual(rooms.map((r) => r.id).sort());

    const full = await call(server, 'GET', `${API}/rooms/?page_size=10`, { token: erin.token });
    expect((full.json.results as RoomJson[]).map((r) => r.id)).toEqual(walked);

    // The order is the database's (created_at desc, id desc).
    const rows = await storedRooms(server, { ids: rooms.map((r) => r.id) });
    const time = (v: string) => Date.parse(v);
    const ordered = rows
      .sort((a, b) => time(b.created_at) - time(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map((r) => r.id);
    expect(walked).toEqual(ordered);
  });
});

describe('GET /rooms/: pagination', () => {
  const server = useServer();
  let token: string;
  let all: string[];
  let empty: string;
  beforeAll(async () => {
    const subject = await userWithToken(server);
    token = subject.token;
    for (let i = 0; i < 25; i++) await server.services.rooms.createRoom({ ownerId: subject.user.id, clientId: subject.client.clientId });
    const full = await call(server, 'GET', `${API}/rooms/?page_size=100`, { token });
    all = (full.json.results as RoomJson[]).map((r) => r.id);
    empty = (await userWithToken(server)).token;
  });

  function link(value: string | null) {
    expect(value).not.toBeNull();
    const url = new URL(value as string);
    return { base: `${url.origin}${url.pathname}`, params: Object.fromEntries(url.searchParams) };
  }

  it('defaults to page 1 of 20 with absolute next, null previous', async () => {
    expect(all).toHaveLength(25);
    const first = await call(server, 'GET', `${API}/rooms/`, { token });
    expect(first.status).toBe(200);
    expect(first.json.count).toBe(25);
    expect(first.json.previous).toBeNull();
    expect((first.json.results as RoomJson[]).map((r) => r.id)).toEqual(all.slice(0, 20));
    expect(link(first.json.next)).toEqual({ base: `${server.origin}${API}/rooms/`, params: { page: '2' } });

    const second = await call(server, 'GET', `${API}/rooms/?page=2`, { token });
    expect(second.status).toBe(200);
    expect(second.json.count).toBe(25);
    expect(second.json.next).toBeNull();
    expect((second.json.results as RoomJson[]).map((r) => r.id)).toEqual(all.slice(20));
    const previous = link(second.json.previous);
    expect(previous.base).toBe(`${server.origin}${API}/rooms/`);
    expect(previous.params.page ?? '1').toBe('1');
    expect(Object.keys(previous.params).filter((k) => k !== 'page')).toEqual([]);
  });

  it('page_size up to 100 is honoured; 100 shows everything with no next', async () => {
    const result = await call(server, 'GET', `${API}/rooms/?page_size=100`, { token });
    expect(result.status).toBe(200);
    expect(result.json.results).toHaveLength(25);
    expect(result.json.next).toBeNull();
    expect(result.json.previous).toBeNull();
    const one = await call(server, 'GET', `${API}/rooms/?page_size=1&page=25`, { token });
    expect(one.status).toBe(200);
    expect((one.json.results as RoomJson[]).map((r) => r.id)).toEqual([all[24]]);
    expect(one.json.next).toBeNull();
    expect(link(one.json.previous).params).toEqual({ page_size: '1', page: '24' });
  });

  it('next and previous keep the other query parameters', async () => {
    const result = await call(server, 'GET', `${API}/rooms/?page_size=5&foo=bar&page=3&lang=fr`, { token });
    expect(result.status).toBe(200);
    expect((result.json.results as RoomJson[]).map((r) => r.id)).toEqual(all.slice(10, 15));
    expect(link(result.json.next)).toEqual({ base: `${server.origin}${API}/rooms/`, params: { page_size: '5', foo: 'bar', lang: 'fr', page: '4' } });
    expect(link(result.json.previous)).toEqual({ base: `${server.origin}${API}/rooms/`, params: { page_size: '5', foo: 'bar', lang: 'fr', page: '2' } });

    // Page 2's previous is page 1, still with the other parameters.
    const second = await call(server, 'GET', `${API}/rooms/?page_size=5&foo=bar&page=2`, { token });
    const previous = link(second.json.previous);
    expect(previous.params.page ?? '1').toBe('1');
    expect({ ...previous.params, page: undefined }).toEqual({ page_size: '5', foo: 'bar', page: undefined });

    // The links work: following them lands on the neighbouring pages.
    const next = await fetch(result.json.next as string, { headers: { authorization: `Bearer ${token}` } });
    expect(next.status).toBe(200);
    expect(((await next.json()).results as RoomJson[]).map((r) => r.id)).toEqual(all.slice(15, 20));
    const back = await fetch(result.json.previous as string, { headers: { authorization: `Bearer ${token}` } });
    expect(((await back.json()).results as RoomJson[]).map((r) => r.id)).toEqual(all.slice(5, 10));
  });

  it('the links keep the path the client used (no trailing slash)', async () => {
    const result = await call(server, 'GET', `${API}/rooms?page_size=10`, { token });
    expect(result.status).toBe(200);
    expect(link(result.json.next).params).toEqual({ page_size: '10', page: '2' });
    const next = await fetch(result.json.next as string, { headers: { authorization: `Bearer ${token}` } });
    expect(next.status).toBe(200);
    expect(((await next.json()).results as RoomJson[]).map((r) => r.id)).toEqual(all.slice(10, 20));
  });

  it('answers 400 naming page for page=0, page=-1, page=abc, page=1.5', async () => {
    for (const value of ['0', '-1', 'abc', '1.5', '1e1', '0x2']) {
      const result = await call(server, 'GET', `${API}/rooms/?page=${value}`, { token });
      expect({ value, status: result.status }).toEqual({ value, status: 400 });
      expect(Object.keys(result.json)).toEqual(['page']);
      expect(Array.isArray(result.json.page)).toBe(true);
      expect(result.json.page.length).toBeGreaterThan(0);
      for (const message of result.json.page) expect(typeof message).toBe('string');
    }
  });

  it('answers 400 naming page_size for page_size=0 and page_size=abc', async () => {
    for (const value of ['0', '-5', 'abc', '2.5']) {
      const result = await call(server, 'GET', `${API}/rooms/?page_size=${value}`, { token });
      expect({ value, status: result.status }).toEqual({ value, status: 400 });
      expect(Object.keys(result.json)).toEqual(['page_size']);
      expect(result.json.page_size.length).toBeGreaterThan(0);
    }
  });

  it('answers 400 with the exact message for page_size=101', async () => {
    for (const value of ['101', '1000']) {
      const result = await call(server, 'GET', `${API}/rooms/?page_size=${value}`, { token });
      expect(result.status).toBe(400);
      expect(result.json).toEqual({ page_size: ['Ensure this value is less than or equal to 100.'] });
    }
  });

  it('names both parameters when both are bad', async () => {
    const result = await call(server, 'GET', `${API}/rooms/?page=0&page_size=101`, { token });
    expect(result.status).toBe(400);
    expect(Object.keys(result.json).sort()).toEqual(['page', 'page_size']);
    expect(result.json.page_size).toEqual(['Ensure this value is less than or equal to 100.']);
    const other = await call(server, 'GET', `${API}/rooms/?page=abc&page_size=0`, { token });
    expect(other.status).toBe(400);
    expect(Object.keys(other.json).sort()).toEqual(['page', 'page_size']);
  });

  it('answers 404 {"detail": "Invalid page."} for a page past the last', async () => {
    for (const query of ['page=3', 'page=2&page_size=25', 'page=26&page_size=1', 'page=999999']) {
      const result = await call(server, 'GET', `${API}/rooms/?${query}`, { token });
      expect({ query, status: result.status, body: result.json }).toEqual({ query, status: 404, body: INVALID_PAGE });
    }
    const last = await call(server, 'GET', `${API}/rooms/?page=25&page_size=1`, { token });
    expect(last.status).toBe(200);
  });

  it('page 1 of an empty list is 200 with count 0; page 2 is 404', async () => {
    const first = await call(server, 'GET', `${API}/rooms/`, { token: empty });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ count: 0, next: null, previous: null, results: [] });
    const explicit = await call(server, 'GET', `${API}/rooms/?page=1&page_size=5`, { token: empty });
    expect(explicit.status).toBe(200);
    expect(explicit.json).toEqual({ count: 0, next: null, previous: null, results: [] });
    const second = await call(server, 'GET', `${API}/rooms/?page=2`, { token: empty });
    expect(second.status).toBe(404);
    expect(second.json).toEqual(INVALID_PAGE);
  });
});
