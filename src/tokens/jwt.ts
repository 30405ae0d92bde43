/**
 * Signing and verifying the delegation JWT (docs/api.md: the token's claims, and bearer checks 3 to 5).
 * The algorithm is pinned to the configured one, so `none` and algorithm confusion are
 * refused before any claim is read.
 *
 * fast-jwt (verification) and node:crypto (signing, below) rather than jose: HMAC in the calling
 * thread, where jose goes through WebCrypto; on the token route that was about 90 µs of
 * CPU per request (docs/benchmarks.md). The tests check our tokens with jose.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { TokenError, createVerifier } from 'fast-jwt';
import type { Config, JwtAlgorithm } from '../config.js';

export interface DelegationClaims {
  userId: string;
  clientId: string;
  scopes: readonly string[];
}

/** What a verified token says; only exp is known to be there (and a number). */
export interface VerifiedPayload {
  exp: number;
  [claim: string]: unknown;
}

export const INVALID_TOKEN = 'Invalid token.';
export const TOKEN_EXPIRED = 'Token expired.';

/**
 * A refused token. `ours` says whether this server signed it: a token that is not ours
 * (bearer check 3: not a JWT, another key, another algorithm, no exp) may be a user's token
 * of the identity provider, for the resource-server mode to introspect; one of ours
 * refused later (expired, wrong issuer or audience) never leaves this server.
 */
export class TokenRefusal extends Error {
  constructor(
    readonly detail: string,
    readonly ours: boolean,
  ) {
    super(detail);
    this.name = 'TokenRefusal';
  }
}

/** Verified tokens remembered at most; integrators reuse one token for many requests. */
const VERIFIED_CACHE_SIZE = 10_000;

/** Expired when exp <= now, in whole seconds, no leeway: the one rule for fresh and remembered tokens. */
function isExpired(exp: number): boolean {
  return exp <= Math.floor(Date.now() / 1000);
}

/**
 * Whether the signature segment is the one base64url spelling of its bytes. Its last
 * character carries unused bits; a decoder ignores them, so without this check four
 * spellings of every token would verify.
 */
function hasCanonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  return Buffer.from(signature, 'base64url').toString('base64url') === signature;
}

/**
 * An HMAC JWT signer with what never changes computed once: the key (imported once, where
 * fast-jwt's signer hands the text key to createHmac on every call), the encoded header,
 * the hash's name. Its tokens are byte for byte fast-jwt's (test/jwt.test.ts); what was
 * signed through fast-jwt cost some 20 µs of CPU a token (docs/benchmarks.md, round 2).
 */
export function hmacSigner(secretKey: string, algorithm: JwtAlgorithm): (payload: Record<string, unknown>) => string {
  const key: KeyObject = createSecretKey(Buffer.from(secretKey, 'utf8'));
  const hash = `sha${algorithm.slice(2)}`;
  const header = `${Buffer.from(JSON.stringify({ alg: algorithm, typ: 'JWT' }), 'utf8').toString('base64url')}.`;
  return (payload) => {
    const input = header + Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
  };
}

export class JwtCodec {
  private readonly signer: (payload: Record<string, unknown>) => string;
  /** The current key's verifier first, then the former keys' (APPLICATION_JWT_SECRET_KEY_FALLBACKS). */
  private readonly verifiers: ((token: string) => Record<string, unknown>)[];
  /**
   * Tokens whose signature and claims were already checked, with their payload. A token
   * string always verifies the same way under one key, so a hit skips the HMAC; expiry
   * is still checked on every use. Bounded: the oldest entry goes first.
   */
  private readonly verified = new Map<string, VerifiedPayload>();

  constructor(
    secretKey: string,
    private readonly options: Config['jwt'],
  ) {
    this.signer = hmacSigner(secretKey, options.algorithm);
    // Expiry, issuer and audience are checked below, in the bearer checks' order.
    this.verifiers = [secretKey, ...options.fallbackKeys].map((key) =>
      createVerifier({ key, algorithms: [options.algorithm], requiredClaims: ['exp'], ignoreExpiration: true, cache: false }),
    );
  }

  /** The payload under the first key whose signature matches; a failure that is not the signature's ends the search. */
  private verifySignature(token: string): Record<string, unknown> {
    if (!hasCanonicalSignature(token)) throw new TokenRefusal(INVALID_TOKEN, false);
    for (let i = 0; ; i++) {
      try {
        return this.verifiers[i]!(token);
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        const anotherKeyMayMatch = error.code === TokenError.codes.invalidSignature && i + 1 < this.verifiers.length;
        if (!anotherKeyMayMatch) throw new TokenRefusal(INVALID_TOKEN, false);
      }
    }
  }

  /** A token carrying exactly iss, aud (when configured), iat, exp, user_id, client_id, delegated, scope (when any). */
  sign(claims: DelegationClaims): string {
    const issuedAt = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: this.options.issuer,
      ...(this.options.audience !== undefined ? { aud: this.options.audience } : {}),
      iat: issuedAt,
      exp: issuedAt + this.options.expirationSeconds,
      user_id: claims.userId,
      client_id: claims.clientId,
      delegated: true,
    };
    if (claims.scopes.length > 0) payload.scope = claims.scopes.join(' ');
    return this.signer(payload);
  }

  /**
   * The payload of a well-signed, unexpired token from this issuer (and audience), or a
   * TokenRefusal naming the first check that failed, in the bearer checks' order:
   * signature and shape, then expiry, then issuer and audience.
   */
  verify(token: string): VerifiedPayload {
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (isExpired(cached.exp)) {
        this.verified.delete(token);
        throw new TokenRefusal(TOKEN_EXPIRED, true);
      }
      return cached;
    }
    const payload = this.verifySignature(token);
    const exp = payload.exp;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new TokenRefusal(INVALID_TOKEN, false);
    if (isExpired(exp)) throw new TokenRefusal(TOKEN_EXPIRED, true);
    if (payload.iss !== this.options.issuer) throw new TokenRefusal(INVALID_TOKEN, true);
    const audience = this.options.audience;
    if (audience !== undefined) {
      const aud = payload.aud;
      const matches = typeof aud === 'string' ? aud === audience : Array.isArray(aud) && aud.includes(audience);
      if (!matches) throw new TokenRefusal(INVALID_TOKEN, true);
    }
    const verified = payload as VerifiedPayload;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, verified);
    return verified;
  }
}
