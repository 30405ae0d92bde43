/**
 * The internal admission API (v1.1): the conferencing front end asks whether a caller may
 * skip a room's lobby. It is mounted only while INTERNAL_API_TOKEN is set, and answers
 * only callers presenting that token.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, detailError } from '../errors.js';
import { rejectOtherMethods, requireObjectBody } from '../http/routing.js';
import { secretsEqual, sha256Digest } from '../secrets.js';
import { isValidEmail } from '../validation.js';
import { admissionSchema } from './rooms.schemas.js';
import type { RoomsService } from './rooms.service.js';

export const ADMISSION_PATH = '/internal-api/v1.0/rooms/:idOrSlug/admission';

/** Bearer token check in constant time (digests have one length whatever was sent). */
function requireInternalToken(authorization: string | undefined, expected: Buffer): void {
  const parts = (authorization ?? '').trim().split(/\s+/);
  const presented = parts.length === 2 && parts[0]?.toLowerCase() === 'bearer' ? (parts[1] as string) : '';
  if (!secretsEqual(presented, expected) || presented === '') {
    throw detailError(401, 'Invalid or missing internal API token.', { 'www-authenticate': 'Bearer realm="internal-api"' });
  }
}

function parseCaller(body: Record<string, unknown>): { email: string | null; authenticated: boolean } {
  const errors: Record<string, string[]> = {};
  const { email, authenticated } = body;
  if (typeof authenticated !== 'boolean') errors.authenticated = [authenticated === undefined ? 'This field is required.' : 'Must be a valid boolean.'];
  let normalized: string | null = null;
  if (email !== undefined && email !== null) {
    if (typeof email !== 'string' || !isValidEmail(email.trim())) errors.email = ['Enter a valid email address.'];
    else normalized = email.trim();
  }
  if (Object.keys(errors).length > 0) throw new ApiError(400, errors);
  return { email: normalized, authenticated: authenticated as boolean };
}

export async function admissionRoutes(app: FastifyInstance, options: { rooms: RoomsService; token: string }): Promise<void> {
  const expected = sha256Digest(options.token);
  app.post(
    ADMISSION_PATH,
    {
      onRequest: async (request) => requireInternalToken(request.headers.authorization, expected),
      schema: { response: { 200: admissionSchema } },
    },
    async (request) => {
      const { idOrSlug } = request.params as { idOrSlug: string };
      return options.rooms.decideAdmission(idOrSlug, parseCaller(requireObjectBody(request.body)));
    },
  );
  rejectOtherMethods(app, ADMISSION_PATH, ['POST']);
}
