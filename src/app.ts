/**
 * buildApp(): the whole HTTP application over an open database. It never listens: the
 * server and the tests both call it, so what is tested is what runs.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import { SERVICE_UNAVAILABLE, detailError } from './errors.js';
import { clientErrorHandler, frameworkErrors, installErrorHandling, onMaxParamLength } from './http/errors.js';
import { descriptionRoutes, registerDescription } from './http/description.js';
import { opsRoutes } from './http/ops.routes.js';
import { answerInJson, checkHost, requestIdOf, requestTarget } from './http/transport.js';
import { MemoryCounters, RedisCounters } from './limits/counters.js';
import { Throttles } from './limits/throttles.js';
import { Metrics } from './metrics.js';
import { installJsonParser } from './http/routing.js';
import { SHARED_SCHEMAS } from './http/schemas.js';
import { addSharedSchema, validatorCompiler } from './input-validation.js';
import { admissionRoutes } from './rooms/admission.routes.js';
import { ADMISSION_SCHEMAS, ROOM_SCHEMAS } from './rooms/rooms.schemas.js';
import { roomsRoutes } from './rooms/rooms.routes.js';
import { createServices } from './services.js';
import { createAddonTokens } from './tokens/addon-tokens.js';
import { BearerAuthenticator } from './tokens/bearer-auth.js';
import { TokenIntrospector } from './tokens/introspection.js';
import { JwtCodec } from './tokens/jwt.js';
import { TOKEN_SCHEMAS } from './tokens/token.schemas.js';
import { tokenRoutes } from './tokens/token.routes.js';
import { TokenService } from './tokens/token.service.js';

export interface AppDependencies {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  /** The signing key, already resolved (see tokens/jwt-key.ts). */
  jwtSecret: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The application's Prometheus metrics (served on METRICS_PORT by server.ts). */
    metrics: Metrics;
  }
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, database, logger } = deps;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // The request's own id when it is a sane one, else a UUID (unique across workers and
    // instances): in every log line of the request (reqId) and in its answer.
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, onMaxParamLength },
    frameworkErrors,
    // Answered by our own hook below, so the 503 has the API's {"detail"} shape.
    return503OnClosing: false,
    clientErrorHandler,
    // Host is checked by checkHost below, which answers in JSON (Node's own check does not).
    http: { requireHostHeader: false },
  }).withTypeProvider<TypeBoxTypeProvider>();
  answerInJson(app.server, { maxConnections: config.maxConnections });

  // Requests are validated from the route schemas, read and answered in the reference's words.
  app.setValidatorCompiler(validatorCompiler);
  const internalApi = config.internalApiToken !== undefined;
  for (const schema of [...SHARED_SCHEMAS, ...TOKEN_SCHEMAS, ...ROOM_SCHEMAS, ...(internalApi ? ADMISSION_SCHEMAS : [])]) {
    app.addSchema(schema);
    addSharedSchema(schema);
  }
  await registerDescription(app, { internalApi });

  const metrics = new Metrics(database);
  app.decorate('metrics', metrics);
  // One access-log line per request, and its metrics. The path only: a careless client
  // may put a secret in the query string, and redaction works on keys, not inside a URL.
  // Hooks in the callback style where nothing is awaited: an async hook costs a promise
  // and a microtask turn a request each.
  app.addHook('onResponse', (request, reply, done) => {
    const ms = reply.elapsedTime;
    const target = requestTarget(request);
    const query = target.indexOf('?');
    request.log.info({ method: request.method, path: query === -1 ? target : target.slice(0, query), status: reply.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    metrics.answered(request.method, request.routeOptions.url ?? 'not_found', reply.statusCode, ms / 1000);
    done();
  });

  // While stopping, in-flight requests finish but new ones on kept-alive connections are
  // turned away, and told to reconnect (to another instance) rather than to wait.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (closing) return done(detailError(503, SERVICE_UNAVAILABLE, { connection: 'close', 'retry-after': '1' }));
    try {
      checkHost(request);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });

  installErrorHandling(app);
  installJsonParser(app);

  const services = createServices(database, config, logger);
  const jwt = new JwtCodec(deps.jwtSecret, config.jwt);
  const tokens = new TokenService(services.applications, services.users, jwt, config, logger);
  const resourceServer = config.resourceServer;
  if (config.addons !== undefined && Buffer.byteLength(config.addons.secretKey) < 32) {
    logger.warn('ADDONS_TOKEN_SECRET_KEY is shorter than 32 bytes; production refuses such a key');
  }
  const auth = new BearerAuthenticator(services.applications, jwt, services.users, {
    applicationTokens: config.applicationEnabled,
    ...(config.addons === undefined ? {} : { addonTokens: createAddonTokens(config.addons, (userId) => services.users.findUserById(userId)) }),
    ...(resourceServer === undefined
      ? {}
      : { userTokens: { introspector: new TokenIntrospector(resourceServer, logger), createUser: resourceServer.createUser } }),
  });

  const counters = config.redisUrl === undefined ? new MemoryCounters() : new RedisCounters(config.redisUrl, logger);
  app.addHook('onClose', () => counters.close());
  const throttles = new Throttles(counters, config.rateLimits);

  await app.register(opsRoutes, { database });
  // Without the client-credentials mode the token endpoint does not exist (404, like any unknown path).
  if (config.applicationEnabled) await app.register(tokenRoutes, { tokens, throttles, metrics });
  await app.register(roomsRoutes, { rooms: services.rooms, auth, config, throttles, metrics });
  if (config.internalApiToken !== undefined) {
    await app.register(admissionRoutes, { rooms: services.rooms, token: config.internalApiToken });
  }
  await app.register(descriptionRoutes);
  return app;
}
