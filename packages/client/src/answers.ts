/**
 * Turns openapi-fetch's `{data, error, response}` into a value or a thrown MeetApiError.
 * `E extends ApiErrorBody` makes the build fail if the description ever declares an error
 * body that MeetApiError's type does not cover.
 */
import { MeetApiError } from './errors.js';
import type { ApiErrorBody } from './types.js';

interface Answer<Data, ErrorBody> {
  data?: Data;
  error?: ErrorBody;
  response: Response;
}

/** The success body; an answer without one (or any non-2xx) is an error. */
export function successBody<Data, ErrorBody extends ApiErrorBody>(answer: Answer<Data, ErrorBody>): Data {
  if (answer.response.ok && answer.data !== undefined) return answer.data;
  throw errorOf(answer);
}

/** For operations that answer 204: only the status matters. */
export function expectSuccess<ErrorBody extends ApiErrorBody>(answer: Answer<unknown, ErrorBody>): void {
  if (!answer.response.ok) throw errorOf(answer);
}

function errorOf({ error, response }: Answer<unknown, ApiErrorBody>): MeetApiError {
  return new MeetApiError(response.status, error, response.headers);
}
