/**
 * Client authentication for the token endpoint, in one place. A client proves itself
 * either with body fields or with HTTP Basic (RFC 6749 §2.3.1: base64 of
 * urlencoded(client_id) ":" urlencoded(client_secret)), never both at once.
 */
import { oauthError, type ApiError } from '../errors.js';
import { INVALID_CREDENTIALS } from './token.service.js';

export const BASIC_CHALLENGE = 'Basic realm="meet-api", charset="UTF-8"';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function invalidBasic(): ApiError {
  return oauthError(401, INVALID_CREDENTIALS, { 'www-authenticate': BASIC_CHALLENGE });
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw invalidBasic();
  }
}

/** The authentication scheme of an Authorization header and what follows it. */
function splitScheme(authorization: string): { scheme: string; credentials: string } {
  const trimmed = authorization.trim();
  const space = trimmed.indexOf(' ');
  if (space === -1) return { scheme: trimmed.toLowerCase(), credentials: '' };
  return { scheme: trimmed.slice(0, space).toLowerCase(), credentials: trimmed.slice(space + 1).trim() };
}

/** Whether the client authenticates with HTTP Basic (a 401 then carries a Basic challenge, RFC 6749 §5.2). */
export function usesBasic(authorization: string | undefined): boolean {
  return authorization !== undefined && splitScheme(authorization).scheme === 'basic';
}

/** The client id and secret of a Basic header, or undefined when another scheme (or none) is used. */
export function parseBasicCredentials(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  if (authorization === undefined) return undefined;
  const { scheme, credentials: encoded } = splitScheme(authorization);
  if (scheme !== 'basic') return undefined;
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw invalidBasic();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw invalidBasic();
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/**
 * The body's fields with the client's credentials taken from whichever single method it
 * used. Two methods at once, or a body client_id that contradicts the header, is refused
 * before anything is looked up. A body that is not an object is left as it is: validation
 * refuses it first.
 */
export function withBasicCredentials<Body>(authorization: string | undefined, body: Body): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const basic = parseBasicCredentials(authorization);
  if (!basic) return body;
  const fields = body as Record<string, unknown>;
  if (fields.client_secret !== undefined) {
    throw oauthError(400, 'Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
  }
  if (fields.client_id !== undefined && String(fields.client_id).trim() !== basic.clientId) {
    throw oauthError(400, 'The client_id in the body does not match the Authorization header.');
  }
  return { ...fields, client_id: basic.clientId, client_secret: basic.secret } as Body;
}
