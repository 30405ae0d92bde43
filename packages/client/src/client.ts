/**
 * MeetClient: the rooms operations of the Meet External API for one application acting
 * for one user. Paths, parameters, bodies and answers are typed by openapi-fetch from the
 * generated description; the layers below it add the token and the retries.
 */
import createClient, { type Client } from 'openapi-fetch';
import { expectSuccess, successBody } from './answers.js';
import { authorizedFetch } from './authorized-fetch.js';
import { retryingFetch, type RetryEvent } from './retrying-fetch.js';
import { TokenSource, type Credentials } from './token-source.js';
import type { FetchFunction, ListRoomsQuery, paths, Room, RoomChanges, RoomList } from './types.js';

const ROOMS = '/external-api/v1.0/rooms/';
const ROOM = '/external-api/v1.0/rooms/{id}/';

export interface MeetClientOptions extends Credentials {
  /** Where the server is, e.g. `https://meet.example.org` (the paths carry `/external-api/v1.0`). */
  baseUrl: string;
  /** Take a new token this long before the cached one expires. Default 30. */
  tokenRefreshMarginSeconds?: number;
  /** Retries of a 429 or 503 answer. Default 3. */
  maxRetries?: number;
  /** The longest wait before a retry, whatever Retry-After asks. Default 30 000. */
  maxRetryWaitMs?: number;
  /** The wait before a retry when the answer has no Retry-After. Default 1 000. */
  defaultRetryWaitMs?: number;
  /** Told before each retry, with the Retry-After read and the wait chosen (for logs and metrics). */
  onRetry?: (event: RetryEvent) => void;
  /** The clock on which token lifetimes are measured, in milliseconds. Default Date.now. */
  now?: () => number;
  /** Sends the requests. Default the platform's fetch. */
  fetch?: FetchFunction;
}

export class MeetClient {
  private readonly api: Client<paths>;

  constructor(options: MeetClientOptions) {
    const send = retryingFetch(options.fetch ?? ((request) => fetch(request)), {
      maxRetries: options.maxRetries ?? 3,
      maxWaitMs: options.maxRetryWaitMs ?? 30_000,
      defaultWaitMs: options.defaultRetryWaitMs ?? 1_000,
      onRetry: options.onRetry,
    });
    const tokens = new TokenSource(createClient<paths>({ baseUrl: options.baseUrl, fetch: send }), options, {
      refreshMarginMs: (options.tokenRefreshMarginSeconds ?? 30) * 1000,
      now: options.now ?? Date.now,
    });
    this.api = createClient<paths>({ baseUrl: options.baseUrl, fetch: authorizedFetch(send, tokens) });
  }

  /** One page of the user's rooms, newest first. */
  async listRooms(query: ListRoomsQuery = {}): Promise<RoomList> {
    return successBody(await this.api.GET(ROOMS, { params: { query } }));
  }

  /** Every room of the user, newest first, fetching page after page as the loop asks. */
  async *rooms(options: { pageSize?: number } = {}): AsyncGenerator<Room, void, undefined> {
    for (let page = 1; ; page++) {
      const list = await this.listRooms({ page, page_size: options.pageSize });
      yield* list.results;
      if (list.next === null) return;
    }
  }

  /** A room by its id or (v1.1) its slug. */
  async getRoom(idOrSlug: string): Promise<Room> {
    return successBody(await this.api.GET(ROOM, { params: { path: { id: idOrSlug } } }));
  }

  /** A new room owned by the user; the server generates everything. */
  async createRoom(): Promise<Room> {
    return successBody(await this.api.POST(ROOMS, { body: {} }));
  }

  /** Replaces the room's attendee list (v1.1). */
  async updateRoom(idOrSlug: string, changes: RoomChanges): Promise<Room> {
    return successBody(await this.api.PATCH(ROOM, { params: { path: { id: idOrSlug } }, body: changes }));
  }

  /** Deletes a room this application created for the user (v1.1). */
  async deleteRoom(idOrSlug: string): Promise<void> {
    expectSuccess(await this.api.DELETE(ROOM, { params: { path: { id: idOrSlug } } }));
  }
}
