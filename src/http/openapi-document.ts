/**
 * The API description this server implements, served at /external-api/v1.0/openapi.json.
 *
 * It starts from the published description (../shared/openapi.yaml, v1.0.0) and is
 * corrected to what the server really does (../shared/CONTRACT.md wins where the two
 * disagree): both content types and HTTP Basic on the token endpoint, `{"detail": ...}`
 * bodies on every rooms error, every authentication message, pagination errors, 405 with
 * Allow, `url` and `telephony` shown only when configured. It is published as v1.1.0:
 * additive over v1.0.0 (attendees, deletion, lookup by slug, and the internal admission
 * route mounted only while INTERNAL_API_TOKEN is set), each addition marked v1.1.
 * test/openapi.test.ts keeps this document and the mounted routes in step.
 *
 * Plain data only: it is served with JSON.stringify.
 */

const BEARER_CHALLENGE = 'Bearer realm="api"';
const BEARER_INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"';
const BASIC_CHALLENGE = 'Basic realm="meet-api", charset="UTF-8"';

const ROOM_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const ROOM_SLUG = 'aae-erez-aaz';

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** One named example of a `{"detail": message}` body. */
const detailExample = (summary: string, message: string) => ({ summary, value: { detail: message } });

/** Headers every answer of the token endpoint carries, errors included (RFC 6749 §5.1). */
const noStoreHeaders = {
  'Cache-Control': headerRef('CacheControlNoStore'),
  Pragma: headerRef('PragmaNoCache'),
};

/** A 403 for a rooms operation: the scope it needs is named; a token without any scope is told so. */
function forbidden(scope: string, description: string, more: Record<string, { summary: string; value: { detail: string } }> = {}) {
  return {
    description,
    headers: {
      'WWW-Authenticate': {
        description: `Sent with the missing-scope answer only (RFC 6750 §3.1): \`Bearer realm="api", error="insufficient_scope", scope="${scope}"\`.`,
        schema: { type: 'string' },
        example: `Bearer realm="api", error="insufficient_scope", scope="${scope}"`,
      },
    },
    content: {
      'application/json': {
        schema: schemaRef('Error'),
        examples: {
          missingScope: detailExample(`The token does not carry ${scope}`, `Insufficient permissions. Required scope: ${scope}`),
          noScope: detailExample('The token carries no scope at all', 'Insufficient permissions.'),
          ...more,
        },
      },
    },
  };
}

const PATH_NOTES =
  'Answers with and without the trailing slash, directly (no redirect). `HEAD` is served wherever `GET` is. ' +
  'Any other method answers `405` `{"detail": "Method \\"PUT\\" not allowed."}` with an `Allow` header listing the methods served ' +
  '(see `#/components/responses/MethodNotAllowed`).';

const roomExample = {
  id: ROOM_ID,
  slug: ROOM_SLUG,
  access_level: 'trusted',
  url: `https://meet.example.org/${ROOM_SLUG}`,
  telephony: { enabled: true, pin_code: '0123456789', phone_number: '+1-555-0100', default_country: 'US' },
  attendees: [],
};

const roomExampleUnconfigured = { id: ROOM_ID, slug: ROOM_SLUG, access_level: 'trusted', attendees: [] };

/** The internal admission route: served under its own base path, outside /external-api/v1.0. */
const INTERNAL_API_BASE = '/internal-api/v1.0';

/** Every reason an admission decision gives, in the order the rules are tried. */
const ADMISSION_RULES: { reason: string; decision: 'join' | 'lobby'; rule: string }[] = [
  { reason: 'public_room', decision: 'join', rule: 'a public room admits everyone' },
  { reason: 'authentication_required', decision: 'lobby', rule: 'otherwise, an unauthenticated caller waits' },
  {
    reason: 'attendee',
    decision: 'join',
    rule: 'an authenticated caller whose email is on the room\'s attendee list (case-insensitive) joins any room',
  },
  { reason: 'authenticated_in_trusted_room', decision: 'join', rule: 'a trusted room admits any authenticated caller' },
  {
    reason: 'member_of_restricted_room',
    decision: 'join',
    rule: 'a restricted room admits an authenticated caller whose user holds a role on it (owner, administrator or member)',
  },
  { reason: 'not_invited', decision: 'lobby', rule: 'everyone else waits in the lobby' },
];

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'Meet External API',
    version: '1.1.0',
    description: [
      'External API for room management with application-delegated authentication.',
      '',
      '#### Authentication Flow',
      '',
      '1. Exchange application credentials for a JWT token via `/external-api/v1.0/application/token/`.',
      '2. Use the JWT token in the `Authorization: Bearer <token>` header for all subsequent requests.',
      '3. Tokens are scoped and allow applications to act on behalf of specific users.',
      '',
      'The token request may be sent as JSON or as an `application/x-www-form-urlencoded` form (RFC 6749 §4.4.2), ' +
        'and the client may authenticate with HTTP Basic instead of the `client_id`/`client_secret` body fields (RFC 6749 §2.3.1).',
      '',
      '#### Scopes',
      '',
      '* `rooms:list` – List rooms accessible to the delegated user.',
      '* `rooms:retrieve` – Retrieve details of a specific room.',
      '* `rooms:create` – Create new rooms.',
      '* `rooms:update` – **v1.1** Update existing rooms, e.g., add attendees to a room.',
      '* `rooms:delete` – **v1.1** Delete rooms generated by the application.',
      '',
      'Scopes are compared case-insensitively. A token carries the scopes its application held when it was issued; ' +
        'a scope later removed from the application stops working at once.',
      '',
      '#### v1.1 additions (additive: nothing a v1.0 client relies on changes)',
      '',
      'Version 1.1.0 of this API is additive over v1.0.0: the v1.0 operations keep their routes, statuses, messages and fields ' +
        '(room answers only gain `attendees`), so a v1.0 client keeps working as it did. v1.1 adds (each marked **v1.1** below):',
      '',
      '* **Attendees:** every room shows `attendees`, the emails allowed to bypass the lobby (`[]` when none); ' +
        '`PATCH /rooms/{id}/` replaces the list (scope `rooms:update`).',
      '* **Deletion:** `DELETE /rooms/{id}/` removes a room the calling application created, for its owner (scope `rooms:delete`).',
      '* **Lookup by slug:** `{id}` may be the room\'s slug, and `GET /rooms/?slug=` filters the list.',
      `* **Admission decision (internal):** \`POST ${INTERNAL_API_BASE}/rooms/{idOrSlug}/admission\` tells the conferencing front end ` +
        'whether a caller joins a room or waits in its lobby. It is mounted only while the server is configured with `INTERNAL_API_TOKEN`, ' +
        'and answers only callers presenting that shared token (`InternalApiToken`); it is not part of the external API.',
      '',
      '#### Conventions',
      '',
      '* Every answer is JSON (`application/json; charset=utf-8`), errors included.',
      '* Every route answers with and without its trailing slash. `HEAD` is served wherever `GET` is; ' +
        'another method on a known route answers `405` with an `Allow` header; an unknown route answers `404` `{"detail": "Not found."}`.',
      '* Besides the statuses listed per operation: a body over the server\'s size limit answers `413`; ' +
        'a database that cannot be reached answers `503` with `Retry-After`; an unexpected failure answers `500` ' +
        '(its cause is logged, never sent). These share the `{"detail": ...}` shape (see each operation\'s `default` answer).',
    ].join('\n'),
  },
  servers: [
    {
      url: '/external-api/v1.0',
      description: 'This server (relative to the origin serving this document).',
    },
  ],
  tags: [
    { name: 'Authentication', description: 'Application authentication and token generation' },
    { name: 'Rooms', description: 'Room management operations' },
    { name: 'Operations', description: 'Liveness, readiness and this description' },
    {
      name: 'Internal',
      description: '**v1.1** Internal API for the conferencing front end; mounted only while `INTERNAL_API_TOKEN` is set',
    },
  ],
  paths: {
    '/application/token/': {
      description: PATH_NOTES,
      post: {
        tags: ['Authentication'],
        summary: 'Generate JWT token',
        description: [
          'Exchange application credentials for a scoped JWT token that allows the application',
          'to act on behalf of a specific user.',
          '',
          'The application must be authorized for the user\'s email domain.',
          'The returned token expires after a configured duration and must be refreshed by calling this endpoint again.',
          '',
          'Checks, in this order; the first that fails answers:',
          '',
          '1. `client_id`, `client_secret`, `grant_type`, `scope` present and not blank (values are trimmed): `400`, one key per bad field.',
          '2. `grant_type` is `client_credentials`: `400` `{"grant_type": ["\\"<value>\\" is not a valid choice."]}`.',
          '3. client id known and secret right: `401` `{"error": "Invalid credentials"}` (the same answer for an unknown id and a wrong secret).',
          '4. application active: `401` `{"error": "Application is inactive"}`.',
          '5. `scope` is an email address: `400` `{"error": "Scope should be a valid email address."}`.',
          '6. email domain allowed (when the application lists domains; exact match, case-insensitive): `403`.',
          '7. a user has that email (case-insensitive), or one is created when the server allows it: else `400` `{"error": "User not found."}`.',
          '',
          'Client authentication uses one method: the body fields, or HTTP Basic (`ClientBasic`, base64 of the form-urlencoded id, `:`, ' +
            'the form-urlencoded secret). Basic together with a body `client_secret`, or with a body `client_id` other than the header\'s, is `400`. ' +
            'A `401` to a client that used Basic carries a `WWW-Authenticate: Basic` challenge.',
          '',
          'Every answer of this endpoint, errors included, carries `Cache-Control: no-store` and `Pragma: no-cache`.',
        ].join('\n'),
        operationId: 'generateToken',
        security: [{}, { ClientBasic: [] }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { oneOf: [schemaRef('TokenRequest'), schemaRef('TokenRequestBasicAuth')] },
              examples: {
                tokenRequest: {
                  summary: 'Request token for user delegation',
                  value: {
                    client_id: '550e8400-e29b-41d4-a716-446655440000',
                    client_secret: '1234567890abcdefghijklmnopqrstuvwxyz',
                    grant_type: 'client_credentials',
                    scope: 'user@example.com',
                  },
                },
                basicAuthRequest: {
                  summary: 'Client authenticated with HTTP Basic: no credentials in the body',
                  value: { grant_type: 'client_credentials', scope: 'user@example.com' },
                },
              },
            },
            'application/x-www-form-urlencoded': {
              schema: { oneOf: [schemaRef('TokenRequest'), schemaRef('TokenRequestBasicAuth')] },
              examples: {
                tokenRequest: {
                  summary: 'The same request as a form (RFC 6749 §4.4.2)',
                  value: {
                    client_id: '550e8400-e29b-41d4-a716-446655440000',
                    client_secret: '1234567890abcdefghijklmnopqrstuvwxyz',
                    grant_type: 'client_credentials',
                    scope: 'user@example.com',
                  },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'Token generated successfully',
            headers: noStoreHeaders,
            content: {
              'application/json': {
                schema: schemaRef('TokenResponse'),
                examples: {
                  tokenResponse: {
                    summary: 'Successful token generation',
                    value: {
                      access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
                      token_type: 'Bearer',
                      expires_in: 3600,
                      scope: 'rooms:list rooms:retrieve rooms:create',
                    },
                  },
                  noScope: {
                    summary: 'The application holds no scope: `scope` is absent',
                    value: { access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...', token_type: 'Bearer', expires_in: 3600 },
                  },
                },
              },
            },
          },
          '400': {
            description:
              'Invalid request: field errors (one key per bad field), an invalid `grant_type`, a `scope` that is not an email, ' +
              'an unknown user, two client authentication methods at once, or a body that is not a JSON object.',
            headers: noStoreHeaders,
            content: {
              'application/json': {
                schema: { anyOf: [schemaRef('ValidationError'), schemaRef('OAuthError'), schemaRef('Error')] },
                examples: {
                  missingFields: {
                    summary: 'Missing or blank fields',
                    value: { client_id: ['This field is required.'], scope: ['This field may not be blank.'] },
                  },
                  nullField: { summary: 'A field sent as null', value: { client_secret: ['This field may not be null.'] } },
                  notAString: { summary: 'A field sent as an object, a list or a boolean', value: { scope: ['Not a valid string.'] } },
                  invalidGrantType: {
                    summary: 'grant_type is not client_credentials',
                    value: { grant_type: ['"password" is not a valid choice.'] },
                  },
                  invalidScope: { summary: 'scope is not an email address', value: { error: 'Scope should be a valid email address.' } },
                  userNotFound: { summary: 'User not found', value: { error: 'User not found.' } },
                  twoAuthenticationMethods: {
                    summary: 'HTTP Basic and a client_secret in the body',
                    value: { error: 'Use one client authentication method: HTTP Basic or client_secret in the body, not both.' },
                  },
                  clientIdMismatch: {
                    summary: 'HTTP Basic and a different client_id in the body',
                    value: { error: 'The client_id in the body does not match the Authorization header.' },
                  },
                  notAnObject: detailExample('A JSON body that is not an object', 'Invalid data. Expected a JSON object, but got array.'),
                  brokenJson: detailExample('A body that is not valid JSON', 'JSON parse error.'),
                },
              },
            },
          },
          '401': {
            description: 'Authentication failed',
            headers: {
              ...noStoreHeaders,
              'WWW-Authenticate': {
                description: 'Sent when the client authenticated with HTTP Basic (RFC 6749 §5.2).',
                schema: { type: 'string' },
                example: BASIC_CHALLENGE,
              },
            },
            content: {
              'application/json': {
                schema: schemaRef('OAuthError'),
                examples: {
                  invalidCredentials: { summary: 'Invalid credentials', value: { error: 'Invalid credentials' } },
                  inactiveApplication: { summary: 'Application is inactive', value: { error: 'Application is inactive' } },
                },
              },
            },
          },
          '403': {
            description: 'Access denied - cannot delegate user',
            headers: noStoreHeaders,
            content: {
              'application/json': {
                schema: schemaRef('OAuthError'),
                examples: {
                  delegationDenied: {
                    summary: 'Domain not authorized',
                    value: { error: 'This application is not authorized for this email domain.' },
                  },
                },
              },
            },
          },
          '415': {
            description: 'A body in another content type than JSON or a form.',
            headers: noStoreHeaders,
            content: {
              'application/json': {
                schema: schemaRef('Error'),
                examples: {
                  otherType: detailExample('Another content type', 'Unsupported media type "text/plain" in request.'),
                  noType: detailExample('A body without Content-Type', 'Unsupported media type: a Content-Type header is required with a body.'),
                },
              },
            },
          },
          default: {
            description:
              '`413` when the body is over the size limit; `503` (with `Retry-After`) while the database cannot be reached; ' +
              '`500` on an unexpected failure.',
            headers: { ...noStoreHeaders, 'Retry-After': headerRef('RetryAfter') },
            content: {
              'application/json': {
                schema: schemaRef('Error'),
                examples: {
                  tooLarge: detailExample('413: body too large', 'Request body is too large.'),
                  unavailable: detailExample('503: database unavailable', 'Service temporarily unavailable.'),
                  serverError: detailExample('500: unexpected failure', 'A server error occurred.'),
                },
              },
            },
          },
        },
      },
    },

    '/rooms/': {
      description: PATH_NOTES,
      get: {
        tags: ['Rooms'],
        summary: 'List rooms',
        description: [
          'Returns a list of rooms accessible to the authenticated user.',
          'Only rooms where the delegated user has access (owner, administrator or member) will be returned, each once.',
          '',
          'Newest first, ties broken by id: pages never repeat or skip a room while nothing changes. ',
          '`next` and `previous` are absolute URLs that keep the other query parameters (`previous` of page 2 has no `page`), `null` at the ends. ',
          'Page 1 of an empty list is `200`; a page past the last one is `404`.',
        ].join('\n'),
        operationId: 'listRooms',
        security: [{ BearerAuth: ['rooms:list'] }],
        parameters: [
          {
            name: 'page',
            in: 'query',
            description: 'Page number for pagination (an empty value means the default).',
            required: false,
            schema: { type: 'integer', minimum: 1, default: 1 },
          },
          {
            name: 'page_size',
            in: 'query',
            description: 'Number of items per page (an empty value means the default).',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
          {
            name: 'slug',
            in: 'query',
            description: '**v1.1** Only the room with this slug (case-insensitive), if the user has access to it.',
            required: false,
            schema: { type: 'string', example: ROOM_SLUG },
          },
        ],
        responses: {
          '200': {
            description: 'List of accessible rooms',
            content: {
              'application/json': {
                schema: schemaRef('RoomList'),
                examples: {
                  roomList: {
                    summary: 'Paginated room list',
                    value: {
                      count: 2,
                      next: 'https://api.example.org/external-api/v1.0/rooms/?page=2&page_size=1',
                      previous: null,
                      results: [roomExample],
                    },
                  },
                  emptyList: { summary: 'No room yet', value: { count: 0, next: null, previous: null, results: [] } },
                },
              },
            },
          },
          '400': {
            description: 'A malformed or out-of-bounds `page` or `page_size` (or a repeated `slug`), named in the body.',
            content: {
              'application/json': {
                schema: schemaRef('ValidationError'),
                examples: {
                  pageSizeTooLarge: {
                    summary: 'page_size above 100',
                    value: { page_size: ['Ensure this value is less than or equal to 100.'] },
                  },
                  pageTooSmall: { summary: 'page below 1', value: { page: ['Ensure this value is greater than or equal to 1.'] } },
                  notAnInteger: {
                    summary: 'Not an integer (or a repeated parameter)',
                    value: { page: ['A valid integer is required.'], page_size: ['A valid integer is required.'] },
                  },
                  repeatedSlug: { summary: 'A repeated slug filter', value: { slug: ['Enter a single slug.'] } },
                },
              },
            },
          },
          '401': responseRef('UnauthorizedError'),
          '403': forbidden('rooms:list', 'Insufficient permissions for this operation'),
          '404': {
            description: 'A page past the last one.',
            content: {
              'application/json': {
                schema: schemaRef('Error'),
                examples: { invalidPage: detailExample('Page past the last one', 'Invalid page.') },
              },
            },
          },
          default: responseRef('OtherError'),
        },
      },
      post: {
        tags: ['Rooms'],
        summary: 'Create a room',
        description: [
          'Creates a new room with secure defaults for external API usage.',
          '',
          '**Restrictions:**',
          '- Rooms are always created with `trusted` access (no public rooms via API)',
          '- Room access_level can be updated from the webapp interface.',
          '',
          '**Defaults:**',
          '- Delegated user is set as owner',
          '- Room slug auto-generated for uniqueness (`xxx-xxxx-xxx`, lowercase letters)',
          '- Telephony PIN auto-generated for every room (shown while telephony is enabled)',
          '- Creation tracked with application client_id for auditing',
          '',
          'The body is optional: none, an empty body, or a JSON object. Its fields (`id`, `slug`, `access_level`, ...) are ignored. ' +
            'Invalid JSON or a JSON value that is not an object is `400`; another content type is `415`.',
        ].join('\n'),
        operationId: 'createRoom',
        security: [{ BearerAuth: ['rooms:create'] }],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: schemaRef('RoomCreate'),
              examples: {
                emptyBody: { summary: 'No parameters (default)', value: {} },
                ignoredFields: { summary: 'Fields are ignored: everything is generated', value: { slug: 'my-room', access_level: 'public' } },
              },
            },
          },
        },
        responses: {
          '201': {
            description: 'Room created successfully',
            headers: {
              Location: {
                description: 'Absolute URL of the new room.',
                required: true,
                schema: { type: 'string', format: 'uri' },
                example: `https://api.example.org/external-api/v1.0/rooms/${ROOM_ID}/`,
              },
            },
            content: {
              'application/json': {
                schema: schemaRef('Room'),
                examples: {
                  room: { summary: 'With APPLICATION_BASE_URL set and telephony enabled', value: roomExample },
                  minimal: { summary: 'Neither configured', value: roomExampleUnconfigured },
                },
              },
            },
          },
          '400': responseRef('InvalidBodyError'),
          '401': responseRef('UnauthorizedError'),
          '403': forbidden('rooms:create', 'Insufficient permissions for this operation'),
          '415': responseRef('UnsupportedMediaTypeError'),
          default: responseRef('OtherError'),
        },
      },
    },

    '/rooms/{id}/': {
      description: PATH_NOTES,
      parameters: [
        {
          name: 'id',
          in: 'path',
          required: true,
          description:
            'Room UUID (case-insensitive); since v1.1 the room\'s slug is accepted too. Anything else, or no such room, is `404`.',
          schema: { type: 'string' },
          examples: {
            uuid: { summary: 'Room UUID', value: ROOM_ID },
            slug: { summary: 'Room slug (v1.1)', value: ROOM_SLUG },
          },
        },
      ],
      get: {
        tags: ['Rooms'],
        summary: 'Retrieve a room',
        description: 'Get detailed information about a specific room by its ID. The delegated user must hold a role on the room.',
        operationId: 'retrieveRoom',
        security: [{ BearerAuth: ['rooms:retrieve'] }],
        responses: {
          '200': {
            description: 'Room details',
            content: {
              'application/json': {
                schema: schemaRef('Room'),
                examples: {
                  room: { summary: 'With APPLICATION_BASE_URL set and telephony enabled', value: roomExample },
                  minimal: { summary: 'Neither configured', value: roomExampleUnconfigured },
                },
              },
            },
          },
          '401': responseRef('UnauthorizedError'),
          '403': forbidden('rooms:retrieve', 'Insufficient permissions, or no role on the room', {
            noRole: detailExample('The user holds no role on the room', 'You do not have permission to perform this action.'),
          }),
          '404': responseRef('RoomNotFoundError'),
          default: responseRef('OtherError'),
        },
      },
      patch: {
        tags: ['Rooms'],
        summary: 'Replace the attendees of a room (v1.1)',
        description: [
          'Replaces the room\'s attendee list: the emails allowed to bypass the lobby. The delegated user must be the room\'s owner or an administrator.',
          'Entries are trimmed, validated one by one, and de-duplicated case-insensitively (the first spelling wins); at most 1,000.',
          'Other fields are ignored. Existence and permission are settled before the list is judged.',
        ].join('\n'),
        operationId: 'updateRoomAttendees',
        security: [{ BearerAuth: ['rooms:update'] }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: schemaRef('RoomAttendeesUpdate'),
              examples: {
                attendees: { summary: 'Replace the list', value: { attendees: ['ada@example.com', 'bob@example.org'] } },
                clear: { summary: 'Clear the list', value: { attendees: [] } },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'The room, with its new attendee list',
            content: {
              'application/json': {
                schema: schemaRef('Room'),
                examples: {
                  room: {
                    summary: 'Updated room',
                    value: { ...roomExampleUnconfigured, attendees: ['ada@example.com', 'bob@example.org'] },
                  },
                },
              },
            },
          },
          '400': {
            description: 'An invalid attendee list (bad entries are named by their index), or a body that is not a JSON object.',
            content: {
              'application/json': {
                schema: { anyOf: [schemaRef('AttendeesValidationError'), schemaRef('Error')] },
                examples: {
                  invalidEntries: {
                    summary: 'Entries that are not email addresses',
                    value: { attendees: { '2': ['Enter a valid email address.'] } },
                  },
                  missing: { summary: 'No attendees field', value: { attendees: ['This field is required.'] } },
                  notAList: {
                    summary: 'Not a list',
                    value: { attendees: ['Expected a list of email addresses but got type "string".'] },
                  },
                  tooMany: { summary: 'More than 1,000 entries', value: { attendees: ['Ensure this field has no more than 1000 elements.'] } },
                  notAnObject: detailExample('A JSON body that is not an object', 'Invalid data. Expected a JSON object, but got array.'),
                  brokenJson: detailExample('A body that is not valid JSON', 'JSON parse error.'),
                },
              },
            },
          },
          '401': responseRef('UnauthorizedError'),
          '403': forbidden('rooms:update', 'Insufficient permissions, or the user is neither owner nor administrator', {
            notAllowed: detailExample('The user is a member, or holds no role', 'You do not have permission to perform this action.'),
          }),
          '404': responseRef('RoomNotFoundError'),
          '415': responseRef('UnsupportedMediaTypeError'),
          default: responseRef('OtherError'),
        },
      },
      delete: {
        tags: ['Rooms'],
        summary: 'Delete a room (v1.1)',
        description:
          'Deletes a room created by the calling application, when the delegated user is its owner; its accesses and attendees go with it.',
        operationId: 'deleteRoom',
        security: [{ BearerAuth: ['rooms:delete'] }],
        responses: {
          '204': { description: 'Room deleted (no body)' },
          '401': responseRef('UnauthorizedError'),
          '403': forbidden('rooms:delete', 'Insufficient permissions, another application\'s room, or not the owner', {
            notCreatedByApplication: detailExample(
              'The room was not created by this application',
              'This room was not created by this application.',
            ),
            notOwner: detailExample('The user is not the room\'s owner', 'Only the owner of the room can delete it.'),
          }),
          '404': responseRef('RoomNotFoundError'),
          default: responseRef('OtherError'),
        },
      },
    },

    '/openapi.json': {
      description: PATH_NOTES,
      get: {
        tags: ['Operations'],
        summary: 'This API description',
        description: 'The OpenAPI description of what this server implements (this document).',
        operationId: 'getOpenApiDocument',
        responses: {
          '200': {
            description: 'The OpenAPI 3.0.3 document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },

    '/healthz': {
      description: `Mounted at the root of the origin, outside the API base path. ${PATH_NOTES}`,
      servers: [{ url: '/', description: 'The root of this server' }],
      get: {
        tags: ['Operations'],
        summary: 'Liveness',
        description: 'Answers `200` while the process runs. No authentication.',
        operationId: 'healthz',
        responses: {
          '200': {
            description: 'The process runs',
            content: {
              'application/json': {
                schema: schemaRef('HealthStatus'),
                examples: { ok: { summary: 'Alive', value: { status: 'ok' } } },
              },
            },
          },
        },
      },
    },

    '/readyz': {
      description: `Mounted at the root of the origin, outside the API base path. ${PATH_NOTES}`,
      servers: [{ url: '/', description: 'The root of this server' }],
      get: {
        tags: ['Operations'],
        summary: 'Readiness',
        description: 'Answers `200` when the database answers, else `503`. No authentication.',
        operationId: 'readyz',
        responses: {
          '200': {
            description: 'The database answers',
            content: {
              'application/json': {
                schema: schemaRef('HealthStatus'),
                examples: { ready: { summary: 'Ready', value: { status: 'ready' } } },
              },
            },
          },
          '503': {
            description: 'The database does not answer',
            headers: { 'Retry-After': headerRef('RetryAfter') },
            content: {
              'application/json': {
                schema: schemaRef('HealthStatus'),
                examples: {
                  unavailable: {
                    summary: 'Not ready',
                    value: { status: 'unavailable', detail: 'Service temporarily unavailable.' },
                  },
                },
              },
            },
          },
        },
      },
    },

    '/rooms/{idOrSlug}/admission': {
      description:
        `**v1.1** Mounted under \`${INTERNAL_API_BASE}\`, outside the external API base path, and only while the server is configured ` +
        'with `INTERNAL_API_TOKEN`: without it, every method on this path answers `404` `{"detail": "Not found."}`. ' +
        PATH_NOTES,
      servers: [{ url: INTERNAL_API_BASE, description: 'The internal API of this server (relative to the origin serving this document)' }],
      parameters: [
        {
          name: 'idOrSlug',
          in: 'path',
          required: true,
          description: 'Room UUID (case-insensitive) or slug. Anything else, or no such room, is `404`.',
          schema: { type: 'string' },
          examples: {
            uuid: { summary: 'Room UUID', value: ROOM_ID },
            slug: { summary: 'Room slug', value: ROOM_SLUG },
          },
        },
      ],
      post: {
        tags: ['Internal'],
        summary: 'Decide whether a caller joins a room or waits in its lobby (v1.1)',
        description: [
          'For the conferencing front end: given who is calling (an email, or none, and whether the caller is authenticated), ' +
            'says whether the caller may skip the room\'s lobby. Any room, whoever created it.',
          '',
          'This route exists only while the server is configured with `INTERNAL_API_TOKEN` (at least 32 characters); ' +
            'without it the path answers `404` `{"detail": "Not found."}`. It answers only callers presenting that shared secret as ' +
            '`Authorization: Bearer <INTERNAL_API_TOKEN>` (`InternalApiToken`); the external API\'s JWTs are not accepted here.',
          '',
          'Checks, in this order; the first that fails answers:',
          '',
          '1. the token is the configured one: `401` `{"detail": "Invalid or missing internal API token."}`.',
          '2. the body is absent, empty or a JSON object: `400` `{"detail": ...}`; another content type is `415`.',
          '3. `authenticated` is a boolean and `email`, when present and not null, is an email address (trimmed): `400`, one key per bad field.',
          '4. the room exists: `404` `{"detail": "Not found."}`.',
          '',
          'Decision rules, tried in this order (the first that applies decides):',
          '',
          ...ADMISSION_RULES.map((r, i) => `${i + 1}. ${r.rule}: \`${r.decision}\` (\`${r.reason}\`).`),
        ].join('\n'),
        operationId: 'decideAdmission',
        security: [{ InternalApiToken: [] }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: schemaRef('AdmissionRequest'),
              examples: {
                authenticated: { summary: 'An authenticated caller', value: { email: 'ada@example.com', authenticated: true } },
                anonymous: { summary: 'An anonymous caller', value: { email: null, authenticated: false } },
                noEmail: { summary: 'No email: only the access level and authentication count', value: { authenticated: true } },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'The decision, with the rule that made it.',
            content: {
              'application/json': {
                schema: schemaRef('AdmissionDecision'),
                examples: Object.fromEntries(
                  ADMISSION_RULES.map((r) => [r.reason, { summary: r.rule, value: { decision: r.decision, reason: r.reason } }]),
                ),
              },
            },
          },
          '400': {
            description: 'Field errors (one key per bad field), or a body that is not a JSON object.',
            content: {
              'application/json': {
                schema: { anyOf: [schemaRef('ValidationError'), schemaRef('Error')] },
                examples: {
                  invalidFields: {
                    summary: 'email not an email address, authenticated not a boolean',
                    value: { email: ['Enter a valid email address.'], authenticated: ['Must be a valid boolean.'] },
                  },
                  missingAuthenticated: { summary: 'No authenticated field', value: { authenticated: ['This field is required.'] } },
                  invalidEmail: { summary: 'email not an email address', value: { email: ['Enter a valid email address.'] } },
                  notAnObject: detailExample('A JSON body that is not an object', 'Invalid data. Expected a JSON object, but got array.'),
                  brokenJson: detailExample('A body that is not valid JSON', 'JSON parse error.'),
                },
              },
            },
          },
          '401': {
            description: 'No `Authorization: Bearer` header, or a token other than `INTERNAL_API_TOKEN`.',
            headers: {
              'WWW-Authenticate': {
                description: 'RFC 6750 challenge of the internal API.',
                required: true,
                schema: { type: 'string', pattern: '^Bearer' },
                example: 'Bearer realm="internal-api"',
              },
            },
            content: {
              'application/json': {
                schema: schemaRef('Error'),
                examples: {
                  invalidToken: detailExample('Missing or wrong internal API token', 'Invalid or missing internal API token.'),
                },
              },
            },
          },
          '404': {
            description: 'No such room (an id that is neither a UUID nor a slug, or no room has it).',
            content: {
              'application/json': {
                schema: schemaRef('Error'),
                examples: { roomNotFound: detailExample('Room does not exist', 'Not found.') },
              },
            },
          },
          '415': {
            description: 'A body in another content type than `application/json`.',
            content: {
              'application/json': {
                schema: schemaRef('Error'),
                examples: {
                  otherType: detailExample('Another content type', 'Unsupported media type "text/plain" in request.'),
                  noType: detailExample('A body without Content-Type', 'Unsupported media type: a Content-Type header is required with a body.'),
                },
              },
            },
          },
          default: responseRef('OtherError'),
        },
      },
    },
  },

  components: {
    securitySchemes: {
      BearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: [
          'JWT token obtained from the `/application/token/` endpoint.',
          'Include in requests as: `Authorization: Bearer <token>`',
          '',
          'The token carries `iss`, `aud` (when configured), `iat`, `exp`, `user_id`, `client_id`, `delegated: true` and `scope`. ' +
            'The application and the user are looked up on every request: deactivating either one cuts its tokens off at once.',
        ].join('\n'),
      },
      ClientBasic: {
        type: 'http',
        scheme: 'basic',
        description:
          'Token endpoint only: HTTP Basic client authentication (RFC 6749 §2.3.1), as an alternative to the ' +
          '`client_id`/`client_secret` body fields. The user name is the form-urlencoded `client_id`, the password the form-urlencoded `client_secret`.',
      },
      InternalApiToken: {
        type: 'http',
        scheme: 'bearer',
        description:
          '**v1.1** Internal admission route only: the shared secret `INTERNAL_API_TOKEN` the server is configured with ' +
          '(at least 32 characters), sent as `Authorization: Bearer <INTERNAL_API_TOKEN>`. Not a JWT; compared in constant time. ' +
          'While the variable is unset the route is not mounted.',
      },
    },

    headers: {
      CacheControlNoStore: {
        description: 'Tokens and the errors about them are never cached (RFC 6749 §5.1).',
        required: true,
        schema: { type: 'string', enum: ['no-store'] },
      },
      PragmaNoCache: {
        description: 'HTTP/1.0 caches too.',
        required: true,
        schema: { type: 'string', enum: ['no-cache'] },
      },
      RetryAfter: {
        description: 'Seconds to wait before retrying (sent with `503`).',
        schema: { type: 'integer', example: 5 },
      },
    },

    schemas: {
      TokenRequest: {
        type: 'object',
        description: 'Client credentials in the body.',
        required: ['client_id', 'client_secret', 'grant_type', 'scope'],
        properties: {
          client_id: {
            type: 'string',
            description: 'Application client identifier',
            example: '550e8400-e29b-41d4-a716-446655440000',
          },
          client_secret: {
            type: 'string',
            format: 'password',
            writeOnly: true,
            description: 'Application secret key',
            example: '1234567890abcdefghijklmnopqrstuvwxyz',
          },
          grant_type: {
            type: 'string',
            enum: ['client_credentials'],
            description: "OAuth2 grant type (must be 'client_credentials')",
            example: 'client_credentials',
          },
          scope: {
            type: 'string',
            format: 'email',
            description: [
              'Email address of the user to delegate.',
              'The application will act on behalf of this user.',
              "Note: This parameter is named 'scope' to align with OAuth2 conventions,",
              'but accepts an email address to identify the user. This design allows',
              'for future extensibility.',
            ].join('\n'),
            example: 'user@example.com',
          },
        },
      },
      TokenRequestBasicAuth: {
        type: 'object',
        description:
          'The client authenticates with HTTP Basic (`ClientBasic`): no `client_secret` in the body; a `client_id`, if sent, must equal the header\'s.',
        required: ['grant_type', 'scope'],
        not: { required: ['client_secret'] },
        properties: {
          client_id: { type: 'string', description: 'Optional; must equal the client id of the Authorization header.' },
          grant_type: { type: 'string', enum: ['client_credentials'], example: 'client_credentials' },
          scope: { type: 'string', format: 'email', description: 'Email address of the user to delegate.', example: 'user@example.com' },
        },
      },

      TokenResponse: {
        type: 'object',
        required: ['access_token', 'token_type', 'expires_in'],
        properties: {
          access_token: {
            type: 'string',
            description: 'JWT access token',
            example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
          },
          token_type: {
            type: 'string',
            description: "Token type ('Bearer' unless the server is configured otherwise)",
            example: 'Bearer',
          },
          expires_in: {
            type: 'integer',
            description: 'Token lifetime in seconds',
            example: 3600,
          },
          scope: {
            type: 'string',
            description:
              'Space-separated list of granted permission scopes, in the order they were granted. Absent when the application has none.',
            example: 'rooms:list rooms:retrieve rooms:create',
          },
        },
      },

      RoomCreate: {
        type: 'object',
        description: 'Empty object - all room properties are auto-generated; any field sent is ignored.',
        properties: {},
      },

      RoomAttendeesUpdate: {
        type: 'object',
        description: '**v1.1** The new attendee list; other fields are ignored.',
        required: ['attendees'],
        properties: {
          attendees: {
            type: 'array',
            maxItems: 1000,
            items: { type: 'string', format: 'email' },
            description: 'Emails allowed to bypass the lobby; replaces the current list.',
            example: ['ada@example.com'],
          },
        },
      },

      Room: {
        type: 'object',
        required: ['id', 'slug', 'access_level', 'attendees'],
        properties: {
          id: {
            type: 'string',
            format: 'uuid',
            readOnly: true,
            description: 'Unique room identifier',
            example: ROOM_ID,
          },
          slug: {
            type: 'string',
            readOnly: true,
            pattern: '^[a-z]{3}-[a-z]{4}-[a-z]{3}$',
            description: 'URL-friendly room identifier (auto-generated)',
            example: ROOM_SLUG,
          },
          access_level: {
            type: 'string',
            readOnly: true,
            enum: ['trusted', 'restricted', 'public'],
            description: "Room access level (always 'trusted' for API-created rooms; the web app may change it)",
            example: 'trusted',
          },
          url: {
            type: 'string',
            format: 'uri',
            readOnly: true,
            description: 'Full URL to access the room: `<APPLICATION_BASE_URL>/<slug>`. Present only while the server is configured with `APPLICATION_BASE_URL`.',
            example: `https://meet.example.org/${ROOM_SLUG}`,
          },
          telephony: schemaRef('Telephony'),
          attendees: {
            type: 'array',
            readOnly: true,
            items: { type: 'string', format: 'email' },
            description: '**v1.1** Emails allowed to bypass the lobby; `[]` when none.',
            example: [],
          },
        },
      },

      Telephony: {
        type: 'object',
        readOnly: true,
        description: 'Telephony dial-in information. Present only while the server has telephony enabled (`ROOM_TELEPHONY_ENABLED`).',
        required: ['enabled', 'pin_code', 'phone_number', 'default_country'],
        properties: {
          enabled: {
            type: 'boolean',
            enum: [true],
            description: 'Whether telephony is available (always true when the object is shown)',
            example: true,
          },
          pin_code: {
            type: 'string',
            pattern: '^[0-9]+$',
            description: 'PIN code for dial-in access (`ROOM_TELEPHONY_PIN_LENGTH` digits)',
            example: '0123456789',
          },
          phone_number: {
            type: 'string',
            nullable: true,
            description: 'Phone number to dial; null while the server has none configured',
            example: '+1-555-0100',
          },
          default_country: {
            type: 'string',
            description: 'Default country code',
            example: 'US',
          },
        },
      },

      RoomList: {
        type: 'object',
        required: ['count', 'next', 'previous', 'results'],
        properties: {
          count: { type: 'integer', minimum: 0, description: 'Total number of rooms' },
          next: { type: 'string', format: 'uri', nullable: true, description: 'Absolute URL of the next page; null on the last page' },
          previous: {
            type: 'string',
            format: 'uri',
            nullable: true,
            description: 'Absolute URL of the previous page; null on the first page',
          },
          results: { type: 'array', items: schemaRef('Room') },
        },
      },

      OAuthError: {
        type: 'object',
        description: 'OAuth2-compliant error response (token endpoint)',
        required: ['error'],
        properties: {
          error: {
            type: 'string',
            description: 'Human-readable error description',
            example: 'Invalid credentials',
          },
        },
      },

      Error: {
        type: 'object',
        required: ['detail'],
        properties: {
          detail: {
            type: 'string',
            description: 'Error message',
            example: 'Invalid token.',
          },
        },
      },

      ValidationError: {
        type: 'object',
        description: 'One key per invalid field, each with its list of problems.',
        minProperties: 1,
        additionalProperties: {
          type: 'array',
          items: { type: 'string' },
          description: 'List of validation errors for this field',
        },
        example: { field_name: ['This field is required.'] },
      },

      AttendeesValidationError: {
        type: 'object',
        description: '**v1.1** Problems with the attendee list: a list of messages, or the bad entries by index.',
        required: ['attendees'],
        properties: {
          attendees: {
            oneOf: [
              { type: 'array', items: { type: 'string' } },
              { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
            ],
          },
        },
      },

      AdmissionRequest: {
        type: 'object',
        description: '**v1.1** Who is calling. Other fields are ignored.',
        required: ['authenticated'],
        properties: {
          email: {
            type: 'string',
            format: 'email',
            nullable: true,
            description: 'The caller\'s email (trimmed), matched case-insensitively; absent or null when unknown.',
            example: 'ada@example.com',
          },
          authenticated: {
            type: 'boolean',
            description: 'Whether the front end authenticated the caller.',
            example: true,
          },
        },
      },

      AdmissionDecision: {
        type: 'object',
        description: '**v1.1** Whether the caller joins the room directly or waits in its lobby, and the rule that decided.',
        required: ['decision', 'reason'],
        properties: {
          decision: { type: 'string', enum: ['join', 'lobby'], example: 'join' },
          reason: {
            type: 'string',
            enum: ADMISSION_RULES.map((r) => r.reason),
            description: ADMISSION_RULES.map((r) => `* \`${r.reason}\` (${r.decision}): ${r.rule}.`).join('\n'),
            example: 'attendee',
          },
        },
      },

      HealthStatus: {
        type: 'object',
        required: ['status'],
        properties: {
          status: { type: 'string', enum: ['ok', 'ready', 'unavailable'] },
          detail: { type: 'string' },
        },
      },
    },

    responses: {
      UnauthorizedError: {
        description: [
          'Authentication required or token invalid/expired. Checked in this order; the first that fails answers:',
          '',
          '1. no Authorization header, or another scheme: `Authentication credentials were not provided.`',
          '2. `Bearer` with no token, or with extra parts: `Invalid token header.`',
          '3. not a JWT, bad signature, another algorithm (`none` included), no `exp`: `Invalid token.`',
          '4. expired (no leeway): `Token expired.`',
          '5. wrong or missing `iss`; wrong or missing `aud` while one is configured: `Invalid token.`',
          '6. no `client_id`: `Invalid token claims.`',
          '7. `client_id` of no application: `Application not found.`',
          '8. application inactive: `Application is disabled.`',
          '9. `delegated` not `true`: `Invalid token type.`',
          '10. no `user_id`, or one that is not a UUID: `Invalid token claims.`',
          '11. `user_id` of no user: `User not found.`',
          '12. user inactive: `User account is disabled.`',
        ].join('\n'),
        headers: {
          'WWW-Authenticate': {
            description:
              'RFC 6750 challenge: `Bearer realm="api"`, plus `error="invalid_token"` when a token was presented.',
            required: true,
            schema: { type: 'string', pattern: '^Bearer' },
            examples: {
              noToken: { value: BEARER_CHALLENGE },
              invalidToken: { value: BEARER_INVALID_TOKEN_CHALLENGE },
            },
          },
        },
        content: {
          'application/json': {
            schema: schemaRef('Error'),
            examples: {
              notProvided: detailExample('No Authorization header, or another scheme', 'Authentication credentials were not provided.'),
              invalidHeader: detailExample('Bearer with no token, or with extra parts', 'Invalid token header.'),
              invalidToken: detailExample('Not a JWT, bad signature or algorithm, no exp, wrong iss or aud', 'Invalid token.'),
              tokenExpired: detailExample('Token has expired', 'Token expired.'),
              invalidClaims: detailExample('No client_id, or no valid user_id', 'Invalid token claims.'),
              applicationNotFound: detailExample('client_id of no application', 'Application not found.'),
              applicationDisabled: detailExample('Application inactive', 'Application is disabled.'),
              invalidTokenType: detailExample('delegated is not true', 'Invalid token type.'),
              userNotFound: detailExample('user_id of no user', 'User not found.'),
              userDisabled: detailExample('User inactive', 'User account is disabled.'),
            },
          },
        },
      },

      RoomNotFoundError: {
        description: 'Room not found (an id that is neither a UUID nor a slug, or no such room)',
        content: {
          'application/json': {
            schema: schemaRef('Error'),
            examples: { roomNotFound: detailExample('Room does not exist', 'Not found.') },
          },
        },
      },

      InvalidBodyError: {
        description: 'A body that is not valid JSON, or a JSON value that is not an object.',
        content: {
          'application/json': {
            schema: schemaRef('Error'),
            examples: {
              notAnObject: detailExample('A JSON body that is not an object', 'Invalid data. Expected a JSON object, but got array.'),
              brokenJson: detailExample('A body that is not valid JSON', 'JSON parse error.'),
            },
          },
        },
      },

      UnsupportedMediaTypeError: {
        description: 'A body in another content type than `application/json`.',
        content: {
          'application/json': {
            schema: schemaRef('Error'),
            examples: {
              otherType: detailExample('Another content type', 'Unsupported media type "application/x-www-form-urlencoded" in request.'),
              noType: detailExample('A body without Content-Type', 'Unsupported media type: a Content-Type header is required with a body.'),
            },
          },
        },
      },

      MethodNotAllowed: {
        description: 'Any route, with a method it does not serve (answered before authentication).',
        headers: {
          Allow: {
            description: 'The methods the route serves, `HEAD` included wherever `GET` is.',
            required: true,
            schema: { type: 'string' },
            example: 'GET, POST, HEAD',
          },
        },
        content: {
          'application/json': {
            schema: schemaRef('Error'),
            examples: { methodNotAllowed: detailExample('PUT on /rooms/', 'Method "PUT" not allowed.') },
          },
        },
      },

      OtherError: {
        description:
          '`413` when the body is over the size limit; `503` (with `Retry-After`) while the database cannot be reached; ' +
          '`500` on an unexpected failure (the cause is logged, never sent).',
        headers: { 'Retry-After': headerRef('RetryAfter') },
        content: {
          'application/json': {
            schema: schemaRef('Error'),
            examples: {
              tooLarge: detailExample('413: body too large', 'Request body is too large.'),
              unavailable: detailExample('503: database unavailable', 'Service temporarily unavailable.'),
              serverError: detailExample('500: unexpected failure', 'A server error occurred.'),
            },
          },
        },
      },
    },
  },
};
