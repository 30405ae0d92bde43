/**
 * Sends each request with the cached bearer token. A token can expire between the
 * client's check and the server's (clock skew, a suspended process): on the server's
 * `401 {"detail": "Token expired."}` it takes one new token and sends the request once more.
 */
import type { TokenSource } from './token-source.js';
import type { FetchFunction } from './types.js';

export const TOKEN_EXPIRED = 'Token expired.';

export function authorizedFetch(fetch: FetchFunction, tokens: TokenSource): FetchFunction {
  return async (request) => {
    const token = await tokens.current();
    const response = await fetch(withBearer(request, token));
    if (!(await saysTokenExpired(response))) return response;
    tokens.discard(token);
    await response.body?.cancel();
    return fetch(withBearer(request, await tokens.current()));
  };
}

/** A copy, so that the original (and its body) can be sent again. */
function withBearer(request: Request, token: string): Request {
  const copy = request.clone();
  copy.headers.set('authorization', `Bearer ${token}`);
  return copy;
}

async function saysTokenExpired(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  try {
    const body: unknown = await response.clone().json();
    return typeof body === 'object' && body !== null && 'detail' in body && body.detail === TOKEN_EXPIRED;
  } catch {
    return false; // not JSON: some other refusal
  }
}
