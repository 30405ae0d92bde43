/** Operations endpoints: liveness and readiness, at the root of the origin. */
import type { FastifyInstance } from 'fastify';
import type { DatabaseHandle } from '../db/database.js';
import { SERVICE_UNAVAILABLE } from '../errors.js';
import { methodNotAllowedAnswer, rejectOtherMethods } from './routing.js';
import { HealthSchema, RETRY_AFTER, answer, ref } from './schemas.js';

export async function opsRoutes(app: FastifyInstance, options: { database: DatabaseHandle }): Promise<void> {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['Operations'],
        summary: 'Liveness',
        description: 'Answers `200` while the process runs. No authentication.',
        operationId: 'healthz',
        security: [],
        response: {
          200: answer('The process runs', ref(HealthSchema), { ok: { summary: 'Alive', value: { status: 'ok' } } }),
          405: methodNotAllowedAnswer(['GET']),
        },
      },
    },
    async () => ({ status: 'ok' }),
  );
  rejectOtherMethods(app, '/healthz', ['GET']);

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['Operations'],
        summary: 'Readiness',
        description: 'Answers `200` when the database answers, else `503`. No authentication.',
        operationId: 'readyz',
        security: [],
        response: {
          200: answer('The database answers', ref(HealthSchema), { ready: { summary: 'Ready', value: { status: 'ready' } } }),
          405: methodNotAllowedAnswer(['GET']),
          503: answer(
            'The database does not answer',
            ref(HealthSchema),
            { unavailable: { summary: 'Not ready', value: { status: 'unavailable', detail: SERVICE_UNAVAILABLE } } },
            { 'Retry-After': RETRY_AFTER },
          ),
        },
      },
    },
    async (request, reply) => {
      try {
        await options.database.ping();
        return { status: 'ready' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed: database unreachable');
        return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', detail: SERVICE_UNAVAILABLE });
      }
    },
  );
  rejectOtherMethods(app, '/readyz', ['GET']);
}
