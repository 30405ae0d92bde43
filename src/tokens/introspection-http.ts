/**
 * The introspection call itself (RFC 7662): one POST to the authorization server, bounded
 * in time from connecting to the last byte of the answer, turned into the answer's text or
 * an IntrospectionFailure.
 */
import type { ResourceServerConfig } from '../config.js';
import { IntrospectionFailure, NO_ERROR_DESCRIPTION } from './introspection-answer.js';

/** RFC 9701's media type: the answer as a signed (and maybe encrypted) JWT. */
export const JWT_INTROSPECTION_TYPE = 'application/token-introspection+jwt';

/** The answer's body, from a 2xx; every other outcome throws. */
export async function requestIntrospection(config: ResourceServerConfig, token: string): Promise<string> {
  // One deadline for the whole exchange: the same signal aborts the connection, the wait
  // for the headers and the reading of the body, so a server that stalls midway cannot
  // leave the request hanging.
  const signal = AbortSignal.timeout(config.timeoutMs);
  let response: Response;
  try {
    response = await fetch(config.introspectionEndpoint, {
      method: 'POST',
      headers: {
        Accept: config.format === 'jwt' ? JWT_INTROSPECTION_TYPE : 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ client_id: config.clientId, client_secret: config.clientSecret, token }),
      // A redirect would carry the client secret and the token elsewhere: it counts as an error.
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    throw IntrospectionFailure.unavailable(whyUnreachable(error));
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const challenge = response.headers.get('www-authenticate');
    if (response.status === 401 && challenge !== null) {
      throw IntrospectionFailure.challenged(errorDescription(challenge) ?? NO_ERROR_DESCRIPTION);
    }
    throw IntrospectionFailure.unavailable(`answered status ${response.status}`);
  }
  try {
    return await response.text();
  } catch (error) {
    throw IntrospectionFailure.unavailable(whyUnreachable(error));
  }
}

/**
 * The error_description parameter of a WWW-Authenticate challenge (RFC 6750 §3), quoted
 * (with backslash escapes) or bare; undefined when the challenge has none.
 */
export function errorDescription(challenge: string): string | undefined {
  const match = /(?:^|[\s,])error_description=(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/i.exec(challenge);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

/** A token-free account of a failed exchange, for the logs. */
export function whyUnreachable(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    return `unreachable (${cause.code})`;
  }
  return error instanceof Error ? `unreachable (${error.message})` : 'unreachable';
}
