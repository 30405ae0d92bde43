/**
 * Signing and verifying the delegation JWT (CONTRACT §2.1 claims, §2.2 checks 3 to 5).
 * The algorithm is pinned to the configured one, so `none` and algorithm confusion are
 * refused by jose before any claim is read.
 */
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config.js';
import { detailError } from '../errors.js';

export interface DelegationClaims {
  userId: string;
  clientId: string;
  scopes: readonly string[];
}

export const INVALID_TOKEN = 'Invalid token.';
export const TOKEN_EXPIRED = 'Token expired.';

/** Verified tokens remembered at most; integrators reuse one token for many requests. */
const VERIFIED_CACHE_SIZE = 10_000;

const HASH_OF: Record<Config['jwt']['algorithm'], string> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

export class JwtCodec {
  /** Imported once: jose would otherwise import the raw key again on every call. */
  private readonly key: Promise<CryptoKey>;
  /**
   * Tokens whose signature and claims were already checked, with their payload. A token
   * string always verifies the same way under one key, so a hit skips the HMAC; expiry
   * is still checked on every use. Bounded: the oldest entry goes first.
   */
  private readonly verified = new Map<string, JWTPayload>();

  constructor(
    secretKey: string,
    private readonly options: Config['jwt'],
  ) {
    this.key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secretKey),
      { name: 'HMAC', hash: HASH_OF[options.algorithm] },
      false,
      ['sign', 'verify'],
    );
  }

  /** A token carrying exactly iss, aud (when configured), iat, exp, user_id, client_id, delegated, scope (when any). */
  async sign(claims: DelegationClaims): Promise<string> {
    const payload: JWTPayload = { user_id: claims.userId, client_id: claims.clientId, delegated: true };
    if (claims.scopes.length > 0) payload.scope = claims.scopes.join(' ');
    const issuedAt = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: this.options.algorithm, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.options.expirationSeconds);
    if (this.options.audience !== undefined) jwt.setAudience(this.options.audience);
    return jwt.sign(await this.key);
  }

  /**
   * The payload of a well-signed, unexpired token from this issuer (and audience), or a
   * 401 naming the first check that failed, in the contract's order: signature and
   * shape, then expiry, then issuer and audience.
   */
  async verify(token: string): Promise<JWTPayload> {
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      // Same rule as jose's: expired when exp <= now, no leeway.
      if ((cached.exp as number) <= Math.floor(Date.now() / 1000)) {
        this.verified.delete(token);
        throw detailError(401, TOKEN_EXPIRED);
      }
      return cached;
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: [this.options.algorithm],
        requiredClaims: ['exp'],
        clockTolerance: 0,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw detailError(401, TOKEN_EXPIRED);
      throw detailError(401, INVALID_TOKEN);
    }
    if (payload.iss !== this.options.issuer) throw detailError(401, INVALID_TOKEN);
    const audience = this.options.audience;
    if (audience !== undefined) {
      const aud = payload.aud;
      const matches = typeof aud === 'string' ? aud === audience : Array.isArray(aud) && aud.includes(audience);
      if (!matches) throw detailError(401, INVALID_TOKEN);
    }
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, payload);
    return payload;
  }
}
