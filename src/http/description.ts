/**
 * The served API description, built by @fastify/swagger from the routes' own schemas, and
 * the interactive reference page (Swagger UI, served from the package's own files: no CDN).
 * `registerDescription` must run before any route is registered: @fastify/swagger
 * collects routes as they are added.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { API_DESCRIPTION, API_TAGS, API_TITLE, API_VERSION, SECURITY_SCHEMES } from './api-description.js';
import { DOCS_PATH, OPENAPI_PATH } from './paths.js';
import { methodNotAllowedAnswer, rejectOtherMethods } from './routing.js';

/** `internalApi`: whether the internal admission route is mounted (its tag and security scheme are described only then). */
export async function registerDescription(app: FastifyInstance, options: { internalApi: boolean }): Promise<void> {
  const { InternalApiToken, ...externalSchemes } = SECURITY_SCHEMES;
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: API_TITLE, version: API_VERSION, description: API_DESCRIPTION },
      // Paths are written from the origin's root: the API under /external-api/v1.0, the probes at /.
      servers: [{ url: '/', description: 'This server' }],
      tags: options.internalApi ? API_TAGS : API_TAGS.filter((tag) => tag.name !== 'Internal'),
      components: { securitySchemes: options.internalApi ? { ...externalSchemes, InternalApiToken } : externalSchemes },
    },
    // Shared schemas keep their $id as their name under #/components/schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}

/** GET openapi.json (the description, built once) and the reference page at /docs. */
export async function descriptionRoutes(app: FastifyInstance): Promise<void> {
  let document: string | undefined;
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        tags: ['Operations'],
        summary: 'This API description',
        description: 'The OpenAPI description of what this server implements, built from the same schemas that validate requests and shape answers.',
        operationId: 'getOpenApiDocument',
        security: [],
        response: {
          200: { description: 'An OpenAPI 3.1 document', type: 'object', additionalProperties: true },
          405: methodNotAllowedAnswer(['GET']),
        },
      },
    },
    async (_request, reply) => reply.type('application/json; charset=utf-8').send((document ??= JSON.stringify(app.swagger()))),
  );
  rejectOtherMethods(app, OPENAPI_PATH, ['GET']);

  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    // Everything the page loads comes from this server; Swagger UI sets some styles inline.
    staticCSP: "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
    // No call to an outside validator: operators' networks may have no internet, and the page must not leak.
    validatorUrl: false,
    uiConfig: { tryItOutEnabled: true, displayOperationId: true, deepLinking: true, defaultModelsExpandDepth: 0 },
  });
}
