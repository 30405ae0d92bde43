/**
 * The security suite of every protected route: bearer authentication on the rooms API
 * over a real port (docs/api.md, "Authentication on /rooms"). Every row of the check table
 * (1 to 12), the order between rows, immediate cut-off of applications and users, and the
 * scope checks that follow, each on every rooms operation: list, create, retrieve, update
 * and delete (ROUTES). Tokens are crafted with jose under the test key so that each one
 * differs from a valid token in exactly the way the case names.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import { KNOWN_SCOPES } from '../src/scopes.js';
import {
  API,
  TEST_JWT_KEY,
  call,
  createClient,
  getToken,
  useServer,
  type CallResult,
  type Client,
  type TestServer,
} from './helpers.js';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Every scope: the subject's application may do everything, so each case fails only where it says. */
const ALL_SCOPES = [...KNOWN_SCOPES];
const KEY = new TextEncoder().encode(TEST_JWT_KEY);
const ISSUER = 'lasuite-meet';

const NOT_PROVIDED = 'Authentication credentials were not provided.';
const BAD_HEADER = 'Invalid token header.';
const INVALID = 'Invalid token.';
const EXPIRED = 'Token expired.';
const BAD_CLAIMS = 'Invalid token claims.';
const NO_APP = 'Application not found.';
const APP_DISABLED = 'Application is disabled.';
const BAD_TYPE = 'Invalid token type.';
const NO_USER = 'User not found.';
const USER_DISABLED = 'User account is disabled.';

const now = () => Math.floor(Date.now() / 1000);

type Claims = Record<string, unknown>;

/** A JWT over these exact claims (nothing added), signed with the test key unless told. */
async function sign(claims: Claims, options: { alg?: string; key?: Parameters<SignJWT['sign']>[0] } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).sign(options.key ?? KEY);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token, built by hand: header {"alg":"none"}, the payload, an empty signature. */
function unsigned(claims: Claims, header: Claims = { alg: 'none', typ: 'JWT' }): string {
  return `${b64url(header)}.${b64url(claims)}.`;
}

/** A token whose header and payload text are taken as given, HMAC-SHA256-signed with the test key by hand. */
function handSigned(header: Claims, payloadText: string): string {
  const input = `${b64url(header)}.${Buffer.from(payloadText).toString('base64url')}`;
  return `${input}.${createHmac('sha256', TEST_JWT_KEY).update(input).digest('base64url')}`;
}

/** Context shared by the cases: a valid subject and the tokens prepared for the cases that need state. */
interface Context {
  server: TestServer;
  clientId: string;
  userId: string;
  roomId: string;
  disabledAppToken: string;
  disabledUserToken: string;
  disabledUserClientId: string;
  disabledUserId: string;
}

/** The claims of a valid token for the context's subject, with overrides; an override of undefined removes the claim. */
function claims(ctx: Context, overrides: Claims = {}): Claims {
  const base: Claims = {
    iss: ISSUER,
    iat: now(),
    exp: now() + 600,
    user_id: ctx.userId,
    client_id: ctx.clientId,
    delegated: true,
    scope: ALL_SCOPES.join(' '),
    ...overrides,
  };
  for (const [name, value] of Object.entries(base)) if (value === undefined) delete base[name];
  return base;
}

const bearer = (token: string) => `Bearer ${token}`;

interface Route {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: (roomId: string) => string;
  scope: string;
  success: number;
  /** The body a served request sends. */
  json?: unknown;
  /** A served request uses its room up (DELETE): each one gets a fresh room, created by the context's application. */
  consumesRoom?: boolean;
}

/** Every protected route, with what a served request sends and answers. */
const ROUTES: Route[] = [
  { name: 'GET /rooms/', method: 'GET', path: () => `${API}/rooms/`, scope: 'rooms:list', success: 200 },
  { name: 'GET /rooms/{id}/', method: 'GET', path: (roomId) => `${API}/rooms/${roomId}/`, scope: 'rooms:retrieve', success: 200 },
  { name: 'POST /rooms/', method: 'POST', path: () => `${API}/rooms/`, scope: 'rooms:create', success: 201 },
  { name: 'PATCH /rooms/{id}/', method: 'PATCH', path: (roomId) => `${API}/rooms/${roomId}/`, scope: 'rooms:update', success: 200, json: { attendees: ['guest@example.com'] } },
  { name: 'DELETE /rooms/{id}/', method: 'DELETE', path: (roomId) => `${API}/rooms/${roomId}/`, scope: 'rooms:delete', success: 204, consumesRoom: true },
];

function request(ctx: Context, route: Route, authorization: string | undefined, roomId = ctx.roomId): Promise<CallResult> {
  return call(ctx.server, route.method, route.path(roomId), {
    headers: authorization === undefined ? {} : { authorization },
    ...(route.json === undefined ? {} : { json: route.json }),
  });
}

/**
 * A request the route must serve: on a fresh room when it uses its room up, and leaving
 * no room behind when it creates one (the suite counts rooms). `clientId` is the
 * application the token speaks for (it must have created a room it deletes).
 */
async function expectServed(ctx: Context, route: Route, authorization: string, clientId = ctx.clientId): Promise<void> {
  const roomId = route.consumesRoom ? (await ctx.server.services.rooms.createRoom({ ownerId: ctx.userId, clientId })).id : ctx.roomId;
  const result = await request(ctx, route, authorization, roomId);
  expect(result.status, result.text).toBe(route.success);
  if (route.method === 'POST') await ctx.server.services.rooms.deleteRoom(result.json.id);
}

function expect401(result: CallResult, detail: string): void {
  expect({ status: result.status, body: result.json }).toEqual({ status: 401, body: { detail } });
  expect(result.headers.get('content-type')).toBe(JSON_TYPE);
  expect(result.headers.get('www-authenticate') ?? '').toMatch(/^Bearer/);
}

function expect403(result: CallResult, detail: string): void {
  expect({ status: result.status, body: result.json }).toEqual({ status: 403, body: { detail } });
  expect(result.headers.get('content-type')).toBe(JSON_TYPE);
}

async function roomCount(server: TestServer): Promise<number> {
  return (await server.services.rooms.listAllRooms()).length;
}

/** Prepares a server with a valid subject, a room, and tokens whose application or user was switched off after issue. */
async function prepare(server: TestServer): Promise<Context> {
  const email = 'subject@example.com';
  const user = await server.services.users.createUser({ email });
  const client = await createClient(server, { scopes: ALL_SCOPES });
  const token = await getToken(server, client, email);
  const created = await call(server, 'POST', `${API}/rooms/`, { token });
  expect(created.status).toBe(201);

  // An application switched off after its token was issued: served before, refused after.
  const disabledApp = await createClient(server, { scopes: ALL_SCOPES });
  const disabledAppToken = await getToken(server, disabledApp, email);
  expect((await call(server, 'GET', `${API}/rooms/`, { token: disabledAppToken })).status).toBe(200);
  await server.services.applications.updateApplication(disabledApp.clientId, { isActive: false });

  // A user switched off after a token was issued for them.
  const disabledEmail = 'disabled@example.com';
  const disabledUser = await server.services.users.createUser({ email: disabledEmail });
  const disabledUserClient = await createClient(server, { scopes: ALL_SCOPES });
  const disabledUserToken = await getToken(server, disabledUserClient, disabledEmail);
  expect((await call(server, 'GET', `${API}/rooms/`, { token: disabledUserToken })).status).toBe(200);
  await server.services.users.setUserActive(disabledEmail, false);

  return {
    server,
    clientId: client.clientId,
    userId: user.id,
    roomId: created.json.id as string,
    disabledAppToken,
    disabledUserToken,
    disabledUserClientId: disabledUserClient.clientId,
    disabledUserId: disabledUser.id,
  };
}

interface Case {
  row: number;
  name: string;
  detail: string;
  authorization: (ctx: Context) => Promise<string | undefined> | string | undefined;
}

/** Every row of the bearer check table (docs/api.md), in order, several ways each. */
const CASES: Case[] = [
  { row: 1, name: 'no Authorization header', detail: NOT_PROVIDED, authorization: () => undefined },
  { row: 1, name: 'an empty Authorization header', detail: NOT_PROVIDED, authorization: () => '' },
  { row: 1, name: 'the Basic scheme', detail: NOT_PROVIDED, authorization: () => `Basic ${Buffer.from('user:pass').toString('base64')}` },
  { row: 1, name: 'the Token scheme with a valid JWT', detail: NOT_PROVIDED, authorization: async (ctx) => `Token ${await sign(claims(ctx))}` },
  { row: 1, name: 'a bare JWT without a scheme', detail: NOT_PROVIDED, authorization: async (ctx) => sign(claims(ctx)) },

  { row: 2, name: '"Bearer" alone', detail: BAD_HEADER, authorization: () => 'Bearer' },
  { row: 2, name: '"Bearer a b"', detail: BAD_HEADER, authorization: () => 'Bearer a b' },
  { row: 2, name: 'a valid JWT followed by an extra part', detail: BAD_HEADER, authorization: async (ctx) => `Bearer ${await sign(claims(ctx))} extra` },

  { row: 3, name: 'garbage', detail: INVALID, authorization: () => bearer('garbage') },
  { row: 3, name: 'three dots of nothing', detail: INVALID, authorization: () => bearer('a.b.c') },
  { row: 3, name: 'a bad signature (another key)', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx), { key: new TextEncoder().encode(`${TEST_JWT_KEY}-other`) })) },
  {
    row: 3,
    name: 'a tampered payload (signature of other claims)',
    detail: INVALID,
    authorization: async (ctx) => {
      const [header, , signature] = (await sign(claims(ctx))).split('.');
      return bearer(`${header}.${b64url(claims(ctx, { scope: 'rooms:list rooms:retrieve rooms:create rooms:delete' }))}.${signature}`);
    },
  },
  {
    row: 3,
    name: 'a truncated signature',
    detail: INVALID,
    authorization: async (ctx) => bearer((await sign(claims(ctx))).slice(0, -4)),
  },
  { row: 3, name: 'alg none, built by hand', detail: INVALID, authorization: (ctx) => bearer(unsigned(claims(ctx))) },
  { row: 3, name: 'alg "None", built by hand', detail: INVALID, authorization: (ctx) => bearer(unsigned(claims(ctx), { alg: 'None' })) },
  { row: 3, name: 'HS512 with the right key while HS256 is configured', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx), { alg: 'HS512' })) },
  { row: 3, name: 'HS384 with the right key while HS256 is configured', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx), { alg: 'HS384' })) },
  {
    row: 3,
    name: 'RS256 with some RSA key',
    detail: INVALID,
    authorization: async (ctx) => {
      const { privateKey } = await generateKeyPair('RS256');
      return bearer(await sign(claims(ctx), { alg: 'RS256', key: privateKey }));
    },
  },
  { row: 3, name: 'no exp', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { exp: undefined }))) },
  { row: 3, name: 'exp not a number', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { exp: 'tomorrow' }))) },
  { row: 3, name: 'not valid before an hour from now (nbf)', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { nbf: now() + 3600 }))) },
  { row: 3, name: 'a well-signed payload that is a JSON list', detail: INVALID, authorization: () => bearer(handSigned({ alg: 'HS256', typ: 'JWT' }, '[1,2]')) },
  { row: 3, name: 'a well-signed payload that is not JSON', detail: INVALID, authorization: () => bearer(handSigned({ alg: 'HS256', typ: 'JWT' }, 'exp=9999999999')) },
  {
    row: 3,
    name: 'a well-signed token with an unknown critical header',
    detail: INVALID,
    authorization: (ctx) => bearer(handSigned({ alg: 'HS256', typ: 'JWT', crit: ['x-meet'], 'x-meet': 1 }, JSON.stringify(claims(ctx)))),
  },

  { row: 4, name: 'expired a second ago (no leeway)', detail: EXPIRED, authorization: async (ctx) => bearer(await sign(claims(ctx, { iat: now() - 3600, exp: now() - 1 }))) },
  { row: 4, name: 'expired an hour ago', detail: EXPIRED, authorization: async (ctx) => bearer(await sign(claims(ctx, { iat: now() - 7200, exp: now() - 3600 }))) },

  { row: 5, name: 'a wrong iss', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { iss: 'someone-else' }))) },
  { row: 5, name: 'iss in another case', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { iss: ISSUER.toUpperCase() }))) },
  { row: 5, name: 'no iss', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { iss: undefined }))) },

  { row: 6, name: 'no client_id', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { client_id: undefined }))) },

  { row: 7, name: 'the client_id of no application', detail: NO_APP, authorization: async (ctx) => bearer(await sign(claims(ctx, { client_id: 'no-such-application' }))) },
  {
    row: 7,
    name: 'the client_id in another case',
    detail: NO_APP,
    authorization: async (ctx) => {
      const other = ctx.clientId.toUpperCase() === ctx.clientId ? ctx.clientId.toLowerCase() : ctx.clientId.toUpperCase();
      return bearer(await sign(claims(ctx, { client_id: other })));
    },
  },

  { row: 8, name: 'an application deactivated after the token was issued', detail: APP_DISABLED, authorization: (ctx) => bearer(ctx.disabledAppToken) },

  { row: 9, name: 'no delegated claim', detail: BAD_TYPE, authorization: async (ctx) => bearer(await sign(claims(ctx, { delegated: undefined }))) },
  { row: 9, name: 'delegated false', detail: BAD_TYPE, authorization: async (ctx) => bearer(await sign(claims(ctx, { delegated: false }))) },
  { row: 9, name: 'delegated "true" (a string)', detail: BAD_TYPE, authorization: async (ctx) => bearer(await sign(claims(ctx, { delegated: 'true' }))) },
  { row: 9, name: 'delegated 1', detail: BAD_TYPE, authorization: async (ctx) => bearer(await sign(claims(ctx, { delegated: 1 }))) },

  { row: 10, name: 'no user_id', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: undefined }))) },
  { row: 10, name: 'a user_id that is not a UUID', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: 'not-a-uuid' }))) },
  { row: 10, name: 'a numeric user_id', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: 42 }))) },
  { row: 10, name: 'an email as user_id', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: 'subject@example.com' }))) },

  { row: 11, name: 'the user_id of no user', detail: NO_USER, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: randomUUID() }))) },

  { row: 12, name: 'a user deactivated after the token was issued', detail: USER_DISABLED, authorization: (ctx) => bearer(ctx.disabledUserToken) },
  {
    row: 12,
    name: 'a hand-signed token for the deactivated user',
    detail: USER_DISABLED,
    authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: ctx.disabledUserId }))),
  },
];

/** Tokens failing several checks: the first failing row answers. */
const ORDER_CASES: Case[] = [
  { row: 3, name: 'expired AND badly signed: the signature first', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { exp: now() - 60 }), { key: new TextEncoder().encode('another-key-of-enough-length-0123456789') })) },
  { row: 3, name: 'alg none AND expired', detail: INVALID, authorization: (ctx) => bearer(unsigned(claims(ctx, { exp: now() - 60 }))) },
  { row: 4, name: 'expired AND a wrong iss: "Token expired."', detail: EXPIRED, authorization: async (ctx) => bearer(await sign(claims(ctx, { exp: now() - 60, iss: 'someone-else' }))) },
  { row: 4, name: 'expired AND no client_id AND not delegated', detail: EXPIRED, authorization: async (ctx) => bearer(await sign(claims(ctx, { exp: now() - 60, client_id: undefined, delegated: false }))) },
  { row: 5, name: 'a wrong iss AND no client_id', detail: INVALID, authorization: async (ctx) => bearer(await sign(claims(ctx, { iss: 'x', client_id: undefined }))) },
  { row: 6, name: 'no client_id AND not delegated AND no user_id', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { client_id: undefined, delegated: false, user_id: undefined }))) },
  { row: 7, name: 'an unknown client AND not delegated: "Application not found."', detail: NO_APP, authorization: async (ctx) => bearer(await sign(claims(ctx, { client_id: 'no-such-application', delegated: false }))) },
  { row: 7, name: 'an unknown client AND an unknown user AND no scope', detail: NO_APP, authorization: async (ctx) => bearer(await sign(claims(ctx, { client_id: 'no-such-application', user_id: randomUUID(), scope: undefined }))) },
  {
    row: 8,
    name: 'a disabled application AND not delegated AND an unknown user',
    detail: APP_DISABLED,
    authorization: async (ctx) => {
      const disabledClientId = decodeJwt(ctx.disabledAppToken).client_id;
      return bearer(await sign(claims(ctx, { client_id: disabledClientId, delegated: false, user_id: randomUUID() })));
    },
  },
  {
    row: 8,
    name: 'a disabled application AND a disabled user',
    detail: APP_DISABLED,
    authorization: async (ctx) => bearer(await sign(claims(ctx, { client_id: decodeJwt(ctx.disabledAppToken).client_id, user_id: ctx.disabledUserId }))),
  },
  { row: 9, name: 'not delegated AND no user_id', detail: BAD_TYPE, authorization: async (ctx) => bearer(await sign(claims(ctx, { delegated: false, user_id: undefined }))) },
  { row: 9, name: 'not delegated AND a disabled user', detail: BAD_TYPE, authorization: async (ctx) => bearer(await sign(claims(ctx, { delegated: false, user_id: ctx.disabledUserId }))) },
  { row: 10, name: 'a user_id not a UUID AND no scope', detail: BAD_CLAIMS, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: 'nope', scope: undefined }))) },
  { row: 11, name: 'an unknown user AND no scope (401 before 403)', detail: NO_USER, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: randomUUID(), scope: undefined }))) },
  { row: 12, name: 'a disabled user AND no scope (401 before 403)', detail: USER_DISABLED, authorization: async (ctx) => bearer(await sign(claims(ctx, { user_id: ctx.disabledUserId, scope: 'rooms:delete' }))) },
];

describe('bearer authentication: every row of the check table on every rooms route', () => {
  const server = useServer();
  let ctx: Context;
  let roomsBefore: number;
  beforeAll(async () => {
    ctx = await prepare(server);
    roomsBefore = await roomCount(server);
  });

  for (const route of ROUTES) {
    describe(route.name, () => {
      it(`a hand-signed token with the valid claims is served (${route.success}): the crafted tokens differ only where the case says`, async () => {
        await expectServed(ctx, route, bearer(await sign(claims(ctx))));
      });

      it('a token signed by hand (no typ header) with the valid claims is served: the hand-signed cases fail only where they say', async () => {
        await expectServed(ctx, route, bearer(handSigned({ alg: 'HS256' }, JSON.stringify(claims(ctx)))));
      });

      it('the scheme name is case-insensitive ("bearer")', async () => {
        await expectServed(ctx, route, `bearer ${await sign(claims(ctx))}`);
      });

      for (const testCase of CASES) {
        it(`row ${testCase.row}: ${testCase.name} -> 401 "${testCase.detail}"`, async () => {
          expect401(await request(ctx, route, await testCase.authorization(ctx)), testCase.detail);
        });
      }

      for (const testCase of ORDER_CASES) {
        it(`order: ${testCase.name} -> 401 "${testCase.detail}" (row ${testCase.row})`, async () => {
          expect401(await request(ctx, route, await testCase.authorization(ctx)), testCase.detail);
        });
      }
    });
  }

  it('POST /rooms/ authenticates before reading the body: broken JSON without a token is a 401', async () => {
    const result = await call(ctx.server, 'POST', `${API}/rooms/`, { body: '{"broken": ', headers: { 'content-type': 'application/json' } });
    expect401(result, NOT_PROVIDED);
    const typed = await call(ctx.server, 'POST', `${API}/rooms/`, { body: 'hello', headers: { 'content-type': 'text/plain', authorization: 'Bearer garbage' } });
    expect401(typed, INVALID);
  });

  it('no refused request created a room', async () => {
    expect(await roomCount(ctx.server)).toBe(roomsBefore);
  });
});

describe('bearer authentication with APPLICATION_JWT_AUDIENCE set', () => {
  const server = useServer({ APPLICATION_JWT_AUDIENCE: 'meet' });
  let ctx: Context;
  beforeAll(async () => {
    ctx = await prepare(server);
  });

  const cases: Case[] = [
    { row: 5, name: 'no aud', detail: INVALID, authorization: async (c) => bearer(await sign(claims(c))) },
    { row: 5, name: 'a wrong aud', detail: INVALID, authorization: async (c) => bearer(await sign(claims(c, { aud: 'other' }))) },
    { row: 5, name: 'aud in another case', detail: INVALID, authorization: async (c) => bearer(await sign(claims(c, { aud: 'MEET' }))) },
    { row: 5, name: 'an aud list without the configured one', detail: INVALID, authorization: async (c) => bearer(await sign(claims(c, { aud: ['other', 'meeting'] }))) },
    { row: 4, name: 'expired AND a wrong aud: "Token expired."', detail: EXPIRED, authorization: async (c) => bearer(await sign(claims(c, { aud: 'other', exp: now() - 60 }))) },
    { row: 5, name: 'a wrong aud AND no client_id', detail: INVALID, authorization: async (c) => bearer(await sign(claims(c, { aud: 'other', client_id: undefined }))) },
    { row: 7, name: 'the right aud AND an unknown client', detail: NO_APP, authorization: async (c) => bearer(await sign(claims(c, { aud: 'meet', client_id: 'nobody' }))) },
  ];

  for (const route of ROUTES) {
    describe(route.name, () => {
      it('a token issued by the token endpoint (aud "meet") is served', async () => {
        const client = await createClient(ctx.server, { scopes: ALL_SCOPES });
        const token = await getToken(ctx.server, client, 'subject@example.com');
        expect(decodeJwt(token).aud).toBe('meet');
        await expectServed(ctx, route, bearer(token), client.clientId);
      });

      it('a hand-signed token with aud "meet" is served', async () => {
        await expectServed(ctx, route, bearer(await sign(claims(ctx, { aud: 'meet' }))));
      });

      it('a hand-signed token with an aud list containing "meet" is served', async () => {
        await expectServed(ctx, route, bearer(await sign(claims(ctx, { aud: ['other', 'meet'] }))));
      });

      for (const testCase of cases) {
        it(`${testCase.name} -> 401 "${testCase.detail}"`, async () => {
          expect401(await request(ctx, route, await testCase.authorization(ctx)), testCase.detail);
        });
      }
    });
  }
});

describe('bearer authentication: deactivation cuts tokens off at once, reactivation restores them', () => {
  const server = useServer();

  for (const route of ROUTES) {
    it(`${route.name}: application off, on; user off, on`, async () => {
      const email = `toggle-${randomUUID().slice(0, 8)}@example.com`;
      const user = await server.services.users.createUser({ email });
      const client = await createClient(server, { scopes: ALL_SCOPES });
      const token = await getToken(server, client, email);
      const created = await call(server, 'POST', `${API}/rooms/`, { token });
      expect(created.status).toBe(201);
      const ctx = { server, roomId: created.json.id, userId: user.id, clientId: client.clientId } as Context;

      await expectServed(ctx, route, bearer(token));
      await server.services.applications.updateApplication(client.clientId, { isActive: false });
      expect401(await request(ctx, route, bearer(token)), APP_DISABLED);
      await server.services.applications.updateApplication(client.clientId, { isActive: true });
      await expectServed(ctx, route, bearer(token));

      await server.services.users.setUserActive(email, false);
      expect401(await request(ctx, route, bearer(token)), USER_DISABLED);
      await server.services.users.setUserActive(email, true);
      await expectServed(ctx, route, bearer(token));
    });
  }

  it('a deleted application is "Application not found." for its tokens', async () => {
    const email = 'deleted-app@example.com';
    await server.services.users.createUser({ email });
    const client = await createClient(server);
    const token = await getToken(server, client, email);
    expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
    await server.services.applications.deleteApplication(client.clientId);
    expect401(await call(server, 'GET', `${API}/rooms/`, { token }), NO_APP);
  });
});

describe('bearer authentication: scopes', () => {
  const server = useServer();
  let ctx: Context;
  const email = 'subject@example.com';
  beforeAll(async () => {
    ctx = await prepare(server);
  });

  /** A real token from an application holding these scopes, for the context's user. */
  async function issued(scopes: string[]): Promise<{ client: Client; token: string }> {
    const client = await createClient(ctx.server, { scopes });
    return { client, token: await getToken(ctx.server, client, email) };
  }

  for (const route of ROUTES) {
    describe(route.name, () => {
      it(`a token without ${route.scope} answers 403 naming it`, async () => {
        const { token } = await issued(ALL_SCOPES.filter((s) => s !== route.scope));
        expect403(await request(ctx, route, bearer(token)), `Insufficient permissions. Required scope: ${route.scope}`);
      });

      it(`a token holding only ${route.scope} is served`, async () => {
        const { client, token } = await issued([route.scope]);
        await expectServed(ctx, route, bearer(token), client.clientId);
      });

      it('a token from an application with no scopes (no scope claim) answers 403 "Insufficient permissions."', async () => {
        const { token } = await issued([]);
        expect(decodeJwt(token).scope).toBeUndefined();
        expect403(await request(ctx, route, bearer(token)), 'Insufficient permissions.');
      });

      it('a hand-signed token with no scope claim answers 403 "Insufficient permissions."', async () => {
        expect403(await request(ctx, route, bearer(await sign(claims(ctx, { scope: undefined })))), 'Insufficient permissions.');
      });

      it('a hand-signed token with an empty scope answers 403 "Insufficient permissions."', async () => {
        expect403(await request(ctx, route, bearer(await sign(claims(ctx, { scope: '' })))), 'Insufficient permissions.');
      });

      it(`scopes are compared case-insensitively ("${route.scope.toUpperCase()}" is served)`, async () => {
        const { client } = await issued([route.scope]);
        const token = await sign(claims(ctx, { client_id: client.clientId, scope: route.scope.toUpperCase() }));
        await expectServed(ctx, route, bearer(token), client.clientId);
      });

      it(`a scope removed from the application after issue is refused at once`, async () => {
        const { client, token } = await issued(ALL_SCOPES);
        expect(decodeJwt(token).scope).toBe(ALL_SCOPES.join(' '));
        await expectServed(ctx, route, bearer(token), client.clientId);
        await ctx.server.services.applications.updateApplication(client.clientId, { scopes: ALL_SCOPES.filter((s) => s !== route.scope) });
        expect403(await request(ctx, route, bearer(token)), `Insufficient permissions. Required scope: ${route.scope}`);
      });

      it('every scope removed from the application after issue: still refused, naming the scope', async () => {
        const { client, token } = await issued(ALL_SCOPES);
        await ctx.server.services.applications.updateApplication(client.clientId, { scopes: [] });
        expect403(await request(ctx, route, bearer(token)), `Insufficient permissions. Required scope: ${route.scope}`);
      });

      it(`a token claiming ${route.scope} for an application that never held it is refused`, async () => {
        const { client } = await issued(ALL_SCOPES.filter((s) => s !== route.scope));
        const token = await sign(claims(ctx, { client_id: client.clientId, scope: ALL_SCOPES.join(' ') }));
        expect403(await request(ctx, route, bearer(token)), `Insufficient permissions. Required scope: ${route.scope}`);
      });

      it('a scope that only contains the needed one as a substring is refused', async () => {
        const token = await sign(claims(ctx, { scope: `${route.scope}s x${route.scope} ${route.scope.replace(':', '')}` }));
        expect403(await request(ctx, route, bearer(token)), `Insufficient permissions. Required scope: ${route.scope}`);
      });
    });
  }
});
