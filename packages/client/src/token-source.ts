/**
 * The client-credentials exchange, cached: one token is shared by every call until
 * `refreshMarginMs` before it expires, and callers that need one at the same moment share
 * a single request for it.
 */
import type { Client } from 'openapi-fetch';
import { successBody } from './answers.js';
import type { paths } from './types.js';

export const TOKEN_PATH = '/external-api/v1.0/application/token/';

export interface Credentials {
  clientId: string;
  clientSecret: string;
  /** The user the application acts for (the token request's `scope`). */
  email: string;
}

export interface TokenSourceOptions {
  refreshMarginMs: number;
  /** Milliseconds since the epoch; the token's lifetime is measured on this clock. */
  now: () => number;
}

interface CachedToken {
  token: string;
  freshUntil: number;
}

export class TokenSource {
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly api: Client<paths>,
    private readonly credentials: Credentials,
    private readonly options: TokenSourceOptions,
  ) {}

  /** A token believed valid: the cached one while fresh, else a new one. */
  async current(): Promise<string> {
    if (this.cached !== undefined && this.options.now() < this.cached.freshUntil) return this.cached.token;
    this.pending ??= this.exchange().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /**
   * Forgets `token` after the server called it expired. A token another caller already
   * replaced stays replaced, so concurrent refusals cost one new token, not one each.
   */
  discard(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async exchange(): Promise<string> {
    // Measured from before the request, so the cache errs on the early side.
    const requestedAt = this.options.now();
    const { clientId, clientSecret, email } = this.credentials;
    const answer = successBody(
      await this.api.POST(TOKEN_PATH, {
        body: { client_id: clientId, client_secret: clientSecret, grant_type: 'client_credentials', scope: email },
      }),
    );
    this.cached = { token: answer.access_token, freshUntil: requestedAt + answer.expires_in * 1000 - this.options.refreshMarginMs };
    return answer.access_token;
  }
}
