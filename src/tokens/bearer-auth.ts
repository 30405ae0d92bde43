/**
 * Who is calling the rooms API: the bearer checks of docs/api.md ("Authentication on /rooms"), in their order, each
 * with its own message. The application and the user are read on every request (in one
 * query), so deactivating either cuts its tokens off at once.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { findAuthSubjects } from '../applications/applications.repository.js';
import { detailError, type ApiError } from '../errors.js';
import type { Scope } from '../scopes.js';
import { isUuid } from '../validation.js';
import { INVALID_TOKEN, TOKEN_EXPIRED, type JwtCodec } from './jwt.js';

export interface Principal {
  userId: string;
  clientId: string;
  /** Scopes in the token that the application still holds, lower-cased. */
  scopes: readonly string[];
  /** True when the token carried no scope at all. */
  tokenHasNoScope: boolean;
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
    private readonly db: Kysely<Database>,
    private readonly jwt: JwtCodec,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const parts = (authorization ?? '').trim().split(/\s+/);
    if (parts[0]?.toLowerCase() !== 'bearer') throw unauthorized(BEARER_FAILURES.noCredentials, false);
    if (parts.length !== 2) throw unauthorized(BEARER_FAILURES.badHeader, false);
    const token = parts[1] as string;

    let payload;
    try {
      payload = this.jwt.verify(token);
    } catch (error) {
      const detail = (error as ApiError).body?.detail;
      throw unauthorized(typeof detail === 'string' ? detail : BEARER_FAILURES.invalidToken, true);
    }

    const clientId = payload.client_id;
    if (typeof clientId !== 'string' || clientId === '') throw unauthorized(BEARER_FAILURES.badClaims, true);
    const userId = typeof payload.user_id === 'string' && isUuid(payload.user_id) ? payload.user_id.toLowerCase() : undefined;

    const { application, user } = await findAuthSubjects(this.db, clientId, userId);
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
