/**
 * What an introspection answer (RFC 7662) is made of, and the ways asking for one fails,
 * sorted as the resource-server contract answers them.
 */
import { ApiError, SERVICE_UNAVAILABLE, detailError } from '../errors.js';

/** The members of an introspection answer (`active`, `scope`, `sub`, `exp`...). */
export type IntrospectionClaims = Readonly<Record<string, unknown>>;

export const LOGIN_FAILED = 'Login failed';
export const NO_ERROR_DESCRIPTION = 'no error description in www-authenticate';

const INVALID_TOKEN = { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' };
// Long enough for a blip of the authorization server to pass, short enough to feel live.
const RETRY_AFTER = { 'Retry-After': '5' };

/**
 * - `refused`: the answer is sound but the token does not open the API (inactive, missing
 *   scope...): an everyday event.
 * - `bad_answer`: the answer itself cannot be trusted (not JSON, bad signature, wrong
 *   issuer...): a misconfiguration or a forgery, worth a warning.
 * - `challenged`: the authorization server refused with a 401 and its own description.
 * - `unavailable`: the authorization server could not be asked (down, slow, erroring).
 */
export type FailureKind = 'refused' | 'bad_answer' | 'challenged' | 'unavailable';

export class IntrospectionFailure extends Error {
  private constructor(
    readonly kind: FailureKind,
    /** Short, token-free words for the logs. */
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'IntrospectionFailure';
  }

  static refused(reason: string): IntrospectionFailure {
    return new IntrospectionFailure('refused', reason);
  }

  static badAnswer(reason: string): IntrospectionFailure {
    return new IntrospectionFailure('bad_answer', reason);
  }

  /** `description` is the authorization server's error_description, shown to the caller. */
  static challenged(description: string): IntrospectionFailure {
    return new IntrospectionFailure('challenged', description);
  }

  static unavailable(reason: string): IntrospectionFailure {
    return new IntrospectionFailure('unavailable', reason);
  }

  toApiError(): ApiError {
    switch (this.kind) {
      case 'unavailable':
        return detailError(503, SERVICE_UNAVAILABLE, RETRY_AFTER);
      case 'challenged':
        return detailError(401, this.reason, INVALID_TOKEN);
      default:
        return detailError(401, LOGIN_FAILED, INVALID_TOKEN);
    }
  }
}

/** The claims of an answer, which must be a JSON object; anything else is a bad answer. */
export function claimsFrom(value: unknown, whatItIs: string): IntrospectionClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw IntrospectionFailure.badAnswer(`${whatItIs} is not an object`);
  }
  return value as IntrospectionClaims;
}
