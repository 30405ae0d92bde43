/**
 * Who is calling the rooms API: the bearer checks of CONTRACT §2.2, in its order, each
 * with its own message. The application and the user are read on every request (in one
 * query), so deactivating either cuts its tokens off at once.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { findAuthSubjects } from '../applications/applications.repository.js';
import { detailError, type ApiError } from '../errors.js';
import type { Scope } from '../scopes.js';
import { isUuid } from '../validation.js';
import type { JwtCodec } from './jwt.js';

export interface Principal {
  userId: string;
  clientId: string;
  /** Scopes in the token that the application still holds, lower-cased. */
  scopes: readonly string[];
  /** True when the token carried no scope at all. */
  tokenHasNoScope: boolean;
}

const REALM = 'Bearer realm="api"';

function unauthorized(detail: string, tokenPresented: boolean): ApiError {
  const challenge = tokenPresented ? `${REALM}, error="invalid_token"` : REALM;
  return detailError(401, detail, { 'www-authenticate': challenge });
}

export class BearerAuthenticator {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly jwt: JwtCodec,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const parts = (authorization ?? '').trim().split(/\s+/);
    if (parts[0]?.toLowerCase() !== 'bearer') throw unauthorized('Authentication credentials were not provided.', false);
    if (parts.length !== 2) throw unauthorized('Invalid token header.', false);
    const token = parts[1] as string;

    let payload;
    try {
      payload = this.jwt.verify(token);
    } catch (error) {
      const detail = (error as ApiError).body?.detail;
      throw unauthorized(typeof detail === 'string' ? detail : 'Invalid token.', true);
    }

    const clientId = payload.client_id;
    if (typeof clientId !== 'string' || clientId === '') throw unauthorized('Invalid token claims.', true);
    const userId = typeof payload.user_id === 'string' && isUuid(payload.user_id) ? payload.user_id.toLowerCase() : undefined;

    const { application, user } = await findAuthSubjects(this.db, clientId, userId);
    if (!application) throw unauthorized('Application not found.', true);
    if (!application.isActive) throw unauthorized('Application is disabled.', true);
    if (payload.delegated !== true) throw unauthorized('Invalid token type.', true);
    if (userId === undefined) throw unauthorized('Invalid token claims.', true);
    if (!user) throw unauthorized('User not found.', true);
    if (!user.isActive) throw unauthorized('User account is disabled.', true);

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
    throw detailError(403, 'Insufficient permissions.');
  }
  if (!principal.scopes.includes(scope)) {
    throw detailError(403, `Insufficient permissions. Required scope: ${scope}`, {
      'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"`,
    });
  }
}
