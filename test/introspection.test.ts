/**
 * The resource-server mode's token introspection against a real authorization server:
 * oidc-provider running in this process (test/support/oidc-provider.ts). Every answer the
 * introspector reads is one the provider wrote; outages are made by a TCP relay in front of
 * it (connection refused, or answers held past the timeout).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type ResourceServerConfig } from '../src/config.js';
import { ApiError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { IntrospectionCache } from '../src/tokens/introspection-cache.js';
import { JWT_INTROSPECTION_TYPE, errorDescription } from '../src/tokens/introspection-http.js';
import { JwtAnswerReader } from '../src/tokens/introspection-jwt.js';
import { TokenIntrospector, unwrapBase64, type IntrospectedToken } from '../src/tokens/introspection.js';
import { LogCapture } from './helpers.js';
import { startAuthorizationServer, type MintOptions, type TestAuthorizationServer } from './support/oidc-provider.js';

const LOGIN_FAILED = {
  statusCode: 401,
  body: { detail: 'Login failed' },
  headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' },
};
const UNAVAILABLE = {
  statusCode: 503,
  body: { detail: 'Service temporarily unavailable.' },
  headers: { 'Retry-After': '5' },
};
const MEET_SCOPES = ['openid', 'lasuite_meet', 'lasuite_meet:rooms:list', 'lasuite_meet:rooms:create'];

let as: TestAuthorizationServer;
/** A second, unrelated provider: its keys are not the first one's. */
let stranger: TestAuthorizationServer;
/** Every log line of every introspector in this file, checked for leaks at the end. */
const logs = new LogCapture();
const minted: string[] = [];

beforeAll(async () => {
  [as, stranger] = await Promise.all([startAuthorizationServer(), startAuthorizationServer()]);
});
afterAll(async () => {
  await Promise.all([as?.stop(), stranger?.stop()]);
});

/** The configuration the server would load from these OIDC_* variables (over JSON defaults). */
function resourceServer(env: Record<string, string> = {}): ResourceServerConfig {
  const config = loadConfig({
    OIDC_OP_URL: as.issuer,
    OIDC_OP_INTROSPECTION_ENDPOINT: as.introspectionEndpoint,
    OIDC_OP_JWKS_ENDPOINT: as.jwksEndpoint,
    OIDC_RS_CLIENT_ID: as.jsonClient.clientId,
    OIDC_RS_CLIENT_SECRET: as.jsonClient.clientSecret,
    OIDC_RS_SCOPES: 'lasuite_meet',
    OIDC_RS_SCOPES_PREFIX: 'lasuite_meet',
    OIDC_RS_CACHE_SECONDS: '0',
    OIDC_TIMEOUT: '1',
    ...env,
  }).resourceServer;
  if (config === undefined) throw new Error('the resource-server mode should be on');
  return config;
}

/** The jwt format through the `meet-jwt` client: answers signed ES256, encrypted to its key. */
function jwtFormat(env: Record<string, string> = {}): Record<string, string> {
  return {
    OIDC_RS_INTROSPECTION_FORMAT: 'jwt',
    OIDC_RS_CLIENT_ID: as.jwtClient.clientId,
    OIDC_RS_CLIENT_SECRET: as.jwtClient.clientSecret,
    OIDC_RS_PRIVATE_KEY_STR: as.jwtClient.privateKeyPem,
    ...env,
  };
}

function introspector(env: Record<string, string> = {}, config = resourceServer(env)): TokenIntrospector {
  return new TokenIntrospector(config, createLogger('info', logs));
}

async function mint(options: Partial<MintOptions> = {}): Promise<string> {
  const token = await as.mintAccessToken({ sub: 'ada-sub', scopes: MEET_SCOPES, ...options });
  minted.push(token);
  return token;
}

/** The ApiError a promise rejects with (failing the test if it resolves or throws anything else). */
async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ApiError);
  return outcome.error as ApiError;
}

function expectActiveAda(token: IntrospectedToken, ttlSeconds = 300): void {
  const now = Math.floor(Date.now() / 1000);
  expect(token).toMatchObject({
    sub: 'ada-sub',
    // The `lasuite_meet:` prefix is stripped; other scopes, and the bare prefix, stay as they are.
    scopes: ['openid', 'lasuite_meet', 'rooms:list', 'rooms:create'],
    // audienceClaim defaults to client_id: the service the token was issued to.
    audience: 'docs-service',
  });
  expect(token.expiresAt).toBeGreaterThanOrEqual(now + ttlSeconds - 5);
  expect(token.expiresAt).toBeLessThanOrEqual(now + ttlSeconds + 1);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('JSON introspection answers', () => {
  it('accepts an active token: sub, scopes without the prefix, the calling service as audience, exp', async () => {
    expectActiveAda(await introspector().introspect(await mint()));
  });

  it('refuses a revoked token', async () => {
    const token = await mint();
    await as.revoke(token);
    expect(await failure(introspector().introspect(token))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an expired token', async () => {
    const token = await mint({ ttlSeconds: 1 });
    await sleep(2100);
    expect(await failure(introspector().introspect(token))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses a token the provider does not know', async () => {
    expect(await failure(introspector().introspect('not-a-token-the-provider-issued'))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses a token without any of the required scopes', async () => {
    const token = await mint({ scopes: ['openid', 'docs:read'] });
    expect(await failure(introspector().introspect(token))).toMatchObject(LOGIN_FAILED);
    // The same token opens the API once one of its scopes is a required one.
    expect((await introspector({ OIDC_RS_SCOPES: 'rooms:list,docs:read' }).introspect(token)).sub).toBe('ada-sub');
  });

  it('refuses a token with no scope at all', async () => {
    expect(await failure(introspector().introspect(await mint({ scopes: [] })))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an answer from another issuer than the configured one', async () => {
    const foreign = introspector({ OIDC_OP_URL: 'https://idp.example.org' });
    expect(await failure(foreign.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses when the audience claim is missing from the answer', async () => {
    const byAzp = introspector({ OIDC_RS_AUDIENCE_CLAIM: 'azp' });
    expect(await failure(byAzp.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('decodes a token sent base64-encoded', async () => {
    const token = await mint();
    expectActiveAda(await introspector().introspect(Buffer.from(token).toString('base64')));
  });
});

describe('base64 unwrapping', () => {
  it('decodes strict standard base64 of UTF-8 text only', () => {
    expect(unwrapBase64('YWJjZA==')).toBe('abcd');
    expect(unwrapBase64(Buffer.from('héllo wörld').toString('base64'))).toBe('héllo wörld');
    // Not a multiple of 4, base64url alphabet, missing padding, non-canonical bits, not UTF-8.
    for (const kept of ['YWJjZA', 'a-b_cd==', 'YWJjZA=', 'YWJ=', '/w==', 'GkT8XkapFxMru8NSsewZUb9LhAt7iBbY-E6pNq3LnQI', '']) {
      expect(unwrapBase64(kept)).toBe(kept);
    }
  });
});

describe('JWT introspection answers (signed ES256, encrypted RSA-OAEP/A256GCM)', () => {
  it('accepts an active token from a decrypted, verified answer', async () => {
    expectActiveAda(await introspector(jwtFormat()).introspect(await mint()));
  });

  it('refuses an inactive token', async () => {
    expect(await failure(introspector(jwtFormat()).introspect('unknown'))).toMatchObject(LOGIN_FAILED);
  });

  it('accepts a signed-only answer when no private key is configured, and refuses an encrypted one', async () => {
    // An empty variable is an unset one: no key, so answers are read as signed JWTs.
    const noKey = { OIDC_RS_PRIVATE_KEY_STR: '' };
    const signedOnly = { ...noKey, OIDC_RS_CLIENT_ID: as.signedJwtClient.clientId, OIDC_RS_CLIENT_SECRET: as.signedJwtClient.clientSecret };
    expectActiveAda(await introspector(jwtFormat(signedOnly)).introspect(await mint()));
    expect(await failure(introspector(jwtFormat(noKey)).introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an answer it cannot decrypt (another private key)', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const wrongKey = introspector(jwtFormat({ OIDC_RS_PRIVATE_KEY_STR: otherKey }));
    expect(await failure(wrongKey.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an answer whose signature the configured JWKS does not verify', async () => {
    const otherKeys = introspector(jwtFormat({ OIDC_OP_JWKS_ENDPOINT: stranger.jwksEndpoint }));
    expect(await failure(otherKeys.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an answer signed with another algorithm than the configured one', async () => {
    const rs256 = introspector(jwtFormat({ OIDC_RS_SIGNING_ALGO: 'RS256' }));
    expect(await failure(rs256.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an answer from another issuer than the configured one', async () => {
    const foreign = introspector(jwtFormat({ OIDC_OP_URL: 'https://idp.example.org' }));
    expect(await failure(foreign.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses a plain JSON answer when a private key says answers are encrypted', async () => {
    // The `meet` client has no introspection algorithms: the provider answers it in JSON.
    const plain = introspector(jwtFormat({ OIDC_RS_CLIENT_ID: as.jsonClient.clientId, OIDC_RS_CLIENT_SECRET: as.jsonClient.clientSecret }));
    expect(await failure(plain.introspect(await mint()))).toMatchObject(LOGIN_FAILED);
  });

  it('refuses an answer addressed to another client (aud mismatch)', async () => {
    // The provider always signs for the client that asked (aud = its client_id), so the
    // mismatch is an answer it wrote for `meet-jwt`, read by a server configured as `meet`.
    const answered = await fetch(as.introspectionEndpoint, {
      method: 'POST',
      headers: { Accept: JWT_INTROSPECTION_TYPE },
      body: new URLSearchParams({ client_id: as.jwtClient.clientId, client_secret: as.jwtClient.clientSecret, token: await mint() }),
    });
    const answer = await answered.text();
    const configFor = (clientId: string) => resourceServer(jwtFormat({ OIDC_RS_CLIENT_ID: clientId }));
    expect((await new JwtAnswerReader(configFor(as.jwtClient.clientId)).read(answer)).active).toBe(true);
    await expect(new JwtAnswerReader(configFor(as.jsonClient.clientId)).read(answer)).rejects.toMatchObject({
      kind: 'bad_answer',
      reason: expect.stringContaining('aud'),
    });
  });

  it('answers 503 when the JWKS cannot be fetched', async () => {
    const gone = await startAuthorizationServer();
    await gone.stop();
    const noKeys = introspector(jwtFormat({ OIDC_OP_JWKS_ENDPOINT: gone.jwksEndpoint }));
    expect(await failure(noKeys.introspect(await mint()))).toMatchObject(UNAVAILABLE);
  });
});

describe('the authorization server refusing or failing', () => {
  it('answers 503 on a wrong client secret (the provider sends 401 without WWW-Authenticate)', async () => {
    // oidc-provider answers a failed client_secret_post authentication with 401
    // {"error":"invalid_client","error_description":"client authentication failed"} and no
    // WWW-Authenticate header (it adds one only when the client authenticated with an
    // Authorization header): the contract's "another error" row, 503.
    const wrongSecret = introspector({ OIDC_RS_CLIENT_SECRET: 'not-the-secret' });
    expect(await failure(wrongSecret.introspect(await mint()))).toMatchObject(UNAVAILABLE);
  });

  it('reads the error_description of the challenge the provider sends', async () => {
    // The provider's 401 challenge, as it sends it to a client using HTTP Basic: the only way
    // to make it send one, since the introspector authenticates in the form body.
    const answered = await fetch(as.introspectionEndpoint, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${as.jsonClient.clientId}:wrong`).toString('base64')}` },
      body: new URLSearchParams({ token: 'whatever' }),
    });
    expect(answered.status).toBe(401);
    const challenge = answered.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Basic /);
    expect(errorDescription(challenge)).toBe('client authentication failed');
    expect(errorDescription('Bearer realm="x", error="invalid_token"')).toBeUndefined();
    expect(errorDescription('Bearer error_description="say \\"hi\\", please"')).toBe('say "hi", please');
  });

  it('answers 503 at once when the provider is unreachable, and recovers', async () => {
    const token = await mint();
    const introspection = introspector();
    await as.makeUnreachable();
    try {
      const started = Date.now();
      expect(await failure(introspection.introspect(token))).toMatchObject(UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await as.restore();
    }
    expectActiveAda(await introspection.introspect(token));
  });

  it('answers 503 within the timeout when the provider answers too late, never hanging', async () => {
    const token = await mint();
    const introspection = introspector({ OIDC_TIMEOUT: '1' });
    as.makeSlow(3000);
    try {
      const started = Date.now();
      expect(await failure(introspection.introspect(token))).toMatchObject(UNAVAILABLE);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      await as.restore();
    }
  });

  it('logs an outage at error level once a minute, not once a request', async () => {
    const introspection = introspector();
    const errorsBefore = logs.lines.filter((line) => line.event === 'introspection.unavailable').length;
    await as.makeUnreachable();
    try {
      for (let i = 0; i < 3; i++) expect(await failure(introspection.introspect(await mint()))).toMatchObject(UNAVAILABLE);
    } finally {
      await as.restore();
    }
    const outageLines = logs.lines.filter((line) => line.event === 'introspection.unavailable').slice(errorsBefore);
    expect(outageLines).toHaveLength(1);
    expect(outageLines[0]).toMatchObject({ level: 50, reason: expect.stringMatching(/^unreachable /) });
  });
});

describe('the cache of active answers', () => {
  /** Introspection requests the provider received while `run` ran. */
  async function introspectionsDuring(run: () => Promise<unknown>): Promise<number> {
    const before = as.introspectionRequests;
    await run();
    return as.introspectionRequests - before;
  }
  const cached = () => introspector({ OIDC_RS_CACHE_SECONDS: '30' });

  it('reuses an active answer: the second introspection makes no call', async () => {
    const introspection = cached();
    const token = await mint();
    expect(await introspectionsDuring(() => introspection.introspect(token))).toBe(1);
    expect(await introspectionsDuring(async () => expectActiveAda(await introspection.introspect(token)))).toBe(0);
    // Base64-wrapped, it is the same token.
    expect(await introspectionsDuring(() => introspection.introspect(Buffer.from(token).toString('base64')))).toBe(0);
  });

  it('shares one call among concurrent introspections of the same token', async () => {
    const introspection = cached();
    const token = await mint();
    expect(await introspectionsDuring(() => Promise.all(Array.from({ length: 5 }, () => introspection.introspect(token))))).toBe(1);
  });

  it('does not use an answer past the token exp', async () => {
    const introspection = cached();
    const token = await mint({ ttlSeconds: 2 });
    expect(await introspectionsDuring(() => introspection.introspect(token))).toBe(1);
    await sleep(2100);
    expect(await introspectionsDuring(async () => expect(await failure(introspection.introspect(token))).toMatchObject(LOGIN_FAILED))).toBe(1);
  });

  it('never keeps an inactive answer', async () => {
    const introspection = cached();
    const token = await mint();
    await as.revoke(token);
    for (let i = 0; i < 2; i++) {
      expect(await introspectionsDuring(() => failure(introspection.introspect(token)))).toBe(1);
    }
  });

  it('never keeps a failure', async () => {
    const introspection = cached();
    const token = await mint();
    await as.makeUnreachable();
    try {
      expect(await failure(introspection.introspect(token))).toMatchObject(UNAVAILABLE);
    } finally {
      await as.restore();
    }
    expect(await introspectionsDuring(async () => expectActiveAda(await introspection.introspect(token)))).toBe(1);
  });

  it('introspects every time with OIDC_RS_CACHE_SECONDS=0', async () => {
    const introspection = introspector({ OIDC_RS_CACHE_SECONDS: '0' });
    const token = await mint();
    expect(await introspectionsDuring(() => introspection.introspect(token))).toBe(1);
    expect(await introspectionsDuring(() => introspection.introspect(token))).toBe(1);
  });

  it('holds at most maxEntries answers, the oldest going first', async () => {
    const cache = new IntrospectionCache<{ expiresAt: number | undefined; n: number }>(30_000, 2);
    let loads = 0;
    const load = async () => ({ expiresAt: undefined, n: ++loads });
    for (const token of ['a', 'b', 'c']) await cache.getOrLoad(token, load);
    expect(cache.size).toBe(2);
    expect((await cache.getOrLoad('c', load)).n).toBe(3);
    expect((await cache.getOrLoad('b', load)).n).toBe(2);
    expect((await cache.getOrLoad('a', load)).n).toBe(4);
  });
});

describe('logs', () => {
  it('tell why tokens were refused, never a token or a secret', () => {
    expect(logs.lines.some((line) => line.event === 'introspection.refused' && line.reason === 'inactive')).toBe(true);
    expect(logs.lines.some((line) => line.event === 'introspection.refused' && line.kind === 'bad_answer')).toBe(true);
    const secrets = [as.jsonClient.clientSecret, as.jwtClient.clientSecret, as.callingService.clientSecret];
    for (const line of logs.raw) {
      for (const secret of [...minted, ...secrets]) expect(line).not.toContain(secret);
      expect(line).not.toContain('PRIVATE KEY');
    }
    expect(minted.length).toBeGreaterThan(10);
  });
});
