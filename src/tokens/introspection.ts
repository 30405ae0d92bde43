/**
 * The resource-server mode's check of a user's own access token: a bearer value that is not
 * one of our JWTs is introspected (RFC 7662) at the identity provider, and is accepted only
 * if the answer is trustworthy, the token active, and it carries one of the configured
 * scopes, an audience and a subject. Failures are ApiErrors the routes answer as they are:
 * 401 `Login failed` (or the provider's own description), 503 when it cannot be asked.
 */
import type { Logger } from 'pino';
import type { LogSink } from '../logger.js';
import type { ResourceServerConfig } from '../config.js';
import { IntrospectionFailure, claimsFrom, type IntrospectionClaims } from './introspection-answer.js';
import { IntrospectionCache } from './introspection-cache.js';
import { requestIntrospection } from './introspection-http.js';
import { JwtAnswerReader } from './introspection-jwt.js';

export interface IntrospectedToken {
  sub: string;
  /** The token's scopes, the configured prefix (`prefix:`) stripped where present. */
  scopes: string[];
  /** The value of the configured audience claim (by default client_id: the calling service). */
  audience: string;
  /** The token's `exp`, in seconds since the epoch. */
  expiresAt: number | undefined;
}

// An outage makes every request fail the same way: one error line a minute tells it.
const OUTAGE_LOG_INTERVAL_MS = 60_000;

export class TokenIntrospector {
  private readonly cache: IntrospectionCache<IntrospectedToken>;
  private readonly jwtAnswers: JwtAnswerReader | undefined;
  private lastOutageLogMs = -Infinity;
  private outagesNotLogged = 0;

  constructor(
    private readonly config: ResourceServerConfig,
    private readonly logger: Logger,
  ) {
    this.cache = new IntrospectionCache(config.cacheSeconds * 1000);
    this.jwtAnswers = config.format === 'jwt' ? new JwtAnswerReader(config) : undefined;
  }

  /** `log`: the request's logger, so refusals carry its request id. */
  async introspect(bearerValue: string, log: LogSink = this.logger): Promise<IntrospectedToken> {
    const token = unwrapBase64(bearerValue);
    try {
      return await this.cache.getOrLoad(token, () => this.introspectAtServer(token, log));
    } catch (error) {
      if (error instanceof IntrospectionFailure) throw error.toApiError();
      throw error;
    }
  }

  private async introspectAtServer(token: string, log: LogSink): Promise<IntrospectedToken> {
    try {
      const answer = await requestIntrospection(this.config, token);
      const claims = this.jwtAnswers ? await this.jwtAnswers.read(answer) : parseJsonAnswer(answer);
      return acceptedToken(claims, this.config);
    } catch (error) {
      // Logged here, once per call to the server, however many requests shared the call.
      if (error instanceof IntrospectionFailure) this.logFailure(error, log);
      throw error;
    }
  }

  private logFailure(failure: IntrospectionFailure, log: LogSink): void {
    const { kind, reason } = failure;
    if (kind === 'refused' || kind === 'challenged') {
      log.info({ event: 'introspection.refused', kind, reason }, 'access token refused');
    } else if (kind === 'bad_answer') {
      log.warn({ event: 'introspection.refused', kind, reason }, 'introspection answer not trusted');
    } else {
      this.logOutage(reason, log);
    }
  }

  private logOutage(reason: string, log: LogSink): void {
    const now = Date.now();
    if (now - this.lastOutageLogMs < OUTAGE_LOG_INTERVAL_MS) {
      this.outagesNotLogged++;
      log.debug({ event: 'introspection.unavailable', reason }, 'introspection failed at the authorization server');
      return;
    }
    log.error(
      { event: 'introspection.unavailable', reason, notLoggedSinceLastLine: this.outagesNotLogged },
      'introspection failed at the authorization server: user tokens are refused with 503',
    );
    this.lastOutageLogMs = now;
    this.outagesNotLogged = 0;
  }
}

/**
 * Some services send the token base64-encoded: a value that is strict standard base64 (with
 * padding, re-encoding to itself) of valid UTF-8 is decoded; anything else is the token.
 */
export function unwrapBase64(bearerValue: string): string {
  if (bearerValue === '' || bearerValue.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(bearerValue)) return bearerValue;
  const bytes = Buffer.from(bearerValue, 'base64');
  if (bytes.toString('base64') !== bearerValue) return bearerValue;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bearerValue;
  }
}

function parseJsonAnswer(answer: string): IntrospectionClaims {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    throw IntrospectionFailure.badAnswer('answer not JSON');
  }
  return claimsFrom(parsed, 'the answer');
}

/** The token the claims describe, if they open the API; otherwise why not. */
function acceptedToken(claims: IntrospectionClaims, config: ResourceServerConfig): IntrospectedToken {
  // In the jwt format the issuer was checked on the signed JWT itself.
  if (config.format === 'json' && claims.iss !== undefined && claims.iss !== config.issuer) {
    throw IntrospectionFailure.badAnswer('answer from another issuer');
  }
  if (claims.active !== true) throw IntrospectionFailure.refused('inactive');
  const granted = typeof claims.scope === 'string' ? claims.scope.split(' ').filter((scope) => scope !== '') : [];
  if (granted.length === 0) throw IntrospectionFailure.refused('no scope');
  const scopes = granted.map((scope) => withoutPrefix(scope, config.scopesPrefix));
  // A configured scope may be written with its prefix or without: either form counts.
  if (!config.scopes.some((wanted) => granted.includes(wanted) || scopes.includes(wanted))) {
    throw IntrospectionFailure.refused('none of the required scopes');
  }
  const audience = asText(claims[config.audienceClaim]);
  if (audience === undefined) throw IntrospectionFailure.refused(`no ${config.audienceClaim} claim`);
  if (typeof claims.sub !== 'string' || claims.sub === '') throw IntrospectionFailure.refused('no sub');
  return {
    sub: claims.sub,
    scopes,
    audience,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : undefined,
  };
}

function withoutPrefix(scope: string, prefix: string | undefined): string {
  return prefix !== undefined && prefix !== '' && scope.startsWith(`${prefix}:`) ? scope.slice(prefix.length + 1) : scope;
}

/** A claim as text: strings as they are, numbers as written, other JSON (arrays) as JSON; empty is none. */
function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  return text === '' || text === '[]' || text === '{}' ? undefined : text;
}
