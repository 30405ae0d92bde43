/** Operations endpoints (CONTRACT §2.4): liveness, readiness, and the served API description. */
import type { FastifyInstance } from 'fastify';
import type { DatabaseHandle } from '../db/database.js';
import { SERVICE_UNAVAILABLE } from '../errors.js';
import { openApiDocument } from './openapi-document.js';
import { rejectOtherMethods } from './routing.js';

export const OPENAPI_PATH = '/external-api/v1.0/openapi.json';

export async function opsRoutes(app: FastifyInstance, options: { database: DatabaseHandle }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  rejectOtherMethods(app, '/healthz', ['GET']);

  app.get('/readyz', async (request, reply) => {
    try {
      await options.database.ping();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: database unreachable');
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', detail: SERVICE_UNAVAILABLE });
    }
  });
  rejectOtherMethods(app, '/readyz', ['GET']);

  const document = JSON.stringify(openApiDocument);
  app.get(OPENAPI_PATH, async (_request, reply) => reply.type('application/json; charset=utf-8').send(document));
  rejectOtherMethods(app, OPENAPI_PATH, ['GET']);
}
