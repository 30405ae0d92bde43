/**
 * The resource-server mode through the real server: a user's own access token from a real
 * authorization server (oidc-provider, test/support/oidc-provider.ts) on every rooms
 * operation, each row of the failure table (docs/resource-server.md), users by sub,
 * application tokens beside it, and APPLICATION_ENABLED=false. Runs on both stores.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { KNOWN_SCOPES } from '../src/scopes.js';
import { API, TEST_JWT_KEY, call, createClient, getToken, useServer, type CallResult, type TestServer } from './helpers.js';
import { resourceServerEnv, useAuthorizationServer, type TestAuthorizationServer } from './support/oidc-provider.js';

const ROOMS = `${API}/rooms/`;
const LOGIN_FAILED = { detail: 'Login failed' };
const UNAVAILABLE = { detail: 'Service temporarily unavailable.' };
/** What the identity provider grants a service for Meet: the required scope, then Meet's operations under its prefix. */
const meetScopes = (...operations: string[]) => ['openid', 'lasuite_meet', ...operations.map((operation) => `lasuite_meet:${operation}`)];
const EVERY_OPERATION = meetScopes(...KNOWN_SCOPES);

function expectRefused(answer: CallResult, status: number, body: unknown): void {
  expect({ status: answer.status, body: answer.json }).toEqual({ status, body });
  if (status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"');
  if (status === 503) expect(answer.headers.get('retry-after')).toBe('5');
}

/** A fresh user's token: a sub the server has never seen. */
async function freshUserToken(as: TestAuthorizationServer, scopes = EVERY_OPERATION, clientId?: string) {
  const sub = `sub-${randomUUID()}`;
  return { sub, token: await as.mintAccessToken({ sub, scopes, ...(clientId ? { clientId } : {}) }) };
}

function introspectionsDuring(as: TestAuthorizationServer) {
  const before = as.introspectionRequests;
  return () => as.introspectionRequests - before;
}

describe('resource-server mode, JSON introspection answers', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => ({ ...resourceServerEnv(as, as.jsonClient, { OIDC_RS_CACHE_SECONDS: '0', OIDC_TIMEOUT: '1' }), LOG_LEVEL: 'debug' }));

  it('a user token lists, creates, retrieves, updates and deletes rooms; the user appears on first sight with its sub and no email', async () => {
    const { sub, token } = await freshUserToken(as);
    const listed = await call(server, 'GET', ROOMS, { token });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json).toMatchObject({ count: 0, results: [] });
    const user = await server.services.users.getUser({ sub });
    expect(user).toMatchObject({ sub, email: null, isActive: true });

    const created = await call(server, 'POST', ROOMS, { token, json: { access_level: 'restricted' } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.access_level).toBe('restricted');
    // The calling service, named by the audience claim, is recorded as the room's creator.
    expect((await server.services.rooms.getRoom(created.json.id)).createdByClientId).toBe(as.callingService.clientId);
    const room = `${ROOMS}${created.json.id}/`;
    expect((await call(server, 'GET', room, { token })).json).toEqual(created.json);
    expect((await call(server, 'PATCH', room, { token, json: { attendees: ['ada@example.com'] } })).json.attendees).toEqual(['ada@example.com']);
    expect((await call(server, 'GET', ROOMS, { token })).json.count).toBe(1);
    expect((await call(server, 'DELETE', room, { token })).status).toBe(204);
  });

  it('DELETE works for the service that created the room only', async () => {
    const sub = `sub-${randomUUID()}`;
    const viaDocs = await as.mintAccessToken({ sub, scopes: EVERY_OPERATION });
    const viaOther = await as.mintAccessToken({ sub, scopes: EVERY_OPERATION, clientId: as.signedJwtClient.clientId });
    const created = await call(server, 'POST', ROOMS, { token: viaDocs });
    const room = `${ROOMS}${created.json.id}/`;
    expectRefused(await call(server, 'DELETE', room, { token: viaOther }), 403, { detail: 'This room was not created by this application.' });
    expect((await call(server, 'DELETE', room, { token: viaDocs })).status).toBe(204);
  });

  it('scopes: each operation needs its own, read without the prefix; one missing is a 403 naming it', async () => {
    const { token } = await freshUserToken(as, meetScopes('rooms:list'));
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    expectRefused(await call(server, 'POST', ROOMS, { token }), 403, { detail: 'Insufficient permissions. Required scope: rooms:create' });
    // Scopes are compared case-insensitively, as for application tokens.
    const shouting = await freshUserToken(as, ['lasuite_meet', 'lasuite_meet:ROOMS:CREATE']);
    expect((await call(server, 'POST', ROOMS, { token: shouting.token })).status).toBe(201);
  });

  it('a token sent base64-encoded is decoded first', async () => {
    const { token } = await freshUserToken(as);
    const wrapped = Buffer.from(token, 'utf8').toString('base64');
    expect(wrapped).not.toBe(token);
    expect((await call(server, 'GET', ROOMS, { token: wrapped })).status).toBe(200);
  });

  it('refusals: inactive (revoked, expired, unknown), no required scope, no sub: 401 Login failed', async () => {
    const revoked = await freshUserToken(as);
    expect((await call(server, 'GET', ROOMS, { token: revoked.token })).status).toBe(200);
    await as.revoke(revoked.token);
    expectRefused(await call(server, 'GET', ROOMS, { token: revoked.token }), 401, LOGIN_FAILED);

    const expiring = await as.mintAccessToken({ sub: `sub-${randomUUID()}`, scopes: EVERY_OPERATION, ttlSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expectRefused(await call(server, 'GET', ROOMS, { token: expiring }), 401, LOGIN_FAILED);

    expectRefused(await call(server, 'GET', ROOMS, { token: 'an-opaque-token-nobody-issued' }), 401, LOGIN_FAILED);
    const withoutMeet = await freshUserToken(as, ['openid', 'profile']);
    expectRefused(await call(server, 'GET', ROOMS, { token: withoutMeet.token }), 401, LOGIN_FAILED);
    const serviceToken = await as.mintServiceToken({ scopes: EVERY_OPERATION });
    expectRefused(await call(server, 'GET', ROOMS, { token: serviceToken }), 401, LOGIN_FAILED);
  });

  it('an inactive user is refused with "User account is disabled."', async () => {
    const { sub, token } = await freshUserToken(as);
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    await server.services.users.updateUser({ sub }, { isActive: false });
    expectRefused(await call(server, 'GET', ROOMS, { token }), 401, { detail: 'User account is disabled.' });
  });

  it('20 parallel first requests with one new sub make one user', async () => {
    const { sub, token } = await freshUserToken(as);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(server, 'GET', ROOMS, { token })));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect((await server.services.users.listUsers()).filter((u) => u.sub === sub)).toHaveLength(1);
  });

  it('application tokens keep working beside it, and ours never reach the authorization server', async () => {
    const email = `app-user-${randomUUID().slice(0, 8)}@example.com`;
    await server.services.users.createUser({ email });
    const client = await createClient(server, { scopes: [...KNOWN_SCOPES] });
    const appToken = await getToken(server, client, email);
    const expiredOfOurs = await new SignJWT({ client_id: client.clientId, user_id: randomUUID(), delegated: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('lasuite-meet')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(TEST_JWT_KEY));
    const introspections = introspectionsDuring(as);
    expect((await call(server, 'GET', ROOMS, { token: appToken })).status).toBe(200);
    expect((await call(server, 'POST', ROOMS, { token: appToken })).status).toBe(201);
    expectRefused(await call(server, 'GET', ROOMS, { token: expiredOfOurs }), 401, { detail: 'Token expired.' });
    expect(introspections()).toBe(0);
    // A token that is not ours is the authorization server's to judge.
    expectRefused(await call(server, 'GET', ROOMS, { token: 'not-ours' }), 401, LOGIN_FAILED);
    expect(introspections()).toBe(1);
  });

  it('the authorization server unreachable, or slower than OIDC_TIMEOUT: 503 at once, never hanging; then back to normal', async () => {
    const { token } = await freshUserToken(as);
    try {
      await as.makeUnreachable();
      let started = Date.now();
      expectRefused(await call(server, 'GET', ROOMS, { token }), 503, UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(1500);
      await as.restore();
      as.makeSlow(3000);
      started = Date.now();
      expectRefused(await call(server, 'GET', ROOMS, { token }), 503, UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await as.restore();
    }
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
  });

  it('logs say why, and never hold a token or the client secret', async () => {
    const { token } = await freshUserToken(as);
    await call(server, 'GET', ROOMS, { token });
    await call(server, 'GET', ROOMS, { token: `${token}-tampered` });
    const text = server.logs.raw.join('\n');
    expect(text).not.toContain(token);
    expect(text).not.toContain(as.jsonClient.clientSecret);
    expect(server.logs.lines.some((line) => line.event === 'introspection.refused')).toBe(true);
  });
});

describe('resource-server mode: a wrong client secret at the authorization server', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => resourceServerEnv(as, { clientId: as.jsonClient.clientId, clientSecret: 'not-the-secret' }, { OIDC_TIMEOUT: '1' }));

  it('the provider answers 401 without a challenge (client_secret_post): another error, 503', async () => {
    const { token } = await freshUserToken(as);
    expectRefused(await call(server, 'GET', ROOMS, { token }), 503, UNAVAILABLE);
  });
});

describe('resource-server mode with OIDC_CREATE_USER=false', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => resourceServerEnv(as, as.jsonClient, { OIDC_CREATE_USER: 'false' }));

  it('an unknown sub is refused; a user an operator created with that sub is served', async () => {
    const { sub, token } = await freshUserToken(as);
    expectRefused(await call(server, 'GET', ROOMS, { token }), 401, { detail: 'Login failed: No user found for the given access token.' });
    expect((await server.services.users.listUsers()).some((u) => u.sub === sub)).toBe(false);
    await server.services.users.createUser({ sub });
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
  });
});

describe('resource-server mode with the audience read from another claim', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => resourceServerEnv(as, as.jsonClient, { OIDC_RS_AUDIENCE_CLAIM: 'aud' }));

  it('an answer without that claim is refused', async () => {
    const { token } = await freshUserToken(as);
    expectRefused(await call(server, 'GET', ROOMS, { token }), 401, LOGIN_FAILED);
  });
});

describe('resource-server mode, signed and encrypted JWT answers (RFC 9701)', () => {
  const as = useAuthorizationServer();
  const server = useServer(() =>
    resourceServerEnv(as, as.jwtClient, { OIDC_RS_INTROSPECTION_FORMAT: 'jwt', OIDC_RS_PRIVATE_KEY_STR: as.jwtClient.privateKeyPem }),
  );

  it('an active token is served', async () => {
    const { sub, token } = await freshUserToken(as);
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    expect((await server.services.users.getUser({ sub })).email).toBeNull();
  });
});

describe('resource-server mode, JWT answers this server cannot decrypt', () => {
  const as = useAuthorizationServer();
  const other = useAuthorizationServer();
  const server = useServer(() =>
    resourceServerEnv(as, as.jwtClient, { OIDC_RS_INTROSPECTION_FORMAT: 'jwt', OIDC_RS_PRIVATE_KEY_STR: other.jwtClient.privateKeyPem }),
  );

  it('401 Login failed', async () => {
    const { token } = await freshUserToken(as);
    expectRefused(await call(server, 'GET', ROOMS, { token }), 401, LOGIN_FAILED);
  });
});

describe('resource-server mode keeps active answers for OIDC_RS_CACHE_SECONDS', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => resourceServerEnv(as, as.jsonClient, { OIDC_RS_CACHE_SECONDS: '30' }));

  it('a token asked again is not introspected again; a refused one is, every time', async () => {
    const { token } = await freshUserToken(as);
    const introspections = introspectionsDuring(as);
    for (let i = 0; i < 3; i++) expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    expect(introspections()).toBe(1);
    for (let i = 0; i < 2; i++) expectRefused(await call(server, 'GET', ROOMS, { token: 'unknown-token' }), 401, LOGIN_FAILED);
    expect(introspections()).toBe(3);
  });
});

/** A JWT of ours for this user and application, as the token endpoint would sign it. */
async function applicationJwt(server: TestServer, clientId: string, userId: string): Promise<string> {
  return new SignJWT({ client_id: clientId, user_id: userId, delegated: true, scope: 'rooms:list' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(server.config.jwt.issuer)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(TEST_JWT_KEY));
}

describe('APPLICATION_ENABLED=false beside the resource-server mode', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => ({ ...resourceServerEnv(as), APPLICATION_ENABLED: 'false' }));

  it('the token endpoint is gone (404), application tokens are refused as "Invalid token.", user tokens work', async () => {
    const email = 'off@example.com';
    const user = await server.services.users.createUser({ email });
    const client = await createClient(server, { scopes: ['rooms:list'] });
    for (const method of ['POST', 'GET']) {
      const answer = await call(server, method, `${API}/application/token/`, {
        json: method === 'POST' ? { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email } : undefined,
      });
      expect({ status: answer.status, body: answer.json }).toEqual({ status: 404, body: { detail: 'Not found.' } });
    }
    const introspections = introspectionsDuring(as);
    expectRefused(await call(server, 'GET', ROOMS, { token: await applicationJwt(server, client.clientId, user.id) }), 401, { detail: 'Invalid token.' });
    expect(introspections()).toBe(0);
    const { token } = await freshUserToken(as);
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
  });
});

describe('APPLICATION_ENABLED=false without the resource-server mode', () => {
  const server = useServer({ APPLICATION_ENABLED: 'false' });

  it('nothing gets in: no token endpoint, application tokens refused', async () => {
    const user = await server.services.users.createUser({ email: 'nobody@example.com' });
    const client = await createClient(server, { scopes: ['rooms:list'] });
    expect((await call(server, 'POST', `${API}/application/token/`, { json: {} })).status).toBe(404);
    expectRefused(await call(server, 'GET', ROOMS, { token: await applicationJwt(server, client.clientId, user.id) }), 401, { detail: 'Invalid token.' });
  });
});
