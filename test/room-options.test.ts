/**
 * Room options of upstream Meet's 2026 API over real HTTP: `access_level` and
 * `configuration` on POST /rooms/ and PATCH /rooms/{id}/, the EXTERNAL_API_* variables that
 * set the default access level and keep public rooms out of the API, the exact 400 bodies
 * (DRF's words for a field, pydantic's inside `configuration`), and that a refused request
 * writes nothing: each refusal is checked against the stored room (or the number of rooms),
 * read through the services rather than through the API under test.
 */
import { describe, expect, it } from 'vitest';
import { API, call, createClient, getToken, useServer, type CallResult, type TestServer } from './helpers.js';

const SCOPES = ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete'];
const ROOMS = `${API}/rooms/`;
const roomPath = (id: string) => `${ROOMS}${id}/`;

const PUBLIC_DISABLED = { access_level: ['Public rooms are disabled for the external API.'] };
const SOURCE_CHOICES = "Input should be 'camera', 'microphone', 'screen_share' or 'screen_share_audio'";
const ALL_SOURCES = ['camera', 'microphone', 'screen_share', 'screen_share_audio'];
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };
const ROOM_KEYS = ['access_level', 'attendees', 'configuration', 'id', 'name', 'slug'];

interface RoomJson {
  id: string;
  name: string;
  slug: string;
  access_level: string;
  configuration: Record<string, unknown>;
  attendees: string[];
  url?: string;
  telephony?: { enabled: boolean; pin_code: string; phone_number: string | null; default_country: string };
}

interface Actor {
  userId: string;
  token: string;
}

let counter = 0;

/** A user and a token for them from an application holding every rooms scope (or `scopes`). */
async function actor(server: TestServer, scopes = SCOPES): Promise<Actor> {
  const email = `options-${++counter}@example.com`;
  const user = await server.services.users.createUser({ email });
  const client = await createClient(server, { scopes });
  return { userId: user.id, token: await getToken(server, client, email) };
}

function post(server: TestServer, token: string, json?: unknown): Promise<CallResult> {
  return call(server, 'POST', ROOMS, { token, json });
}

function patch(server: TestServer, token: string, id: string, json: unknown): Promise<CallResult> {
  return call(server, 'PATCH', roomPath(id), { token, json });
}

async function createRoom(server: TestServer, token: string, json?: unknown): Promise<RoomJson> {
  const created = await post(server, token, json);
  expect(created.status, created.text).toBe(201);
  return created.json as RoomJson;
}

/** What is stored for the room's options, read through the service. */
async function storedOptions(server: TestServer, id: string) {
  const room = await server.services.rooms.getRoom(id);
  return { access_level: room.accessLevel, configuration: room.configuration, attendees: room.attendees };
}

/** The room as retrieve shows it to `token`'s user. */
async function retrieved(server: TestServer, token: string, id: string): Promise<RoomJson> {
  const answer = await call(server, 'GET', roomPath(id), { token });
  expect(answer.status, answer.text).toBe(200);
  return answer.json as RoomJson;
}

/** The options in an answer, to compare with what is stored. */
function optionsOf(room: RoomJson) {
  return { access_level: room.access_level, configuration: room.configuration, attendees: room.attendees };
}

/** A created room: its answer shows the options asked, and so do the store and retrieve. */
async function expectCreated(server: TestServer, token: string, json: unknown, options: { access_level: string; configuration: unknown }) {
  const room = await createRoom(server, token, json);
  expect(optionsOf(room)).toEqual({ ...options, attendees: [] });
  expect(await storedOptions(server, room.id)).toEqual(optionsOf(room));
  expect(await retrieved(server, token, room.id)).toEqual(room);
  return room;
}

/** A successful PATCH: 200 with the room as `expected`, and the store and retrieve agree. */
async function expectPatched(server: TestServer, token: string, id: string, json: unknown, expected: RoomJson): Promise<void> {
  const answer = await patch(server, token, id, json);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json).toEqual(expected);
  expect(await storedOptions(server, id)).toEqual(optionsOf(expected));
  expect(await retrieved(server, token, id)).toEqual(expected);
}

/** Problems inside `configuration` are one entry each, in no promised order. */
function normalized(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { configuration?: unknown }).configuration)) return body;
  const withList = body as { configuration: string[] };
  return { ...withList, configuration: [...withList.configuration].sort() };
}

/** A refused POST: 400 with exactly `expected`, and no room created. */
async function expectCreateRefused(server: TestServer, token: string, json: unknown, expected: unknown): Promise<CallResult> {
  const before = (await server.services.rooms.listAllRooms()).length;
  const refused = await post(server, token, json);
  expect(refused.status, refused.text).toBe(400);
  if (expected !== undefined) expect(normalized(refused.json)).toEqual(normalized(expected));
  expect((await server.services.rooms.listAllRooms()).length).toBe(before);
  return refused;
}

/** A refused PATCH: `status` with exactly `expected`, and the stored room (options, attendees, slug, PIN...) unchanged. */
async function expectPatchRefused(server: TestServer, token: string, id: string, json: unknown, status: number, expected: unknown): Promise<CallResult> {
  const before = await server.services.rooms.getRoom(id);
  const refused = await patch(server, token, id, json);
  expect(refused.status, refused.text).toBe(status);
  if (expected !== undefined) expect(normalized(refused.json)).toEqual(normalized(expected));
  expect(await server.services.rooms.getRoom(id)).toEqual(before);
  return refused;
}

/** A room whose every option differs from the defaults, so that any write by a refused request shows. */
async function customizedRoom(server: TestServer, owner: Actor): Promise<RoomJson> {
  const room = await createRoom(server, owner.token, { access_level: 'restricted', configuration: { everyone_can_mute: true } });
  const set = await patch(server, owner.token, room.id, { attendees: ['keep@example.com'] });
  expect(set.status, set.text).toBe(200);
  return set.json as RoomJson;
}

/** Access levels that are not choices, with DRF's answer. */
const BAD_ACCESS_LEVELS: [unknown, string][] = [
  ['secret', 'secret'],
  ['PUBLIC', 'PUBLIC'],
  ['', ''],
  [1, '1'],
  [true, 'True'],
];

/** Configurations refused with one `"<key>: <reason>"` entry per problem (pydantic's reasons). */
const BAD_CONFIGURATIONS: [string, unknown, string[]][] = [
  ['an unknown key', { hologram: true }, ['hologram: Extra inputs are not permitted']],
  ['an unknown key beside valid ones', { everyone_can_mute: true, can_publish_sources: ['camera'], mute_all: false }, ['mute_all: Extra inputs are not permitted']],
  ['a bad list entry', { can_publish_sources: ['camera', 'hologram'] }, [`can_publish_sources.1: ${SOURCE_CHOICES}`]],
  ['list entries that are not strings: one entry each', { can_publish_sources: ['camera', 42, null] }, [`can_publish_sources.1: ${SOURCE_CHOICES}`, `can_publish_sources.2: ${SOURCE_CHOICES}`]],
  ['a source that is not a list', { can_publish_sources: 'camera' }, ['can_publish_sources: Input should be a valid list']],
  ['a mute setting that is not a boolean', { everyone_can_mute: 'yes' }, ['everyone_can_mute: Input should be a valid boolean']],
  [
    'several problems at once',
    { can_publish_sources: ['hologram', 'camera', 'smell'], everyone_can_mute: 'yes', extra: 1 },
    [
      `can_publish_sources.0: ${SOURCE_CHOICES}`,
      `can_publish_sources.2: ${SOURCE_CHOICES}`,
      'everyone_can_mute: Input should be a valid boolean',
      'extra: Extra inputs are not permitted',
    ],
  ],
];

/** Configurations that are not objects: refused, the problem told under `configuration`. */
const NOT_OBJECTS: [string, unknown][] = [
  ['a string', 'camera'],
  ['an array', ['camera']],
  ['a number', 42],
  ['a boolean', true],
];

/** Configurations accepted, and what the room then shows. */
const GOOD_CONFIGURATIONS: [string, unknown, Record<string, unknown>][] = [
  ['full', { can_publish_sources: ALL_SOURCES, everyone_can_mute: false }, { can_publish_sources: ALL_SOURCES, everyone_can_mute: false }],
  ['partial: sources only', { can_publish_sources: ['camera', 'microphone'] }, { can_publish_sources: ['camera', 'microphone'] }],
  ['partial: mute only', { everyone_can_mute: true }, { everyone_can_mute: true }],
  ['nothing may be published', { can_publish_sources: [] }, { can_publish_sources: [] }],
  ['nulls', { can_publish_sources: null, everyone_can_mute: null }, { can_publish_sources: null, everyone_can_mute: null }],
  ['empty', {}, {}],
  ['null as a whole', null, {}],
];

/** Every field a client may not set, with values unlike anything the server generates. */
const READ_ONLY_FIELDS = {
  id: '00000000-0000-4000-8000-000000000001',
  slug: 'abc-defg-hij',
  name: 'Chosen name',
  pin_code: '0000000000',
  url: 'https://evil.example.com/abc-defg-hij',
  telephony: { enabled: false, pin_code: '1111111111', phone_number: '+1-555-0199', default_country: 'FR' },
  created_by_client_id: 'someone-else',
  owner: 'someone@example.com',
};

describe('room options with the EXTERNAL_API_* defaults (trusted, no public rooms)', () => {
  const server = useServer();

  describe('POST /rooms/', () => {
    it('no options: trusted, configuration {}, name equal to the slug, exactly the documented keys', async () => {
      const owner = await actor(server);
      for (const json of [undefined, {}]) {
        const room = await createRoom(server, owner.token, json);
        expect(Object.keys(room).sort()).toEqual(ROOM_KEYS);
        expect(room).toEqual({ id: room.id, name: room.slug, slug: room.slug, access_level: 'trusted', configuration: {}, attendees: [] });
        expect(room.slug).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
        expect(await storedOptions(server, room.id)).toEqual({ access_level: 'trusted', configuration: {}, attendees: [] });
        expect((await server.services.rooms.getRoom(room.id)).name).toBe(room.slug);
      }
    });

    it('access_level trusted and restricted are accepted', async () => {
      const owner = await actor(server);
      for (const level of ['trusted', 'restricted']) {
        await expectCreated(server, owner.token, { access_level: level }, { access_level: level, configuration: {} });
      }
    });

    it('access_level public is refused while public rooms are off; nothing is created', async () => {
      const owner = await actor(server);
      await expectCreateRefused(server, owner.token, { access_level: 'public' }, PUBLIC_DISABLED);
      await expectCreateRefused(server, owner.token, { access_level: 'public', configuration: { everyone_can_mute: true } }, PUBLIC_DISABLED);
    });

    it('an access_level that is not a choice: "<value>" is not a valid choice.', async () => {
      const owner = await actor(server);
      for (const [value, shown] of BAD_ACCESS_LEVELS) {
        await expectCreateRefused(server, owner.token, { access_level: value }, { access_level: [`"${shown}" is not a valid choice.`] });
      }
    });

    it.each(GOOD_CONFIGURATIONS)('configuration accepted: %s', async (_name, configuration, shown) => {
      const owner = await actor(server);
      await expectCreated(server, owner.token, { configuration }, { access_level: 'trusted', configuration: shown });
    });

    it('configuration and access_level together', async () => {
      const owner = await actor(server);
      await expectCreated(
        server,
        owner.token,
        { access_level: 'restricted', configuration: { can_publish_sources: ['screen_share'], everyone_can_mute: false } },
        { access_level: 'restricted', configuration: { can_publish_sources: ['screen_share'], everyone_can_mute: false } },
      );
    });

    it.each(BAD_CONFIGURATIONS)('configuration refused, one entry per problem: %s', async (_name, configuration, entries) => {
      const owner = await actor(server);
      await expectCreateRefused(server, owner.token, { configuration }, { configuration: entries });
    });

    it.each(NOT_OBJECTS)('configuration that is %s: refused under configuration, nothing created', async (_name, configuration) => {
      const owner = await actor(server);
      const refused = await expectCreateRefused(server, owner.token, { configuration }, undefined);
      expect(Object.keys(refused.json)).toEqual(['configuration']);
      expect(refused.json.configuration).toEqual([expect.any(String)]);
    });

    it('a bad access_level and a bad configuration are both named in one answer', async () => {
      const owner = await actor(server);
      await expectCreateRefused(
        server,
        owner.token,
        { access_level: 'secret', configuration: { hologram: true } },
        { access_level: ['"secret" is not a valid choice.'], configuration: ['hologram: Extra inputs are not permitted'] },
      );
    });

    it('attendees are not an option of create: ignored', async () => {
      const owner = await actor(server);
      await expectCreated(server, owner.token, { attendees: ['ada@example.com'] }, { access_level: 'trusted', configuration: {} });
    });
  });

  describe('PATCH /rooms/{id}/', () => {
    it('each field present replaces the stored one; those absent stay as they are', async () => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      expect(optionsOf(room)).toEqual({ access_level: 'restricted', configuration: { everyone_can_mute: true }, attendees: ['keep@example.com'] });

      // access_level alone
      let expected: RoomJson = { ...room, access_level: 'trusted' };
      await expectPatched(server, owner.token, room.id, { access_level: 'trusted' }, expected);
      // configuration alone: replaced as a whole, not merged
      expected = { ...expected, configuration: { can_publish_sources: ['camera'] } };
      await expectPatched(server, owner.token, room.id, { configuration: { can_publish_sources: ['camera'] } }, expected);
      // attendees alone
      expected = { ...expected, attendees: ['new@example.com'] };
      await expectPatched(server, owner.token, room.id, { attendees: ['new@example.com'] }, expected);
      // all three
      expected = { ...expected, access_level: 'restricted', configuration: { everyone_can_mute: false, can_publish_sources: null }, attendees: [] };
      await expectPatched(server, owner.token, room.id, { access_level: 'restricted', configuration: { everyone_can_mute: false, can_publish_sources: null }, attendees: [] }, expected);
      // configuration null reads as {}
      expected = { ...expected, configuration: {} };
      await expectPatched(server, owner.token, room.id, { configuration: null }, expected);
    });

    it('a body with none of the options (or only other fields) is 200 and changes nothing', async () => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      const before = await server.services.rooms.getRoom(room.id);
      for (const json of [{}, { name: 'Renamed', slug: 'abc-defg-hij', pin_code: '0000000000', id: READ_ONLY_FIELDS.id }]) {
        await expectPatched(server, owner.token, room.id, json, room);
        expect(await server.services.rooms.getRoom(room.id)).toEqual(before);
      }
    });

    it('each access level but public may be set; public is refused while public rooms are off', async () => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      for (const level of ['trusted', 'restricted']) {
        await expectPatched(server, owner.token, room.id, { access_level: level }, { ...room, access_level: level });
      }
      await expectPatchRefused(server, owner.token, room.id, { access_level: 'public' }, 400, PUBLIC_DISABLED);
      // The valid fields beside it are not written either.
      await expectPatchRefused(server, owner.token, room.id, { access_level: 'public', configuration: {}, attendees: [] }, 400, PUBLIC_DISABLED);
    });

    it('an access_level that is not a choice is refused in DRF\'s words, nothing written', async () => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      for (const [value, shown] of BAD_ACCESS_LEVELS) {
        await expectPatchRefused(server, owner.token, room.id, { access_level: value }, 400, { access_level: [`"${shown}" is not a valid choice.`] });
      }
    });

    it.each(GOOD_CONFIGURATIONS)('configuration accepted: %s', async (_name, configuration, shown) => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      await expectPatched(server, owner.token, room.id, { configuration }, { ...room, configuration: shown });
    });

    it.each(BAD_CONFIGURATIONS)('configuration refused with a valid attendee list beside it: %s; nothing written', async (_name, configuration, entries) => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      await expectPatchRefused(server, owner.token, room.id, { configuration, attendees: ['other@example.com'], access_level: 'trusted' }, 400, {
        configuration: entries,
      });
    });

    it.each(NOT_OBJECTS)('configuration that is %s: refused under configuration, nothing written', async (_name, configuration) => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      const refused = await expectPatchRefused(server, owner.token, room.id, { configuration, attendees: [] }, 400, undefined);
      expect(Object.keys(refused.json)).toEqual(['configuration']);
      expect(refused.json.configuration).toEqual([expect.any(String)]);
    });

    it('bad attendees, access_level and configuration at once: each named, nothing written', async () => {
      const owner = await actor(server);
      const room = await customizedRoom(server, owner);
      await expectPatchRefused(
        server,
        owner.token,
        room.id,
        { access_level: 'secret', configuration: { everyone_can_mute: 'yes' }, attendees: ['ok@example.com', 'not-an-email'] },
        400,
        {
          access_level: ['"secret" is not a valid choice.'],
          configuration: ['everyone_can_mute: Input should be a valid boolean'],
          attendees: { '1': ['Enter a valid email address.'] },
        },
      );
    });

    it('the owner and an administrator may change the options; a member or a stranger gets 403 and nothing is written', async () => {
      const owner = await actor(server);
      const [admin, member, stranger] = [await actor(server), await actor(server), await actor(server)];
      const room = await customizedRoom(server, owner);
      await server.services.rooms.grantRole(room.id, admin.userId, 'administrator');
      await server.services.rooms.grantRole(room.id, member.userId, 'member');

      const byOwner = { ...room, access_level: 'trusted', configuration: { everyone_can_mute: false } };
      await expectPatched(server, owner.token, room.id, { access_level: 'trusted', configuration: { everyone_can_mute: false } }, byOwner);
      const byAdmin = { ...byOwner, access_level: 'restricted', configuration: { can_publish_sources: ['microphone'] }, attendees: ['admin-set@example.com'] };
      await expectPatched(server, admin.token, room.id, optionsOf(byAdmin), byAdmin);

      for (const who of [member, stranger]) {
        await expectPatchRefused(server, who.token, room.id, { access_level: 'trusted', configuration: {}, attendees: [] }, 403, FORBIDDEN);
        // Permission is settled before the body is judged: an invalid body is 403 too.
        await expectPatchRefused(server, who.token, room.id, { configuration: { hologram: true } }, 403, FORBIDDEN);
      }
    });

    it('needs the rooms:update scope, even for the owner; nothing written', async () => {
      const owner = await actor(server, ['rooms:create', 'rooms:retrieve']);
      const room = await createRoom(server, owner.token, { access_level: 'restricted' });
      await expectPatchRefused(server, owner.token, room.id, { access_level: 'trusted' }, 403, { detail: 'Insufficient permissions. Required scope: rooms:update' });
    });
  });

  it('list, retrieve (by id and by slug) and the slug filter show each room\'s stored options', async () => {
    const owner = await actor(server);
    const rooms: RoomJson[] = [];
    for (const json of [
      { access_level: 'restricted', configuration: { can_publish_sources: ['camera'] } },
      {},
      { configuration: { everyone_can_mute: false, can_publish_sources: null } },
    ]) {
      rooms.push(await createRoom(server, owner.token, json));
    }
    const changed = await patch(server, owner.token, rooms[1]!.id, { access_level: 'restricted', configuration: { everyone_can_mute: true }, attendees: ['x@example.com'] });
    rooms[1] = changed.json as RoomJson;
    expect(optionsOf(rooms[1])).toEqual({ access_level: 'restricted', configuration: { everyone_can_mute: true }, attendees: ['x@example.com'] });

    const list = await call(server, 'GET', `${ROOMS}?page_size=100`, { token: owner.token });
    expect(list.json).toEqual({ count: 3, next: null, previous: null, results: [...rooms].reverse() });
    for (const room of rooms) {
      expect(await storedOptions(server, room.id)).toEqual(optionsOf(room));
      expect(await retrieved(server, owner.token, room.id)).toEqual(room);
      expect(await retrieved(server, owner.token, room.slug)).toEqual(room);
      expect((await call(server, 'GET', `${ROOMS}?slug=${room.slug}`, { token: owner.token })).json.results).toEqual([room]);
    }
  });
});

describe('room options with a base URL and telephony: read-only fields are ignored', () => {
  const server = useServer({ APPLICATION_BASE_URL: 'https://meet.example.org', ROOM_TELEPHONY_ENABLED: 'true', ROOM_TELEPHONY_PHONE_NUMBER: '+1-555-0100' });

  it('POST: id, slug, name, pin_code, url, telephony... are generated, not taken from the body', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token, { ...READ_ONLY_FIELDS, configuration: { everyone_can_mute: true } });
    const stored = await server.services.rooms.getRoom(room.id);
    expect(room).toEqual({
      id: stored.id,
      name: stored.slug,
      slug: stored.slug,
      access_level: 'trusted',
      configuration: { everyone_can_mute: true },
      attendees: [],
      url: `https://meet.example.org/${stored.slug}`,
      telephony: { enabled: true, pin_code: stored.pinCode, phone_number: '+1-555-0100', default_country: 'US' },
    });
    expect(room.id).not.toBe(READ_ONLY_FIELDS.id);
    expect(room.slug).not.toBe(READ_ONLY_FIELDS.slug);
    expect(stored.pinCode).not.toBe(READ_ONLY_FIELDS.pin_code);
    expect(stored.createdByClientId).not.toBe(READ_ONLY_FIELDS.created_by_client_id);
    expect((await server.services.rooms.getRoom(READ_ONLY_FIELDS.id).catch(() => undefined))).toBeUndefined();
  });

  it('PATCH: the same fields change nothing; the options beside them apply', async () => {
    const owner = await actor(server);
    const room = await createRoom(server, owner.token);
    const before = await server.services.rooms.getRoom(room.id);
    const answer = await patch(server, owner.token, room.id, { ...READ_ONLY_FIELDS, access_level: 'restricted' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ ...room, access_level: 'restricted' });
    expect(await server.services.rooms.getRoom(room.id)).toEqual({ ...before, accessLevel: 'restricted' });
  });
});

describe('room options with EXTERNAL_API_DEFAULT_ACCESS_LEVEL=restricted', () => {
  const server = useServer({ EXTERNAL_API_DEFAULT_ACCESS_LEVEL: 'restricted' });

  it('applies when access_level is absent, not when one is given', async () => {
    const owner = await actor(server);
    await expectCreated(server, owner.token, undefined, { access_level: 'restricted', configuration: {} });
    await expectCreated(server, owner.token, { configuration: { everyone_can_mute: true } }, { access_level: 'restricted', configuration: { everyone_can_mute: true } });
    await expectCreated(server, owner.token, { access_level: 'trusted' }, { access_level: 'trusted', configuration: {} });
  });

  it('public stays refused, on create and on PATCH; a PATCH without access_level keeps the stored one', async () => {
    const owner = await actor(server);
    await expectCreateRefused(server, owner.token, { access_level: 'public' }, PUBLIC_DISABLED);
    const room = await createRoom(server, owner.token, { access_level: 'trusted' });
    await expectPatchRefused(server, owner.token, room.id, { access_level: 'public' }, 400, PUBLIC_DISABLED);
    await expectPatched(server, owner.token, room.id, { configuration: { everyone_can_mute: false } }, { ...room, configuration: { everyone_can_mute: false } });
  });
});

describe('room options with EXTERNAL_API_ALLOW_PUBLIC_ACCESS=true', () => {
  const server = useServer({ EXTERNAL_API_ALLOW_PUBLIC_ACCESS: 'true' });

  it('public is accepted on create and on PATCH; the default stays trusted', async () => {
    const owner = await actor(server);
    await expectCreated(server, owner.token, {}, { access_level: 'trusted', configuration: {} });
    const room = await expectCreated(server, owner.token, { access_level: 'public' }, { access_level: 'public', configuration: {} });
    await expectPatched(server, owner.token, room.id, { access_level: 'restricted' }, { ...room, access_level: 'restricted' });
    await expectPatched(server, owner.token, room.id, { access_level: 'public' }, { ...room, access_level: 'public' });
  });
});

describe('room options with EXTERNAL_API_DEFAULT_ACCESS_LEVEL=public (public access not allowed otherwise)', () => {
  const server = useServer({ EXTERNAL_API_DEFAULT_ACCESS_LEVEL: 'public', EXTERNAL_API_ALLOW_PUBLIC_ACCESS: 'false' });

  it('absent means public, and an explicit public is accepted, on create and on PATCH', async () => {
    const owner = await actor(server);
    await expectCreated(server, owner.token, undefined, { access_level: 'public', configuration: {} });
    const room = await expectCreated(server, owner.token, { access_level: 'public' }, { access_level: 'public', configuration: {} });
    await expectPatched(server, owner.token, room.id, { access_level: 'trusted' }, { ...room, access_level: 'trusted' });
    await expectPatched(server, owner.token, room.id, { access_level: 'public' }, { ...room, access_level: 'public' });
  });
});
