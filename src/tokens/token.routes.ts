/** POST /application/token/: the OAuth 2.0 client-credentials exchange (CONTRACT §2.1). */
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { rejectOtherMethods, requireObjectBody } from '../http/routing.js';
import { BASIC_CHALLENGE, tokenRequestFields } from './client-auth.js';
import type { TokenService } from './token.service.js';

export const TOKEN_PATH = '/external-api/v1.0/application/token/';

export async function tokenRoutes(app: FastifyInstance, options: { tokens: TokenService }): Promise<void> {
  // Form bodies are accepted here only (RFC 6749 §4.4.2); the rooms API takes JSON alone.
  await app.register(formbody);

  // Tokens and the errors about them must never be cached (RFC 6749 §5.1).
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });

  app.post(TOKEN_PATH, async (request, reply) => {
    let usedBasic = false;
    try {
      const body = requireObjectBody(request.body);
      const unpacked = tokenRequestFields(request.headers.authorization, body);
      usedBasic = unpacked.usedBasic;
      return await options.tokens.issueToken(unpacked.fields);
    } catch (error) {
      // RFC 6749 §5.2: a client that authenticated with a header gets a challenge back.
      if (usedBasic && error instanceof ApiError && error.statusCode === 401) {
        throw new ApiError(401, error.body, { ...error.headers, 'www-authenticate': BASIC_CHALLENGE });
      }
      throw error;
    }
  });
  rejectOtherMethods(app, TOKEN_PATH, ['POST']);
}
