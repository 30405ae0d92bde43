/**
 * Names for the shapes the client hands out, all taken from the types generated from the
 * server's served description (src/generated/openapi.ts, written by `npm run build`).
 */
import type { components, operations } from './generated/openapi.js';

export type { components, operations, paths } from './generated/openapi.js';

type Schemas = components['schemas'];

export type Room = Schemas['Room'];
export type RoomList = Schemas['RoomList'];
export type TokenAnswer = Schemas['TokenResponse'];
/** `page`, `page_size` and (v1.1) `slug` of GET /rooms/. */
export type ListRoomsQuery = NonNullable<operations['listRooms']['parameters']['query']>;
/** The body of PATCH /rooms/{id}/: the new attendee list. */
export type RoomChanges = operations['updateRoom']['requestBody']['content']['application/json'];

/** Every error body the description declares: `{detail}`, the token endpoint's `{error}`, per-field messages. */
export type ApiErrorBody = Schemas['Error'] | Schemas['OAuthError'] | Schemas['FieldErrors'];

/** What the client calls to send a request: the platform's `fetch`, or a wrapper around it. */
export type FetchFunction = (request: Request) => Promise<Response>;
