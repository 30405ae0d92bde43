/**
 * A real authorization server for the resource-server tests: oidc-provider (v9, the
 * certified Node implementation) running in this process on a free port of 127.0.0.1.
 * Every answer the tests see comes from it. A TCP relay stands in front of it, so a test
 * can make it unreachable (connection refused) or slow without touching the provider.
 *
 * Registered clients:
 * - `meet` (this server, JSON introspection answers), client_secret_post;
 * - `meet-jwt` (this server in the jwt format): answers signed ES256 by the provider, then
 *   encrypted RSA-OAEP/A256GCM to the RSA key whose private PEM is `jwtClient.privateKeyPem`;
 * - `meet-jws` (the jwt format without encryption): answers signed ES256 only;
 * - `docs-service`: the calling service that access tokens are minted for.
 */
import http from 'node:http';
import net from 'node:net';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';
import { useFixture } from '../helpers.js';
import { Relay } from './relay.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface MintOptions {
  sub: string;
  scopes: readonly string[];
  /** The calling service the token was issued to (its client_id shows in introspection). */
  clientId?: string;
  ttlSeconds?: number;
}

export interface TestAuthorizationServer {
  issuer: string;
  /** Both reached through the relay, so they follow stop/slow like a real outage. */
  introspectionEndpoint: string;
  jwksEndpoint: string;
  jsonClient: ClientCredentials;
  jwtClient: ClientCredentials & { privateKeyPem: string };
  signedJwtClient: ClientCredentials;
  callingService: ClientCredentials;
  relay: Relay;
  /** Introspection requests the provider has received (whatever it answered). */
  readonly introspectionRequests: number;
  mintAccessToken(options: MintOptions): Promise<string>;
  /** A service's own token (client credentials grant): it names no user, so introspection has no sub. */
  mintServiceToken(options: { scopes: readonly string[]; clientId?: string }): Promise<string>;
  revoke(token: string): Promise<void>;
  /** Stops answering: new connections are refused until `restore()`. */
  makeUnreachable(): Promise<void>;
  /** Answers, but `delayMs` late. */
  makeSlow(delayMs: number): void;
  /** Back to answering at once. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

const CALLING_SERVICE = 'docs-service';

export async function startAuthorizationServer(): Promise<TestAuthorizationServer> {
  const httpServer = http.createServer();
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const relay = new Relay({ host: '127.0.0.1', port: (httpServer.address() as net.AddressInfo).port });
  await relay.start();

  const issuer = `http://127.0.0.1:${relay.port}`;
  const encryptionKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jsonClient = { clientId: 'meet', clientSecret: secret() };
  const jwtClient = {
    clientId: 'meet-jwt',
    clientSecret: secret(),
    privateKeyPem: encryptionKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const signedJwtClient = { clientId: 'meet-jws', clientSecret: secret() };
  const callingService = { clientId: CALLING_SERVICE, clientSecret: secret() };

  const provider = new Provider(issuer, {
    clients: [
      confidential(jsonClient),
      {
        ...confidential(jwtClient),
        introspection_signed_response_alg: 'ES256',
        introspection_encrypted_response_alg: 'RSA-OAEP',
        introspection_encrypted_response_enc: 'A256GCM',
        jwks: { keys: [{ ...publicJwk(encryptionKey.publicKey), use: 'enc', alg: 'RSA-OAEP', kid: 'meet-jwt-enc' }] },
      },
      { ...confidential(signedJwtClient), introspection_signed_response_alg: 'ES256' },
      confidential(callingService),
    ],
    // ES256 signs the introspection answers. RS256 is there because clients default to RS256
    // ID tokens and the provider will not load a client whose algorithm no key serves
    // (without it, every introspection answers 500).
    jwks: { keys: [signingJwk('ec', 'ES256'), signingJwk('rsa', 'RS256')] },
    features: {
      devInteractions: { enabled: false },
      encryption: { enabled: true },
      jwtIntrospection: { enabled: true },
      // Any authenticated client may introspect any token (set here so the provider does not
      // warn that the default policy should be changed).
      introspection: { enabled: true, allowedPolicy: () => true },
    },
  });

  let introspectionRequests = 0;
  // Observes, never answers: counts the requests that reach the introspection endpoint.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token/introspection') introspectionRequests++;
    await next();
  });
  httpServer.on('request', provider.callback());

  return {
    issuer,
    introspectionEndpoint: `${issuer}/token/introspection`,
    jwksEndpoint: `${issuer}/jwks`,
    jsonClient,
    jwtClient,
    signedJwtClient,
    callingService,
    relay,
    get introspectionRequests() {
      return introspectionRequests;
    },
    async mintAccessToken({ sub, scopes, clientId = CALLING_SERVICE, ttlSeconds = 300 }) {
      // An access token stored in the provider as its grants would store one. Its scope is
      // kept as given and introspection answers it verbatim, so custom scopes such as
      // `lasuite_meet:rooms:list` need neither the `scopes` configuration nor
      // features.resourceIndicators (those only filter what a client may *request* at the
      // authorization and token endpoints, which this bypasses).
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error(`no client ${clientId} in the test authorization server`);
      // Bound to a grant of its own, as a token from the authorization code flow is.
      const grant = new provider.Grant({ accountId: sub, clientId });
      grant.addOIDCScope(scopes.join(' '));
      const grantId = await grant.save();
      const token = new provider.AccessToken({ client, accountId: sub, grantId, gty: 'authorization_code', scope: scopes.join(' '), expiresIn: ttlSeconds });
      return token.save();
    },
    async mintServiceToken({ scopes, clientId = CALLING_SERVICE }) {
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error(`no client ${clientId} in the test authorization server`);
      return new provider.ClientCredentials({ client, scope: scopes.join(' ') }).save();
    },
    async revoke(token) {
      // What the revocation endpoint does to an access token: the stored token is destroyed.
      await (await provider.AccessToken.find(token))?.destroy();
    },
    async makeUnreachable() {
      await relay.stop();
    },
    makeSlow(delayMs) {
      relay.answerDelayMs = delayMs;
    },
    async restore() {
      relay.answerDelayMs = 0;
      if (!relay.listening) await relay.start();
    },
    async stop() {
      if (relay.listening) await relay.stop();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function confidential({ clientId, clientSecret }: ClientCredentials): ClientMetadata {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_post',
    // No browser flows: these clients only call the back-channel endpoints.
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  };
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}

function publicJwk(key: KeyObject): JWK {
  return key.export({ format: 'jwk' }) as JWK;
}

function signingJwk(type: 'ec' | 'rsa', alg: string): JWK {
  const { privateKey } = type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), use: 'sig', alg, kid: `${alg.toLowerCase()}-signing` };
}

/** A real authorization server for the calling describe block (see startAuthorizationServer). */
export function useAuthorizationServer(): TestAuthorizationServer {
  return useFixture('the authorization server', startAuthorizationServer, (server) => server.stop());
}

/** The OIDC_* environment that points this server at `as`, as the client `client` (JSON answers unless told). */
export function resourceServerEnv(as: TestAuthorizationServer, client: ClientCredentials = as.jsonClient, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OIDC_OP_URL: as.issuer,
    OIDC_OP_INTROSPECTION_ENDPOINT: as.introspectionEndpoint,
    OIDC_OP_JWKS_ENDPOINT: as.jwksEndpoint,
    OIDC_RS_CLIENT_ID: client.clientId,
    OIDC_RS_CLIENT_SECRET: client.clientSecret,
    OIDC_RS_SCOPES: 'lasuite_meet',
    OIDC_RS_SCOPES_PREFIX: 'lasuite_meet',
    ...extra,
  };
}
