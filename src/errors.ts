/**
 * One error type for every answer that is not a success. Services throw it (they know the
 * rule that failed), HTTP routes send its status and body as they are, and the CLI prints
 * its message. The body keeps the exact shape the contract promises for that answer:
 * `{"detail": ...}` for the rooms API, `{"error": ...}` for the token endpoint, or one key
 * per invalid field.
 */
export type ErrorBody = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(describe(body));
    this.name = 'ApiError';
  }
}

function describe(body: ErrorBody): string {
  if (typeof body.detail === 'string') return body.detail;
  if (typeof body.error === 'string') return body.error;
  return Object.entries(body)
    .map(([field, problems]) => `${field}: ${Array.isArray(problems) ? problems.join(' ') : JSON.stringify(problems)}`)
    .join('; ');
}

/** `{"detail": message}`: the rooms API's and the framework's errors. */
export function detailError(statusCode: number, message: string, headers?: Record<string, string>): ApiError {
  return new ApiError(statusCode, { detail: message }, headers);
}

/** `{"error": message}`: the token endpoint's OAuth-shaped errors. */
export function oauthError(statusCode: number, message: string, headers?: Record<string, string>): ApiError {
  return new ApiError(statusCode, { error: message }, headers);
}

export const NOT_FOUND = 'Not found.';
export const SERVICE_UNAVAILABLE = 'Service temporarily unavailable.';
