import type { ApiErrorBody } from './types.js';

/**
 * A non-success answer from the server. `body` is the parsed JSON error body, typed by the
 * description; it is the raw text when the answer was not JSON (a proxy's page, say), and
 * undefined when it was empty.
 */
export class MeetApiError extends Error {
  override readonly name = 'MeetApiError';

  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | string | undefined,
    /** The answer's headers: Retry-After, WWW-Authenticate and the like. */
    readonly headers: Headers,
  ) {
    super(`Meet API answered ${status}${describe(body)}`);
  }

  /** The one-sentence `detail` of the rooms API's and the framework's errors, when the body has one. */
  get detail(): string | undefined {
    const body = this.body;
    return typeof body === 'object' && 'detail' in body && typeof body.detail === 'string' ? body.detail : undefined;
  }
}

function describe(body: ApiErrorBody | string | undefined): string {
  if (body === undefined || body === '') return '';
  return `: ${typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body)}`;
}
