/** POST /application/token/: the OAuth 2.0 client-credentials exchange. */
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import { INVALID_JSON, bodyTooLargeAnswer, unavailableAnswer, unsupportedMediaType } from '../http/errors.js';
import { TOKEN_PATH } from '../http/paths.js';
import { methodNotAllowedAnswer, rejectOtherMethods } from '../http/routing.js';
import { ErrorSchema, FieldErrorsSchema, OAuthErrorSchema, RETRY_AFTER, answer, detailExample, ref, type HeaderDeclaration } from '../http/schemas.js';
import { TOO_MANY_FAILURES, type Throttles } from '../limits/throttles.js';
import type { Metrics } from '../metrics.js';
import { BASIC_CHALLENGE, usesBasic, withBasicCredentials } from './client-auth.js';
import { TokenRequestSchema, TokenResponseSchema } from './token.schemas.js';
import {
  DOMAIN_NOT_ALLOWED,
  GRANT_TYPE,
  INACTIVE_APPLICATION,
  INVALID_CREDENTIALS,
  INVALID_SCOPE,
  USER_NOT_FOUND,
  type TokenService,
} from './token.service.js';

/** Tokens and the errors about them are never cached (RFC 6749 §5.1): every answer says so. */
const NO_STORE: Record<string, HeaderDeclaration> = {
  'Cache-Control': { description: 'Never cache tokens or errors about them (RFC 6749 §5.1).', type: 'string', example: 'no-store' },
  Pragma: { description: 'The same, for HTTP/1.0 caches.', type: 'string', example: 'no-cache' },
};

const DESCRIPTION = [
  'Exchange application credentials for a scoped JWT that lets the application act on behalf of one user.',
  '',
  'Checks, in this order; the first that fails answers:',
  '',
  '1. `client_id`, `client_secret`, `grant_type`, `scope` present and not blank: `400`, one key per bad field.',
  `2. \`grant_type\` is \`${GRANT_TYPE}\`: \`400\`.`,
  `3. client id known and secret right: \`401\` \`{"error": "${INVALID_CREDENTIALS}"}\`, the same answer in about the same time for an unknown id and a wrong secret.`,
  `4. application active: \`401\` \`{"error": "${INACTIVE_APPLICATION}"}\`.`,
  '5. `scope` is an email address: `400`.',
  '6. the email\'s domain is one the application may act for (when it lists any; exact match, case-insensitive): `403`.',
  '7. a user has that email (case-insensitive), or one is created when the server allows it: else `400`.',
  '',
  'Client authentication uses one method: the body fields, or HTTP Basic (`ClientBasic`). Basic together with a body ' +
    '`client_secret`, or with a body `client_id` other than the header\'s, is `400`. A `401` to a client that used Basic ' +
    'carries a `WWW-Authenticate: Basic` challenge.',
].join('\n');

export interface TokenRoutesOptions {
  tokens: TokenService;
  throttles: Throttles;
  metrics: Metrics;
}

export const tokenRoutes: FastifyPluginAsyncTypebox<TokenRoutesOptions> = async (app, { tokens, throttles, metrics }) => {
  // Form bodies are accepted here only (RFC 6749 §4.4.2); the rooms API takes JSON alone.
  await app.register(formbody);

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });
  app.addHook('onResponse', async (_request, reply) => metrics.tokenAnswered(reply.statusCode));

  app.post(
    TOKEN_PATH,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Generate a JWT',
        description: DESCRIPTION,
        operationId: 'generateToken',
        security: [{}, { ClientBasic: [] }],
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: ref(TokenRequestSchema),
        response: {
          200: answer('Token generated', ref(TokenResponseSchema), undefined, NO_STORE),
          400: answer(
            'Field errors (one key per bad field), a `scope` that is not an email, an unknown user, two client authentication methods, or a body that is not a JSON object.',
            { anyOf: [ref(FieldErrorsSchema), ref(OAuthErrorSchema), ref(ErrorSchema)] },
            {
              missingFields: { summary: 'Missing or blank fields', value: { client_id: ['This field is required.'], scope: ['This field may not be blank.'] } },
              invalidGrantType: { summary: `grant_type is not ${GRANT_TYPE}`, value: { grant_type: ['"password" is not a valid choice.'] } },
              invalidScope: { summary: 'scope is not an email address', value: { error: INVALID_SCOPE } },
              userNotFound: { summary: 'No user has that email', value: { error: USER_NOT_FOUND } },
              brokenJson: detailExample('A body that is not valid JSON', INVALID_JSON),
            },
            NO_STORE,
          ),
          401: answer(
            'Authentication failed',
            ref(OAuthErrorSchema),
            {
              invalidCredentials: { summary: 'Unknown client id or wrong secret', value: { error: INVALID_CREDENTIALS } },
              inactiveApplication: { summary: 'The application is deactivated', value: { error: INACTIVE_APPLICATION } },
            },
            { ...NO_STORE, 'WWW-Authenticate': { description: 'Sent when the client used HTTP Basic.', type: 'string', example: BASIC_CHALLENGE } },
          ),
          403: answer('The application may not act for users of that email domain', ref(OAuthErrorSchema), {
            domainNotAllowed: { summary: 'Domain not authorized', value: { error: DOMAIN_NOT_ALLOWED } },
          }, NO_STORE),
          405: methodNotAllowedAnswer(['POST']),
          413: bodyTooLargeAnswer(),
          415: answer('A body in another content type than JSON or a form', ref(ErrorSchema), {
            otherType: detailExample('Another content type', unsupportedMediaType('text/plain')),
          }, NO_STORE),
          429: answer(
            `Too many failed client authentications lately from this address (for this client id, or for any): wait \`Retry-After\` seconds`,
            ref(OAuthErrorSchema),
            { throttled: { summary: 'Failures past the limit', value: { error: TOO_MANY_FAILURES } } },
            { ...NO_STORE, 'Retry-After': RETRY_AFTER },
          ),
          503: unavailableAnswer(),
        },
      },
      preValidation: async (request) => {
        request.body = withBasicCredentials(request.headers.authorization, request.body);
      },
    },
    async (request) => {
      const clientId = request.body.client_id;
      const attempt = await throttles.admitTokenAttempt(clientId, request.ip);
      try {
        const answer = await tokens.issueToken(request.body, request.log);
        await attempt.settled(true);
        return answer;
      } catch (error) {
        if (!(error instanceof ApiError) || error.statusCode !== 401) {
          // A 403 (inactive application, user out of its domains) means the secret was right.
          await attempt.settled(error instanceof ApiError && error.statusCode === 403);
          throw error;
        }
        await attempt.failed();
        // RFC 6749 §5.2: a client that authenticated with a header gets a challenge back.
        if (usesBasic(request.headers.authorization)) throw new ApiError(401, error.body, { ...error.headers, 'www-authenticate': BASIC_CHALLENGE });
        throw error;
      }
    },
  );
  rejectOtherMethods(app, TOKEN_PATH, ['POST']);
};
