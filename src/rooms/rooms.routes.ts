/** The rooms API (CONTRACT §2.2, §2.3): bearer-authenticated, one scope per operation. */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { rejectOtherMethods, requestOrigin, requireObjectBody } from '../http/routing.js';
import type { Scope } from '../scopes.js';
import { requireScope, type BearerAuthenticator, type Principal } from '../tokens/bearer-auth.js';
import { pageLink, parsePagination } from './pagination.js';
import { viewRoom } from './room-view.js';
import { roomListSchema, roomSchema } from './rooms.schemas.js';
import { parseRoomKey, type RoomsService } from './rooms.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const ROOMS_PATH = '/external-api/v1.0/rooms/';
export const ROOM_PATH = '/external-api/v1.0/rooms/:id/';

export interface RoomsRoutesOptions {
  rooms: RoomsService;
  auth: BearerAuthenticator;
  config: Config;
}

/**
 * ?slug= narrows the list to that room; a repeated or non-text value is a 400. A value
 * that cannot be a slug matches nothing (the empty string, never sent to the database).
 */
function parseSlugFilter(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ApiError(400, { slug: ['Enter a single slug.'] });
  const key = parseRoomKey(value.trim());
  return key !== undefined && 'slug' in key ? key.slug : '';
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}

export async function roomsRoutes(app: FastifyInstance, options: RoomsRoutesOptions): Promise<void> {
  const { rooms, auth, config } = options;
  app.decorateRequest('principal', null);

  // Authentication and scope run in onRequest, before the body is read: a caller without
  // the right token learns nothing about how its body would have been judged.
  const guard =
    (scope: Scope): onRequestHookHandler =>
    async (request) => {
      const principal = await auth.authenticate(request.headers.authorization);
      requireScope(principal, scope);
      request.principal = principal;
    };

  app.get(ROOMS_PATH, { onRequest: guard('rooms:list'), schema: { response: { 200: roomListSchema } } }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const { page, pageSize } = parsePagination(query);
    const slug = parseSlugFilter(query.slug);
    const { count, rooms: found } = await rooms.listRoomsForUser(principalOf(request).userId, page, pageSize, slug);
    const origin = requestOrigin(request);
    return {
      count,
      next: page * pageSize < count ? pageLink(origin, request.url, page + 1) : null,
      previous: page > 1 ? pageLink(origin, request.url, page - 1) : null,
      results: found.map((room) => viewRoom(room, config)),
    };
  });

  app.post(ROOMS_PATH, { onRequest: guard('rooms:create'), schema: { response: { 201: roomSchema } } }, async (request, reply) => {
    requireObjectBody(request.body); // fields are ignored, but the body must be an object
    const principal = principalOf(request);
    const room = await rooms.createRoom({ ownerId: principal.userId, clientId: principal.clientId });
    return reply
      .code(201)
      .header('location', `${requestOrigin(request)}${ROOMS_PATH}${room.id}/`)
      .send(viewRoom(room, config));
  });
  rejectOtherMethods(app, ROOMS_PATH, ['GET', 'POST']);

  // {id} is the room's UUID or (v1.1) its slug.
  app.get(ROOM_PATH, { onRequest: guard('rooms:retrieve'), schema: { response: { 200: roomSchema } } }, async (request) => {
    const { id } = request.params as { id: string };
    return viewRoom(await rooms.getRoomForUser(id, principalOf(request).userId), config);
  });

  // v1.1: replace the attendee list (owner or administrator).
  app.patch(ROOM_PATH, { onRequest: guard('rooms:update'), schema: { response: { 200: roomSchema } } }, async (request) => {
    const { id } = request.params as { id: string };
    const body = requireObjectBody(request.body);
    return viewRoom(await rooms.setAttendeesAsUser(id, principalOf(request).userId, body.attendees), config);
  });

  // v1.1: delete a room the application created, for its owner.
  app.delete(ROOM_PATH, { onRequest: guard('rooms:delete') }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const principal = principalOf(request);
    await rooms.deleteRoomAsApplication(id, principal.userId, principal.clientId);
    return reply.code(204).send();
  });
  rejectOtherMethods(app, ROOM_PATH, ['GET', 'PATCH', 'DELETE']);
}
