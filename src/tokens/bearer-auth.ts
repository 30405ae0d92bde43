/**
 * Who is calling the rooms API. Two ways in:
 * - an application token (the client-credentials mode): the bearer checks of docs/api.md
 *   ("Authentication on /rooms"), in their order, each with its own message. The
 *   application and the user are read on every request (in one query), so deactivating
 *   either cuts its tokens off at once;
 * - a user's own token of the identity provider (the resource-server mode,
 *   docs/resource-server.md): any bearer value that is not one of our tokens is introspected
 *   at the authorization server; ours never leave this server;
 * - an add-on token of La Suite Meet (ADDONS_ENABLED, addon-tokens.ts): tried only when the
 *   application key did not sign the token; one it signed is never introspected either.
 */
import type { Logger } from 'pino';
import type { LogSink } from '../logger.js';
import type { ApplicationsService } from '../applications/applications.service.js';
import { detailError, type ApiError } from '../errors.js';
import { KNOWN_SCOPES, type Scope } from '../scopes.js';
import { isUuid } from '../validation.js';
import type { UsersService } from '../users/users.service.js';
import { ADDONS_CLIENT_ID, type AddonTokens } from './addon-tokens.js';
import { INVALID_TOKEN, TOKEN_EXPIRED, TokenRefusal, type JwtCodec, type VerifiedPayload } from './jwt.js';

/** What the resource-server mode needs of the authorization server (tokens/introspection.ts). */
export interface UserTokenIntrospector {
  introspect(bearerValue: string, log?: LogSink): Promise<{ sub: string; scopes: readonly string[]; audience: string }>;
}

export interface BearerOptions {
  /** False: application tokens are refused (APPLICATION_ENABLED=false). */
  applicationTokens: boolean;
  /** Present in the resource-server mode; also what creates users on first sight there. */
  userTokens?: { introspector: UserTokenIntrospector; createUser: boolean };
  /** Present while ADDONS_ENABLED: Meet's add-on tokens. */
  addonTokens?: AddonTokens;
}

export const NO_USER_FOR_TOKEN = 'Login failed: No user found for the given access token.';

export interface Principal {
  userId: string;
  clientId: string;
  /** Scopes in the token that the application still holds, lower-cased. */
  scopes: readonly string[];
  /** True when the token carried no scope at all. */
  tokenHasNoScope: boolean;
  /** The key of the request budget when it is not the client id (add-on tokens: one budget per user). */
  budgetKey?: string;
}

const REALM = 'Bearer realm="api"';

/** Why a bearer token is refused (401), in the order the checks run. */
export const BEARER_FAILURES = {
  noCredentials: 'Authentication credentials were not provided.',
  badHeader: 'Invalid token header.',
  invalidToken: INVALID_TOKEN,
  expired: TOKEN_EXPIRED,
  badClaims: 'Invalid token claims.',
  unknownApplication: 'Application not found.',
  disabledApplication: 'Application is disabled.',
  notDelegated: 'Invalid token type.',
  unknownUser: 'User not found.',
  disabledUser: 'User account is disabled.',
} as const;

/** The challenges a refused bearer token gets (RFC 6750 §3). */
export const BEARER_CHALLENGES = {
  noToken: REALM,
  invalidToken: `${REALM}, error="invalid_token"`,
  insufficientScope: (scope: string) => `${REALM}, error="insufficient_scope", scope="${scope}"`,
};

export const INSUFFICIENT_PERMISSIONS = 'Insufficient permissions.';
export const missingScope = (scope: string) => `Insufficient permissions. Required scope: ${scope}`;

function unauthorized(detail: string, tokenPresented: boolean): ApiError {
  const challenge = tokenPresented ? BEARER_CHALLENGES.invalidToken : BEARER_CHALLENGES.noToken;
  return detailError(401, detail, { 'www-authenticate': challenge });
}

export class BearerAuthenticator {
  constructor(
    private readonly applications: Pick<ApplicationsService, 'findAuthSubjects'>,
    private readonly jwt: JwtCodec,
    private readonly users: UsersService,
    private readonly options: BearerOptions,
  ) {}

  /** `log`: the request's logger, so what is logged on the way carries its request id. */
  async authenticate(authorization: string | undefined, log?: LogSink): Promise<Principal> {
    const parts = (authorization ?? '').trim().split(/\s+/);
    if (parts[0]?.toLowerCase() !== 'bearer') throw unauthorized(BEARER_FAILURES.noCredentials, false);
    if (parts.length !== 2) throw unauthorized(BEARER_FAILURES.badHeader, false);
    const token = parts[1] as string;

    let payload: VerifiedPayload;
    try {
      payload = this.jwt.verify(token);
    } catch (error) {
      if (!(error instanceof TokenRefusal)) throw error;
      if (!error.ours && this.options.addonTokens) return this.authenticateAddonToken(token, this.options.addonTokens, log);
      if (!error.ours && this.options.userTokens) return this.authenticateUserToken(token, this.options.userTokens, log);
      throw unauthorized(error.detail, true);
    }
    // Ours, but the client-credentials mode is off: refused as a token this server does not take.
    if (!this.options.applicationTokens) throw unauthorized(BEARER_FAILURES.invalidToken, true);
    return this.authenticateApplicationToken(payload);
  }

  private async authenticateApplicationToken(payload: VerifiedPayload): Promise<Principal> {
    const clientId = payload.client_id;
    if (typeof clientId !== 'string' || clientId === '') throw unauthorized(BEARER_FAILURES.badClaims, true);
    const userId = typeof payload.user_id === 'string' && isUuid(payload.user_id) ? payload.user_id.toLowerCase() : undefined;

    const { application, user } = await this.applications.findAuthSubjects(clientId, userId);
    if (!application) throw unauthorized(BEARER_FAILURES.unknownApplication, true);
    if (!application.isActive) throw unauthorized(BEARER_FAILURES.disabledApplication, true);
    if (payload.delegated !== true) throw unauthorized(BEARER_FAILURES.notDelegated, true);
    if (userId === undefined) throw unauthorized(BEARER_FAILURES.badClaims, true);
    if (!user) throw unauthorized(BEARER_FAILURES.unknownUser, true);
    if (!user.isActive) throw unauthorized(BEARER_FAILURES.disabledUser, true);

    const tokenScopes = typeof payload.scope === 'string' ? payload.scope.toLowerCase().split(' ').filter(Boolean) : [];
    const granted = application.scopes.map((s) => s.toLowerCase());
    return {
      userId: user.id,
      clientId,
      scopes: tokenScopes.filter((s) => granted.includes(s)),
      tokenHasNoScope: tokenScopes.length === 0,
    };
  }

  /**
   * A token the application key did not sign, tried under the add-on key: refused as an
   * application token would be (signature, expiry, issuer, audience, then the user), with
   * the scopes of its `scope` claim. One the add-on key did not sign either goes on to the
   * resource-server mode when it is on, else is an invalid token.
   */
  private async authenticateAddonToken(token: string, addons: AddonTokens, log?: LogSink): Promise<Principal> {
    let payload: VerifiedPayload;
    try {
      payload = addons.codec.verify(token);
    } catch (error) {
      if (!(error instanceof TokenRefusal)) throw error;
      if (!error.ours && this.options.userTokens) return this.authenticateUserToken(token, this.options.userTokens, log);
      throw unauthorized(error.detail, true);
    }
    const userId = typeof payload.user_id === 'string' && isUuid(payload.user_id) ? payload.user_id.toLowerCase() : undefined;
    if (userId === undefined) throw unauthorized(BEARER_FAILURES.badClaims, true);
    const user = await addons.findUser(userId);
    if (!user) throw unauthorized(BEARER_FAILURES.unknownUser, true);
    if (!user.isActive) throw unauthorized(BEARER_FAILURES.disabledUser, true);
    const tokenScopes = typeof payload.scope === 'string' ? payload.scope.toLowerCase().split(/\s+/).filter(Boolean) : [];
    return {
      userId: user.id,
      clientId: ADDONS_CLIENT_ID,
      scopes: tokenScopes.filter((s) => (KNOWN_SCOPES as readonly string[]).includes(s)),
      tokenHasNoScope: tokenScopes.length === 0,
      budgetKey: `${ADDONS_CLIENT_ID}:${user.id}`,
    };
  }

  /**
   * A user's token of the identity provider: introspected (which may refuse it with 401 or
   * answer 503), then its subject is the user (created on first sight when allowed) and the
   * calling service, named by the audience claim, stands where an application would.
   */
  private async authenticateUserToken(token: string, mode: NonNullable<BearerOptions['userTokens']>, log?: LogSink): Promise<Principal> {
    const introspected = await mode.introspector.introspect(token, log);
    const user = await this.users.findOrCreate({ sub: introspected.sub }, mode.createUser);
    if (!user) throw unauthorized(NO_USER_FOR_TOKEN, true);
    if (!user.isActive) throw unauthorized(BEARER_FAILURES.disabledUser, true);
    const scopes = introspected.scopes.map((s) => s.toLowerCase());
    return { userId: user.id, clientId: introspected.audience, scopes, tokenHasNoScope: scopes.length === 0 };
  }
}

/** A 403 unless the principal holds the scope (compared case-insensitively). */
export function requireScope(principal: Principal, scope: Scope): void {
  if (principal.tokenHasNoScope) {
    throw detailError(403, INSUFFICIENT_PERMISSIONS);
  }
  if (!principal.scopes.includes(scope)) {
    throw detailError(403, missingScope(scope), { 'www-authenticate': BEARER_CHALLENGES.insufficientScope(scope) });
  }
}
