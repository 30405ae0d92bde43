/** The rooms API: bearer-authenticated, one scope per operation. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../config.js';
import { INVALID_JSON, bodyTooLargeAnswer, notFoundAnswer, unavailableAnswer, unsupportedMediaTypeAnswer } from '../http/errors.js';
import { ROOM_PATH, ROOMS_PATH } from '../http/paths.js';
import { methodNotAllowedAnswer, rejectOtherMethods } from '../http/routing.js';
import { linkOrigin, requestTarget } from '../http/transport.js';
import { ErrorSchema, FieldErrorsSchema, RETRY_AFTER, answer, detailExample, ref, type Examples, type HeaderDeclaration } from '../http/schemas.js';
import { throttledMessage, type Throttles } from '../limits/throttles.js';
import type { Metrics } from '../metrics.js';
import { InvalidBodyShapeError } from '../input-validation.js';
import type { Scope } from '../scopes.js';
import {
  BEARER_CHALLENGES,
  BEARER_FAILURES,
  INSUFFICIENT_PERMISSIONS,
  missingScope,
  NO_USER_FOR_TOKEN,
  requireScope,
  type BearerAuthenticator,
  type Principal,
} from '../tokens/bearer-auth.js';
import { DEFAULT_PAGE_SIZE, FIRST_PAGE, MAX_PAGE_SIZE, pageLink } from './pagination.js';
import { viewRoom } from './room-view.js';
import {
  MAX_ATTENDEES,
  RoomCreateSchema,
  RoomKeyParamsSchema,
  RoomListQuerySchema,
  RoomListSchema,
  RoomSchema,
  RoomUpdateSchema,
} from './rooms.schemas.js';
import { LOGIN_FAILED } from '../tokens/introspection-answer.js';
import { FORBIDDEN, HAS_RECORDINGS, INVALID_PAGE, NOT_CREATED_BY_APPLICATION, NOT_OWNER, PUBLIC_ROOMS_DISABLED, parseRoomKey, type RoomsService } from './rooms.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface RoomsRoutesOptions {
  rooms: RoomsService;
  auth: BearerAuthenticator;
  config: Config;
  throttles: Throttles;
  metrics: Metrics;
}

/** ?slug= narrows the list to that room; a value that cannot be a slug matches nothing (the empty string, never sent to the database). */
function slugFilter(slug: string | undefined): string | undefined {
  if (slug === undefined) return undefined;
  const key = parseRoomKey(slug);
  return key !== undefined && 'slug' in key ? key.slug : '';
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}

const unauthorizedAnswer = answer(
  'No valid bearer token. For an application token, the first check that failed, in the order listed; for a user token ' +
    'of the identity provider (resource-server mode), why introspection refused it.',
  ref(ErrorSchema),
  {
    ...Object.fromEntries(Object.entries(BEARER_FAILURES).map(([name, message]) => [name, detailExample(message, message)])),
    loginFailed: detailExample('User token: inactive, without the required scope, or an answer that cannot be trusted', LOGIN_FAILED),
    noUserForToken: detailExample('User token: no user has its sub, and users are not created on first sight', NO_USER_FOR_TOKEN),
  },
  { 'WWW-Authenticate': { description: 'An RFC 6750 challenge.', type: 'string', example: BEARER_CHALLENGES.invalidToken } },
);

/** The 400s the room options may get (RoomCreateSchema, RoomUpdateSchema). */
const optionExamples: Examples = {
  badAccessLevel: { summary: 'An access level that does not exist', value: { access_level: ['"open" is not a valid choice.'] } },
  publicDisabled: { summary: 'public while the deployment keeps public rooms out of the API', value: { access_level: [PUBLIC_ROOMS_DISABLED] } },
  badConfiguration: {
    summary: 'An unknown configuration key and a bad value, each named',
    value: { configuration: ['hologram: Extra inputs are not permitted', 'everyone_can_mute: Input should be a valid boolean'] },
  },
};

function forbiddenAnswer(scope: Scope, description: string, more: Examples = {}) {
  return answer(
    description,
    ref(ErrorSchema),
    {
      missingScope: detailExample(`The token does not carry ${scope}`, missingScope(scope)),
      noScope: detailExample('The token carries no scope at all', INSUFFICIENT_PERMISSIONS),
      ...more,
    },
    {
      'WWW-Authenticate': {
        description: 'With the missing-scope answer only (RFC 6750 §3.1).',
        type: 'string',
        example: BEARER_CHALLENGES.insufficientScope(scope),
      },
    },
  );
}

/** What every rooms operation may answer besides its own: refused tokens, other methods, an unavailable database. */
const RATE_LIMIT_HEADERS: Record<string, HeaderDeclaration> = {
  'RateLimit-Limit': { description: 'The application\'s requests per minute (RATE_LIMIT_APPLICATION_PER_MINUTE); sent while a limit applies.', type: 'integer', example: 6000 },
  'RateLimit-Remaining': { description: 'What is left of it over the last minute.', type: 'integer', example: 5999 },
  'RateLimit-Reset': { description: 'Seconds until the count eases.', type: 'integer', example: 42 },
};

const throttledAnswer = answer(
  'The application spent its budget of requests for the last minute: wait `Retry-After` seconds',
  ref(ErrorSchema),
  { throttled: detailExample('Past RATE_LIMIT_APPLICATION_PER_MINUTE', throttledMessage(5)) },
  { ...RATE_LIMIT_HEADERS, 'Retry-After': RETRY_AFTER },
);

function protectedAnswers(scope: Scope, forbiddenDescription: string, methods: readonly string[], more: Examples = {}) {
  return {
    401: unauthorizedAnswer,
    403: forbiddenAnswer(scope, forbiddenDescription, more),
    405: methodNotAllowedAnswer(methods),
    429: throttledAnswer,
    503: unavailableAnswer(),
  };
}

const bodyAnswers = {
  413: bodyTooLargeAnswer(),
  415: unsupportedMediaTypeAnswer('`application/json`'),
};

const notAnObject = detailExample('A JSON body that is not an object', 'Invalid data. Expected a JSON object, but got array.');
const brokenJson = detailExample('A body that is not valid JSON', INVALID_JSON);

const ROOMS_METHODS = ['GET', 'POST'];
const ROOM_METHODS = ['GET', 'PATCH', 'DELETE'];

export const roomsRoutes: FastifyPluginAsyncTypebox<RoomsRoutesOptions> = async (app, { rooms, auth, config, throttles, metrics }) => {
  app.decorateRequest('principal', null);

  // Authentication, scope and the application's budget run in onRequest, before the body
  // is read: a caller without the right token learns nothing about how its body would have
  // been judged. As in DRF, a request refused for its token or scope spends no budget.
  const guard =
    (scope: Scope): onRequestHookHandler =>
    async (request, reply) => {
      const principal = await auth.authenticate(request.headers.authorization, request.log);
      requireScope(principal, scope);
      const budget = await throttles.spendApplicationBudget(principal.budgetKey ?? principal.clientId);
      if (budget !== undefined) reply.headers(budget);
      request.principal = principal;
    };
  const bearer = (scope: Scope) => [{ BearerAuth: [scope] }];

  app.get(
    ROOMS_PATH,
    {
      onRequest: guard('rooms:list'),
      schema: {
        tags: ['Rooms'],
        summary: 'List rooms',
        description:
          'The rooms on which the delegated user holds a role (owner, administrator or member), each once, newest first, ties ' +
          'broken by id: pages never repeat or skip a room while nothing changes. Page 1 of an empty list is `200`; a page past the last one is `404`.',
        operationId: 'listRooms',
        security: bearer('rooms:list'),
        querystring: RoomListQuerySchema,
        response: {
          200: answer('One page of the user\'s rooms', ref(RoomListSchema)),
          400: answer('A malformed or out-of-bounds parameter, named', ref(FieldErrorsSchema), {
            pageSizeTooLarge: { summary: `page_size above ${MAX_PAGE_SIZE}`, value: { page_size: [`Ensure this value is less than or equal to ${MAX_PAGE_SIZE}.`] } },
            notAnInteger: { summary: 'Not an integer, or a repeated parameter', value: { page: ['A valid integer is required.'] } },
          }),
          404: answer('A page past the last one', ref(ErrorSchema), { invalidPage: detailExample('Page past the last one', INVALID_PAGE) }),
          ...protectedAnswers('rooms:list', 'The token lacks the scope', ROOMS_METHODS),
        },
      },
    },
    async (request) => {
      const { page = FIRST_PAGE, page_size: pageSize = DEFAULT_PAGE_SIZE, slug } = request.query;
      const { count, rooms: found } = await rooms.listRoomsForUser(principalOf(request).userId, page, pageSize, slugFilter(slug));
      const origin = linkOrigin(request, config.publicUrl);
      const target = requestTarget(request);
      return {
        count,
        next: page * pageSize < count ? pageLink(origin, target, page + 1) : null,
        previous: page > 1 ? pageLink(origin, target, page - 1) : null,
        results: found.map((room) => viewRoom(room, config)),
      };
    },
  );

  app.post(
    ROOMS_PATH,
    {
      onRequest: guard('rooms:create'),
      schema: {
        tags: ['Rooms'],
        summary: 'Create a room',
        description:
          'Creates a room owned by the delegated user, with a generated slug (`xxx-xxxx-xxx`, also its name) and dial-in PIN, ' +
          'and the calling application (or, with a user token, the calling service) recorded as its creator. The body is optional; ' +
          'only the room options are read: `access_level` (default: the deployment\'s, `trusted` unless configured) and `configuration`.',
        operationId: 'createRoom',
        security: bearer('rooms:create'),
        body: RoomCreateSchema,
        response: {
          201: answer('The new room', ref(RoomSchema), undefined, {
            Location: { description: 'The new room\'s absolute URL.', type: 'string' },
          }),
          400: answer('Invalid room options (named), or a body that is not a JSON object, or not JSON', { anyOf: [ref(FieldErrorsSchema), ref(ErrorSchema)] }, {
            ...optionExamples,
            notAnObject,
            brokenJson,
          }),
          ...bodyAnswers,
          ...protectedAnswers('rooms:create', 'The token lacks the scope', ROOMS_METHODS),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const room = await rooms.createRoomForApplication(principal.userId, principal.clientId, request.body, request.log);
      metrics.roomCreated();
      return reply
        .code(201)
        .header('location', `${linkOrigin(request, config.publicUrl)}${ROOMS_PATH}${room.id}/`)
        .send(viewRoom(room, config));
    },
  );
  rejectOtherMethods(app, ROOMS_PATH, ROOMS_METHODS);

  const noRole = detailExample('The user holds no role on the room', FORBIDDEN);

  app.get(
    ROOM_PATH,
    {
      onRequest: guard('rooms:retrieve'),
      schema: {
        tags: ['Rooms'],
        summary: 'Retrieve a room',
        description: 'One room, by id or (v1.1) slug. The delegated user must hold a role on it.',
        operationId: 'retrieveRoom',
        security: bearer('rooms:retrieve'),
        params: RoomKeyParamsSchema,
        response: {
          200: answer('The room', ref(RoomSchema)),
          404: notFoundAnswer('No such room'),
          ...protectedAnswers('rooms:retrieve', 'The token lacks the scope, or the user holds no role on the room', ROOM_METHODS, { noRole }),
        },
      },
    },
    async (request) => viewRoom(await rooms.getRoomForUser(request.params.id, principalOf(request).userId), config),
  );

  app.patch(
    ROOM_PATH,
    {
      onRequest: guard('rooms:update'),
      // The body is judged after the room's existence and the user's permission (below).
      attachValidation: true,
      schema: {
        tags: ['Rooms'],
        summary: 'Change a room: access level, configuration, attendees',
        description:
          'Each of `access_level`, `configuration` and (v1.1) `attendees` that is present replaces the stored value; those absent ' +
          'stay as they are, and a body with none of them changes nothing. The delegated user must be the room\'s owner or an ' +
          'administrator; existence and permission are settled before the body is judged. A refused change writes nothing.',
        operationId: 'updateRoom',
        security: bearer('rooms:update'),
        params: RoomKeyParamsSchema,
        body: RoomUpdateSchema,
        response: {
          200: answer('The room, as changed', ref(RoomSchema)),
          400: answer('Invalid room options or attendees (bad entries named by index), or a body that is not a JSON object', { anyOf: [ref(FieldErrorsSchema), ref(ErrorSchema)] }, {
            ...optionExamples,
            invalidEntries: { summary: 'Entries that are not email addresses', value: { attendees: { '2': ['Enter a valid email address.'] } } },
            tooMany: { summary: `More than ${MAX_ATTENDEES} entries`, value: { attendees: [`Ensure this field has no more than ${MAX_ATTENDEES} elements.`] } },
            notAnObject,
            brokenJson,
          }),
          404: notFoundAnswer('No such room'),
          ...bodyAnswers,
          ...protectedAnswers('rooms:update', 'The token lacks the scope, or the user is neither owner nor administrator', ROOM_METHODS, { notAllowed: detailExample('A member, or no role', FORBIDDEN) }),
        },
      },
    },
    async (request) => {
      const invalid = request.validationError;
      if (invalid instanceof InvalidBodyShapeError) throw invalid;
      const room = await rooms.roomToUpdate(request.params.id, principalOf(request).userId);
      if (invalid) throw invalid;
      return viewRoom(await rooms.updateRoomForApplication(room, request.body), config);
    },
  );

  app.delete(
    ROOM_PATH,
    {
      onRequest: guard('rooms:delete'),
      schema: {
        tags: ['Rooms'],
        summary: 'Delete a room (v1.1)',
        description: 'Deletes a room the calling application created, when the delegated user owns it; its accesses and attendees go with it.',
        operationId: 'deleteRoom',
        security: bearer('rooms:delete'),
        params: RoomKeyParamsSchema,
        response: {
          204: { description: 'Deleted (no body)', type: 'null' },
          404: notFoundAnswer('No such room'),
          409: answer('Beside Meet (DATABASE_LAYOUT=meet): the room has recordings, whose files only Meet deletes; nothing was deleted', ref(ErrorSchema), {
            hasRecordings: detailExample('The room has recordings in Meet', HAS_RECORDINGS),
          }),
          ...protectedAnswers('rooms:delete', 'The token lacks the scope, another application created the room, or the user does not own it', ROOM_METHODS, {
            notCreatedByApplication: detailExample('Another application created the room', NOT_CREATED_BY_APPLICATION),
            notOwner: detailExample('The user does not own the room', NOT_OWNER),
          }),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await rooms.deleteRoomAsApplication(request.params.id, principal.userId, principal.clientId, request.log);
      return reply.code(204).send(null);
    },
  );
  rejectOtherMethods(app, ROOM_PATH, ROOM_METHODS);
};
