/**
 * La Suite Meet's add-on tokens on /rooms (docs/api.md, "Add-on tokens") through the real
 * server over a real port: tokens minted here with jose exactly as Meet mints them (HMAC
 * under ADDONS_TOKEN_SECRET_KEY; iss, aud, iat, exp, user_id, scope; no client_id, no
 * delegated). Each scope on its operation, every refusal in the bearer checks' words, the
 * room's creating client and DELETE's rule, a budget per add-on user, the configuration,
 * ADDONS_ENABLED=false changing nothing, and the add-on tokens beside the resource-server
 * mode (never introspected) and without the client-credentials mode. Runs on both stores.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { KNOWN_SCOPES } from '../src/scopes.js';
import { ADDONS_CLIENT_ID } from '../src/tokens/addon-tokens.js';
import { API, TEST_JWT_KEY, call, createClient, getToken, useServer, type CallResult, type TestServer } from './helpers.js';
import { resourceServerEnv, useAuthorizationServer } from './support/oidc-provider.js';

const ROOMS = `${API}/rooms/`;
const ADDON_KEY = 'addons-signing-key-0123456789abcdefghijklmnopqrstuvwxyz';
const ENABLED = { ADDONS_ENABLED: 'true', ADDONS_TOKEN_SECRET_KEY: ADDON_KEY };
const INVALID = { detail: 'Invalid token.' };
const EXPIRED = { detail: 'Token expired.' };
const BAD_CLAIMS = { detail: 'Invalid token claims.' };
const NO_USER = { detail: 'User not found.' };
const USER_DISABLED = { detail: 'User account is disabled.' };
const NOT_CREATED_HERE = { detail: 'This room was not created by this application.' };

const now = () => Math.floor(Date.now() / 1000);
type Claims = Record<string, unknown>;

/** A token over exactly these claims (an undefined claim is left out), as Meet's PyJWT would sign it. */
async function mint(claims: Claims, options: { key?: string; alg?: string } = {}): Promise<string> {
  const payload: Claims = {};
  for (const [name, value] of Object.entries(claims)) if (value !== undefined) payload[name] = value;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(options.key ?? ADDON_KEY));
}

/** The claims of Meet's add-on token for this user (Meet's default issuer and audience), with overrides. */
function addonClaims(userId: string, overrides: Claims = {}): Claims {
  return { iss: 'lasuite-meet', aud: 'addons', iat: now(), exp: now() + 7200, scope: 'rooms:create', user_id: userId, ...overrides };
}

function expectRefused(answer: CallResult, status: number, body: unknown): void {
  expect({ status: answer.status, body: answer.json }).toEqual({ status, body });
  expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  if (status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"');
}

async function newUser(server: TestServer) {
  return server.services.users.createUser({ email: `addon-${randomUUID().slice(0, 8)}@example.com` });
}

describe('add-on tokens, ADDONS_ENABLED=true', () => {
  const server = useServer(ENABLED);

  it('a token with each scope serves its operation only; the others answer 403 naming their scope', async () => {
    const user = await newUser(server);
    const owned = await server.services.rooms.createRoom({ ownerId: user.id, clientId: ADDONS_CLIENT_ID });
    const operations = [
      { scope: 'rooms:list', method: 'GET', path: () => ROOMS, status: 200 },
      { scope: 'rooms:retrieve', method: 'GET', path: () => `${ROOMS}${owned.id}/`, status: 200 },
      { scope: 'rooms:create', method: 'POST', path: () => ROOMS, status: 201 },
      { scope: 'rooms:update', method: 'PATCH', path: () => `${ROOMS}${owned.id}/`, status: 200, json: { attendees: ['ada@example.com'] } },
      { scope: 'rooms:delete', method: 'DELETE', path: (id: string) => `${ROOMS}${id}/`, status: 204 },
    ] as const;
    expect(operations.map((o) => o.scope)).toEqual([...KNOWN_SCOPES]);
    for (const granted of operations) {
      const token = await mint(addonClaims(user.id, { scope: granted.scope }));
      for (const operation of operations) {
        const target = operation.scope === 'rooms:delete' ? (await server.services.rooms.createRoom({ ownerId: user.id, clientId: ADDONS_CLIENT_ID })).id : owned.id;
        const answer = await call(server, operation.method, operation.path(target), {
          token,
          ...('json' in operation ? { json: operation.json } : {}),
        });
        if (operation === granted) {
          expect(answer.status, `${granted.scope}: ${answer.text}`).toBe(operation.status);
        } else {
          expectRefused(answer, 403, { detail: `Insufficient permissions. Required scope: ${operation.scope}` });
          expect(answer.headers.get('www-authenticate')).toBe(`Bearer realm="api", error="insufficient_scope", scope="${operation.scope}"`);
        }
      }
    }
  });

  it("a room created with an add-on token is the user's, records the add-ons as its creator, and is audited", async () => {
    const user = await newUser(server);
    const token = await mint(addonClaims(user.id, { scope: 'rooms:create rooms:list rooms:retrieve' }));
    const created = await call(server, 'POST', ROOMS, { token, json: { access_level: 'restricted' } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.access_level).toBe('restricted');
    expect(created.headers.get('location')).toMatch(new RegExp(`/rooms/${created.json.id}/$`));
    expect((await server.services.rooms.getRoom(created.json.id)).createdByClientId).toBe(ADDONS_CLIENT_ID);
    expect((await call(server, 'GET', `${ROOMS}${created.json.id}/`, { token })).json).toEqual(created.json);
    const listed = await call(server, 'GET', ROOMS, { token });
    expect(listed.json.results.map((r: { id: string }) => r.id)).toEqual([created.json.id]);
    const audit = server.logs.lines.find((line) => line.event === 'room.created' && line.room_id === created.json.id);
    expect(audit).toMatchObject({ user_id: user.id, client_id: ADDONS_CLIENT_ID });
  });

  it("DELETE: an add-on token deletes the add-ons' rooms, not an application's; an application cannot delete the add-ons' rooms", async () => {
    const user = await newUser(server);
    const addonToken = await mint(addonClaims(user.id, { scope: 'rooms:create rooms:delete' }));
    const client = await createClient(server, { scopes: [...KNOWN_SCOPES] });
    const appToken = await getToken(server, client, user.email!);

    const byApp = await call(server, 'POST', ROOMS, { token: appToken });
    expectRefused(await call(server, 'DELETE', `${ROOMS}${byApp.json.id}/`, { token: addonToken }), 403, NOT_CREATED_HERE);
    const byAddon = await call(server, 'POST', ROOMS, { token: addonToken });
    expectRefused(await call(server, 'DELETE', `${ROOMS}${byAddon.json.id}/`, { token: appToken }), 403, NOT_CREATED_HERE);
    expect((await call(server, 'DELETE', `${ROOMS}${byAddon.json.id}/`, { token: addonToken })).status).toBe(204);
    expect((await call(server, 'DELETE', `${ROOMS}${byApp.json.id}/`, { token: appToken })).status).toBe(204);
  });

  it('scopes: read case-insensitively from the space-separated claim; unknown ones ignored; none at all is a bare 403', async () => {
    const user = await newUser(server);
    const shouting = await mint(addonClaims(user.id, { scope: '  ROOMS:LIST   Rooms:Create ' }));
    expect((await call(server, 'GET', ROOMS, { token: shouting })).status).toBe(200);
    expect((await call(server, 'POST', ROOMS, { token: shouting })).status).toBe(201);

    const unknownOnly = await mint(addonClaims(user.id, { scope: 'rooms:admin openid' }));
    expectRefused(await call(server, 'GET', ROOMS, { token: unknownOnly }), 403, { detail: 'Insufficient permissions. Required scope: rooms:list' });
    for (const scope of [undefined, '', '   ']) {
      const token = await mint(addonClaims(user.id, { scope }));
      expectRefused(await call(server, 'GET', ROOMS, { token }), 403, { detail: 'Insufficient permissions.' });
    }
    // A scope that is not a string carries no scope.
    const listScope = await mint(addonClaims(user.id, { scope: ['rooms:list'] }));
    expectRefused(await call(server, 'GET', ROOMS, { token: listScope }), 403, { detail: 'Insufficient permissions.' });
  });

  it('refusals in the bearer checks\' words: wrong key, algorithm or signature; expired; issuer; audience', async () => {
    const user = await newUser(server);
    const cases: [string, Promise<string> | string, unknown][] = [
      ['another key', mint(addonClaims(user.id), { key: 'another-key-0123456789abcdefghijklmnopqrstuvwxyz' }), INVALID],
      ['HS512 under the right key (HS256 configured)', mint(addonClaims(user.id), { alg: 'HS512' }), INVALID],
      ['HS384 under the right key', mint(addonClaims(user.id), { alg: 'HS384' }), INVALID],
      ['alg none', unsigned(addonClaims(user.id)), INVALID],
      ['a tampered payload', tamper(await mint(addonClaims(user.id))), INVALID],
      ['no exp', mint(addonClaims(user.id, { exp: undefined })), INVALID],
      ['expired', mint(addonClaims(user.id, { iat: now() - 7300, exp: now() - 100 })), EXPIRED],
      ['expiring this very second (no leeway)', mint(addonClaims(user.id, { exp: now() })), EXPIRED],
      ['another issuer', mint(addonClaims(user.id, { iss: 'someone-else' })), INVALID],
      ['no issuer', mint(addonClaims(user.id, { iss: undefined })), INVALID],
      ['another audience', mint(addonClaims(user.id, { aud: 'outlook' })), INVALID],
      ['no audience', mint(addonClaims(user.id, { aud: undefined })), INVALID],
      ['expired and another issuer: expiry is checked first', mint(addonClaims(user.id, { exp: now() - 5, iss: 'x' })), EXPIRED],
    ];
    for (const [name, token, body] of cases) {
      const answer = await call(server, 'GET', ROOMS, { token: await token });
      expect({ name, status: answer.status, body: answer.json }).toEqual({ name, status: 401, body });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"');
    }
    // An audience list naming the add-ons is accepted, as PyJWT accepts it.
    const listed = await mint(addonClaims(user.id, { scope: 'rooms:list', aud: ['other', 'addons'] }));
    expect((await call(server, 'GET', ROOMS, { token: listed })).status).toBe(200);
  });

  it('the user: no user_id or not a UUID, unknown, inactive; deactivating the user cuts the token off at once', async () => {
    const user = await newUser(server);
    for (const userId of [undefined, '', 'not-a-uuid', 42]) {
      expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims('x', { user_id: userId, scope: 'rooms:list' })) }), 401, BAD_CLAIMS);
    }
    expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(randomUUID(), { scope: 'rooms:list' })) }), 401, NO_USER);

    const token = await mint(addonClaims(user.id.toUpperCase(), { scope: 'rooms:list' }));
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    await server.services.users.setUserActive(user.email!, false);
    expectRefused(await call(server, 'GET', ROOMS, { token }), 401, USER_DISABLED);
    await server.services.users.setUserActive(user.email!, true);
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
  });

  it('a client_id or delegated claim changes nothing: the token is still an add-on token', async () => {
    const user = await newUser(server);
    const client = await createClient(server, { scopes: [...KNOWN_SCOPES] });
    const token = await mint(addonClaims(user.id, { client_id: client.clientId, delegated: true }));
    const created = await call(server, 'POST', ROOMS, { token });
    expect(created.status, created.text).toBe(201);
    expect((await server.services.rooms.getRoom(created.json.id)).createdByClientId).toBe(ADDONS_CLIENT_ID);
  });

  it('application tokens keep working beside them, and an application token signed with the add-on key is no application token', async () => {
    const user = await newUser(server);
    const client = await createClient(server, { scopes: [...KNOWN_SCOPES] });
    expect((await call(server, 'GET', ROOMS, { token: await getToken(server, client, user.email!) })).status).toBe(200);
    const appClaimsUnderAddonKey = await mint({ iss: 'lasuite-meet', iat: now(), exp: now() + 600, user_id: user.id, client_id: client.clientId, delegated: true, scope: 'rooms:list' });
    // Read as an add-on token: no audience.
    expectRefused(await call(server, 'GET', ROOMS, { token: appClaimsUnderAddonKey }), 401, INVALID);
  });

  it('neither the key nor a token reaches the logs', async () => {
    const user = await newUser(server);
    const token = await mint(addonClaims(user.id, { scope: 'rooms:list' }));
    await call(server, 'GET', ROOMS, { token });
    await call(server, 'GET', ROOMS, { token: tamper(token) });
    const text = server.logs.raw.join('\n');
    expect(text).not.toContain(ADDON_KEY);
    expect(text).not.toContain(token.split('.')[2]);
  });
});

describe('add-on tokens: one request budget per add-on user', () => {
  const server = useServer({ ...ENABLED, RATE_LIMIT_APPLICATION_PER_MINUTE: '2' });

  it('past RATE_LIMIT_APPLICATION_PER_MINUTE one user gets 429; another add-on user and the applications are not affected', async () => {
    const [ada, bob] = [await newUser(server), await newUser(server)];
    const adaToken = await mint(addonClaims(ada.id, { scope: 'rooms:list' }));
    const bobToken = await mint(addonClaims(bob.id, { scope: 'rooms:list' }));
    const first = await call(server, 'GET', ROOMS, { token: adaToken });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect((await call(server, 'GET', ROOMS, { token: adaToken })).status).toBe(200);
    const throttled = await call(server, 'GET', ROOMS, { token: adaToken });
    expect(throttled.status).toBe(429);
    expect(throttled.json.detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds?\.$/);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(server, 'GET', ROOMS, { token: bobToken })).status).toBe(200);
    const client = await createClient(server, { scopes: ['rooms:list'] });
    expect((await call(server, 'GET', ROOMS, { token: await getToken(server, client, ada.email!) })).status).toBe(200);
  });
});

describe('add-on tokens with their own algorithm, issuer and audience', () => {
  const server = useServer({ ...ENABLED, ADDONS_TOKEN_ALG: 'hs512', ADDONS_TOKEN_ISSUER: 'https://meet.example.org', ADDONS_TOKEN_AUDIENCE: 'outlook' });

  it('accepts that algorithm, issuer and audience only', async () => {
    const user = await newUser(server);
    const claims = addonClaims(user.id, { scope: 'rooms:list', iss: 'https://meet.example.org', aud: 'outlook' });
    expect((await call(server, 'GET', ROOMS, { token: await mint(claims, { alg: 'HS512' }) })).status).toBe(200);
    expectRefused(await call(server, 'GET', ROOMS, { token: await mint(claims, { alg: 'HS256' }) }), 401, INVALID);
    expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(user.id, { scope: 'rooms:list' }), { alg: 'HS512' }) }), 401, INVALID);
  });
});

describe('ADDONS_ENABLED=false (the default): add-on tokens are refused as before', () => {
  const byDefault = useServer({});
  const keyButDisabled = useServer({ ADDONS_ENABLED: 'false', ADDONS_TOKEN_SECRET_KEY: ADDON_KEY });

  it('a valid add-on token answers 401 Invalid token., expired ones too (they are not ours)', async () => {
    for (const server of [byDefault, keyButDisabled]) {
      const user = await newUser(server);
      expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(user.id, { scope: 'rooms:list' })) }), 401, INVALID);
      expectRefused(await call(server, 'POST', ROOMS, { token: await mint(addonClaims(user.id)) }), 401, INVALID);
      expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(user.id, { exp: now() - 10 })) }), 401, INVALID);
      expect(server.config.addons).toBeUndefined();
    }
  });
});

describe('add-on tokens beside the resource-server mode', () => {
  const as = useAuthorizationServer();
  const server = useServer(() => ({ ...resourceServerEnv(as, as.jsonClient, { OIDC_RS_CACHE_SECONDS: '0' }), ...ENABLED }));

  it('add-on tokens are served and refused here, never introspected; other tokens still go to the authorization server', async () => {
    const user = await newUser(server);
    const before = as.introspectionRequests;
    const token = await mint(addonClaims(user.id, { scope: 'rooms:list rooms:create' }));
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    expect((await call(server, 'POST', ROOMS, { token })).status).toBe(201);
    expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(user.id, { exp: now() - 10 })) }), 401, EXPIRED);
    expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(user.id, { aud: 'other' })) }), 401, INVALID);
    expectRefused(await call(server, 'GET', ROOMS, { token: await mint(addonClaims(randomUUID())) }), 401, NO_USER);
    expect(as.introspectionRequests - before).toBe(0);

    // Signed with neither key: the authorization server's to judge.
    const foreign = await mint(addonClaims(user.id), { key: 'another-key-0123456789abcdefghijklmnopqrstuvwxyz' });
    const foreignAnswer = await call(server, 'GET', ROOMS, { token: foreign });
    // How it is judged is the authorization server's business (oidc-provider answers 400 to a
    // JWT it did not issue, hence a 503 here); what matters is that it was asked.
    expect([401, 503]).toContain(foreignAnswer.status);
    expect(foreignAnswer.json.detail).not.toBe(INVALID.detail);
    expect(as.introspectionRequests - before).toBe(1);
    const userToken = await as.mintAccessToken({ sub: `sub-${randomUUID()}`, scopes: ['lasuite_meet', 'lasuite_meet:rooms:list'] });
    expect((await call(server, 'GET', ROOMS, { token: userToken })).status).toBe(200);
  });
});

describe('add-on tokens without the client-credentials mode (APPLICATION_ENABLED=false)', () => {
  const server = useServer({ ...ENABLED, APPLICATION_ENABLED: 'false' });

  it('add-on tokens are served; application tokens are refused', async () => {
    const user = await newUser(server);
    expect((await call(server, 'GET', ROOMS, { token: await mint(addonClaims(user.id, { scope: 'rooms:list' })) })).status).toBe(200);
    const appToken = await new SignJWT({ user_id: user.id, client_id: 'some-app', delegated: true, scope: 'rooms:list' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('lasuite-meet')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_JWT_KEY));
    expectRefused(await call(server, 'GET', ROOMS, { token: appToken }), 401, INVALID);
  });
});

describe('ADDONS_* configuration', () => {
  const base = { APPLICATION_JWT_SECRET_KEY: TEST_JWT_KEY, DATABASE_URL: 'sqlite:./unused.db' };
  const refusal = (env: Record<string, string>): string => {
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return 'accepted';
  };

  it("defaults: off; on, HS256 with Meet's issuer and audience", () => {
    expect(loadConfig(base).addons).toBeUndefined();
    expect(loadConfig({ ...base, ...ENABLED }).addons).toEqual({ secretKey: ADDON_KEY, algorithm: 'HS256', issuer: 'lasuite-meet', audience: 'addons' });
  });

  it('refuses to start without a key, with a weak key in production, with an application key, or with another algorithm', () => {
    expect(refusal({ ADDONS_ENABLED: 'true' })).toBe('ADDONS_TOKEN_SECRET_KEY: required when ADDONS_ENABLED is true');
    expect(refusal({ ADDONS_ENABLED: 'yes', ADDONS_TOKEN_SECRET_KEY: '   ' })).toMatch(/^ADDONS_TOKEN_SECRET_KEY: required/);
    expect(refusal({ ...ENABLED, NODE_ENV: 'production', ADDONS_TOKEN_SECRET_KEY: 'short-key' })).toBe(
      'ADDONS_TOKEN_SECRET_KEY: must be at least 32 bytes when NODE_ENV=production',
    );
    expect(refusal({ ...ENABLED, NODE_ENV: 'production' })).toBe('accepted');
    expect(refusal({ ...ENABLED, ADDONS_TOKEN_SECRET_KEY: TEST_JWT_KEY })).toMatch(/^ADDONS_TOKEN_SECRET_KEY: must differ from APPLICATION_JWT_SECRET_KEY/);
    expect(refusal({ ...ENABLED, APPLICATION_JWT_SECRET_KEY_FALLBACKS: `x,${ADDON_KEY}` })).toMatch(/^ADDONS_TOKEN_SECRET_KEY: must differ/);
    expect(refusal({ ...ENABLED, ADDONS_TOKEN_ALG: 'RS256' })).toBe('ADDONS_TOKEN_ALG: expected one of HS256, HS384, HS512, got "RS256"');
    // Checked even while off: a typo never waits for the day the add-ons are turned on.
    expect(refusal({ ADDONS_TOKEN_ALG: 'none' })).toMatch(/^ADDONS_TOKEN_ALG: expected one of/);
    expect(refusal({ ADDONS_ENABLED: 'maybe' })).toMatch(/^ADDONS_ENABLED: expected true\/false/);
  });
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function unsigned(claims: Claims): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
}

/** The same signature over a payload with one more claim. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
  return `${header}.${b64url({ ...claims, scope: `${String(claims.scope)} rooms:delete` })}.${signature}`;
}
