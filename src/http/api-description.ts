/**
 * The prose of the served description: titles and explanations. Everything a client
 * relies on (fields, limits, enums, messages, statuses) comes from the route schemas;
 * what this text quotes of them is imported from the code that does it.
 */
import { KNOWN_SCOPES, SCOPE_PURPOSES } from '../scopes.js';
import { NOT_FOUND } from '../errors.js';
import { TOKEN_PATH } from './paths.js';

export const API_TITLE = 'Meet External API';
export const API_VERSION = '1.1.0';

export const API_DESCRIPTION = [
  'External API for room management with application-delegated authentication.',
  '',
  '#### Ways in',
  '',
  '**Client credentials** (an application registered with this server):',
  '',
  `1. Exchange application credentials for a JWT via \`${TOKEN_PATH}\`.`,
  '2. Send the JWT as `Authorization: Bearer <token>` on every rooms request.',
  '3. Tokens are scoped and let an application act on behalf of one user.',
  '',
  'The token request may be JSON or an `application/x-www-form-urlencoded` form (RFC 6749 §4.4.2), and the client may ' +
    'authenticate with HTTP Basic instead of the `client_id`/`client_secret` body fields (RFC 6749 §2.3.1).',
  '',
  '**Resource server** (when the deployment configures its identity provider): a La Suite service that already holds the ' +
    'user\'s own access token sends it as the bearer token. The server introspects it at the identity provider (RFC 7662, or ' +
    'RFC 9701 signed and encrypted answers); the token\'s `sub` is the user and its scopes, read without the deployment\'s ' +
    'prefix (`lasuite_meet:rooms:list` is `rooms:list`), are checked as below.',
  '',
  '**Add-on tokens** (when the deployment turns them on): La Suite Meet\'s own calendar and mail add-ons send a JWT that ' +
    'Meet issued for the user, signed with the add-ons\' key and carrying `iss`, `aud`, `iat`, `exp`, `user_id` and `scope` ' +
    '(no `client_id`). It is checked like an application token (signature, expiry, issuer, audience, then the user); its ' +
    '`scope` claim lists its scopes. Rooms it creates are recorded as created by the add-ons (`meet:addons`).',
  '',
  '#### Scopes',
  '',
  ...KNOWN_SCOPES.map((scope) => `* \`${scope}\`: ${SCOPE_PURPOSES[scope]}`),
  '',
  'Scopes are compared case-insensitively. A token carries the scopes its application held when it was issued; a scope ' +
    'later removed from the application stops working at once.',
  '',
  '#### v1.1 additions (nothing a v1.0 client relies on changes)',
  '',
  '* **Attendees:** every room shows `attendees`, the emails allowed to skip the lobby; `PATCH /rooms/{id}/` replaces the list.',
  '* **Deletion:** `DELETE /rooms/{id}/` removes a room the calling application created, for its owner.',
  '* **Lookup by slug:** `{id}` may be the room\'s slug, and `GET /rooms/?slug=` filters the list.',
  '* **Admission decision (internal):** mounted only while the server has `INTERNAL_API_TOKEN`; not part of the external API.',
  '',
  '#### Room options (upstream Meet, 2026)',
  '',
  'Rooms show their `name` and `configuration`. `POST /rooms/` and `PATCH /rooms/{id}/` accept `access_level` and ' +
    '`configuration` (`can_publish_sources`, `everyone_can_mute`); a public room may be refused by the deployment.',
  '',
  '#### Conventions',
  '',
  '* Every answer is JSON (`application/json; charset=utf-8`), errors included.',
  '* Every route answers with and without its trailing slash, directly (no redirect). `HEAD` is served wherever `GET` is; ' +
    'another method on a known path answers `405` with an `Allow` header.',
  `* A path the server does not serve answers \`404\` \`{"detail": "${NOT_FOUND}"}\`.`,
  '* A database that cannot answer right now gives `503` with `Retry-After`; an unexpected failure gives `500` ' +
    '(its cause is logged, never sent).',
].join('\n');

export const API_TAGS = [
  { name: 'Authentication', description: 'Application authentication and token generation' },
  { name: 'Rooms', description: 'Room management operations' },
  { name: 'Operations', description: 'Liveness, readiness and this description' },
  { name: 'Internal', description: '**v1.1** For the conferencing front end; mounted only while `INTERNAL_API_TOKEN` is set' },
];

export const SECURITY_SCHEMES = {
  BearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      `A JWT from \`${TOKEN_PATH}\`. It carries \`iss\`, \`aud\` (when configured), \`iat\`, \`exp\`, \`user_id\`, \`client_id\`, ` +
      '`delegated: true` and `scope`. The application and the user are looked up on every request: deactivating either cuts its tokens off at once. ' +
      'In the resource-server mode, a user\'s access token from the identity provider is accepted too (introspected; its scopes without the prefix). ' +
      'When the deployment turns add-on tokens on, La Suite Meet\'s add-on JWTs (`iss`, `aud`, `iat`, `exp`, `user_id`, `scope`; no `client_id`) are accepted too.',
  },
  ClientBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      'Token endpoint only: HTTP Basic client authentication (RFC 6749 §2.3.1) instead of the body fields. The user name is the ' +
      'form-urlencoded `client_id`, the password the form-urlencoded `client_secret`.',
  },
  InternalApiToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      '**v1.1** Admission route only: the shared secret `INTERNAL_API_TOKEN` (at least 32 characters), compared in constant time. Not a JWT.',
  },
} as const;
