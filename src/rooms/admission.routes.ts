/**
 * The internal admission API (v1.1): the conferencing front end asks whether a caller may
 * skip a room's lobby. It is mounted only while INTERNAL_API_TOKEN is set, and answers
 * only callers presenting that token.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { detailError } from '../errors.js';
import { INVALID_JSON, bodyTooLargeAnswer, notFoundAnswer, unavailableAnswer, unsupportedMediaTypeAnswer } from '../http/errors.js';
import { ADMISSION_PATH } from '../http/paths.js';
import { methodNotAllowedAnswer, rejectOtherMethods } from '../http/routing.js';
import { ErrorSchema, FieldErrorsSchema, answer, detailExample, ref } from '../http/schemas.js';
import { secretsEqual, sha256Digest } from '../secrets.js';
import { ADMISSION_REASONS, AdmissionDecisionSchema, AdmissionRequestSchema } from './rooms.schemas.js';
import type { RoomsService } from './rooms.service.js';
import { Type } from 'typebox';

const INVALID_INTERNAL_TOKEN = 'Invalid or missing internal API token.';
const CHALLENGE = 'Bearer realm="internal-api"';

/** Bearer token check in constant time (digests have one length whatever was sent). */
function requireInternalToken(authorization: string | undefined, expected: Buffer): void {
  const parts = (authorization ?? '').trim().split(/\s+/);
  const presented = parts.length === 2 && parts[0]?.toLowerCase() === 'bearer' ? (parts[1] as string) : '';
  if (!secretsEqual(presented, expected) || presented === '') {
    throw detailError(401, INVALID_INTERNAL_TOKEN, { 'www-authenticate': CHALLENGE });
  }
}

const DESCRIPTION = [
  'For the conferencing front end: says whether a caller (an email or none, authenticated or not) may skip a room\'s lobby. ' +
    'Any room, whoever created it. Answers only callers presenting `INTERNAL_API_TOKEN` as a bearer token.',
  '',
  'Rules, tried in this order (the first that applies decides):',
  '',
  ...ADMISSION_REASONS.map((r, i) => `${i + 1}. ${r.rule}: \`${r.decision}\` (\`${r.reason}\`).`),
].join('\n');

export const admissionRoutes: FastifyPluginAsyncTypebox<{ rooms: RoomsService; token: string }> = async (app, options) => {
  const expected = sha256Digest(options.token);
  app.post(
    ADMISSION_PATH,
    {
      onRequest: async (request) => requireInternalToken(request.headers.authorization, expected),
      schema: {
        tags: ['Internal'],
        summary: 'Decide whether a caller joins a room or waits in its lobby (v1.1)',
        description: DESCRIPTION,
        operationId: 'decideAdmission',
        security: [{ InternalApiToken: [] }],
        params: Type.Object({ idOrSlug: Type.String({ description: 'The room\'s UUID (case-insensitive) or slug.' }) }),
        body: AdmissionRequestSchema,
        response: {
          200: answer(
            'The decision, with the rule that made it',
            ref(AdmissionDecisionSchema),
            Object.fromEntries(ADMISSION_REASONS.map((r) => [r.reason, { summary: r.rule, value: { decision: r.decision, reason: r.reason } }])),
          ),
          400: answer('Field errors, or a body that is not a JSON object', { anyOf: [ref(FieldErrorsSchema), ref(ErrorSchema)] }, {
            invalidFields: {
              summary: 'email not an email address, authenticated not a boolean',
              value: { email: ['Enter a valid email address.'], authenticated: ['Must be a valid boolean.'] },
            },
            brokenJson: detailExample('A body that is not valid JSON', INVALID_JSON),
          }),
          401: answer('No internal API token, or another one', ref(ErrorSchema), { invalidToken: detailExample('Missing or wrong token', INVALID_INTERNAL_TOKEN) }, {
            'WWW-Authenticate': { description: 'The internal API\'s challenge.', type: 'string', example: CHALLENGE },
          }),
          404: notFoundAnswer('No such room'),
          405: methodNotAllowedAnswer(['POST']),
          413: bodyTooLargeAnswer(),
          415: unsupportedMediaTypeAnswer('`application/json`'),
          503: unavailableAnswer(),
        },
      },
    },
    async (request) => options.rooms.decideAdmission(request.params.idOrSlug, request.body),
  );
  rejectOtherMethods(app, ADMISSION_PATH, ['POST']);
};
