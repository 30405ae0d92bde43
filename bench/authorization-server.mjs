// The authorization server of `node bench/run.mjs --resource-server`: a real oidc-provider
// in the harness's own process (so on the load generator's CPU, never on the server's),
// listening on a free port of 127.0.0.1. The same configuration as the tests'
// (test/support/oidc-provider.ts), reduced to what the bench needs: the confidential client
// `meet` that the server introspects as (client_secret_post, JSON answers) and the calling
// service `docs-service` that user tokens are minted for.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const CALLING_SERVICE = 'docs-service';

const secret = () => randomBytes(24).toString('base64url');

function confidential(clientId) {
  return {
    client_id: clientId,
    client_secret: secret(),
    token_endpoint_auth_method: 'client_secret_post',
    // No browser flows: these clients only call the back-channel endpoints.
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  };
}

function signingJwk(type, alg) {
  const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg, kid: `${alg.toLowerCase()}-signing` };
}

/**
 * Starts the provider. Returns the OIDC_* environment that points a server at it, a way to
 * mint a user's access token, the number of introspection requests received so far, and stop().
 */
export async function startAuthorizationServer() {
  const httpServer = http.createServer();
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${httpServer.address().port}`;
  const meet = confidential('meet');

  const provider = new Provider(issuer, {
    clients: [meet, confidential(CALLING_SERVICE)],
    // RS256 too: clients default to RS256 ID tokens and the provider will not load a client
    // whose algorithm no key serves (every introspection would answer 500).
    jwks: { keys: [signingJwk('ec', 'ES256'), signingJwk('rsa', 'RS256')] },
    features: {
      devInteractions: { enabled: false },
      // Any authenticated client may introspect any token (set so the provider does not warn).
      introspection: { enabled: true, allowedPolicy: () => true },
    },
  });
  let introspections = 0;
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token/introspection') introspections++;
    await next();
  });
  httpServer.on('request', provider.callback());

  return {
    env: {
      OIDC_OP_URL: issuer,
      OIDC_OP_INTROSPECTION_ENDPOINT: `${issuer}/token/introspection`,
      OIDC_RS_CLIENT_ID: meet.client_id,
      OIDC_RS_CLIENT_SECRET: meet.client_secret,
      OIDC_RS_SCOPES: 'lasuite_meet',
      OIDC_RS_SCOPES_PREFIX: 'lasuite_meet',
    },
    get introspections() {
      return introspections;
    },
    /**
     * An access token stored as the authorization code flow would store it, bound to a grant
     * of its own. Introspection answers its scope verbatim, so custom scopes such as
     * `lasuite_meet:rooms:list` need no `scopes` configuration.
     */
    async mintAccessToken({ sub, scopes, ttlSeconds }) {
      const client = await provider.Client.find(CALLING_SERVICE);
      const grant = new provider.Grant({ accountId: sub, clientId: CALLING_SERVICE });
      grant.addOIDCScope(scopes.join(' '));
      const grantId = await grant.save();
      return new provider.AccessToken({ client, accountId: sub, grantId, gty: 'authorization_code', scope: scopes.join(' '), expiresIn: ttlSeconds }).save();
    },
    stop() {
      httpServer.closeAllConnections();
      return new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };
}
