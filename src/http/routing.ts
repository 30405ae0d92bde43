/** Routing conventions shared by every route: JSON bodies, an absent body, 405 with Allow, absolute URLs. */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { ApiError, detailError } from '../errors.js';
import { unsupportedMediaType } from './errors.js';
import { ErrorSchema, answer, detailExample, ref } from './schemas.js';

/**
 * JSON bodies through Fastify's own parser (which strips prototype-poisoning keys), with
 * one change: an empty body means "no fields", as the contract allows for room creation.
 */
export function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // Fastify also parses text/plain by default; this API takes JSON (and forms, on the
  // token route only), so anything else must be a 415.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // JSON between systems is UTF-8 (RFC 8259 §8.1); a body declared otherwise would be
    // misread, so it is refused rather than guessed at.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(new ApiError(415, { detail: unsupportedMediaType(request.headers['content-type']) }), undefined);
    }
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, done);
  });
  // A request without a body (or with an empty one) sends no fields: validation then says
  // which are required, and room creation, which needs none, goes ahead. A JSON `null` is
  // a body, and is refused as one that is not an object. Only routes that take a body get
  // the hook, first among their own preValidation hooks.
  app.addHook('onRoute', (route) => {
    if (route.schema?.body === undefined) return;
    const own = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [absentBodyIsEmpty, ...own];
  });
}

function absentBodyIsEmpty(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (request.body === undefined) request.body = {};
  done();
}

export function methodNotAllowed(method: string): string {
  return `Method "${method}" not allowed.`;
}

/** The methods a path answers, as its Allow header lists them (HEAD wherever GET is). */
function allowedMethods(allowed: readonly string[]): string[] {
  return allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD'] : [...allowed];
}

/**
 * A known path asked with a method it does not serve answers 405 with an Allow header.
 * It answers in onRequest, before any body is read, so the method is the first thing said.
 * (Hidden from the description: each operation declares its 405 instead.)
 */
export function rejectOtherMethods(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const allow = allowedMethods(allowed);
  const others = app.supportedMethods.filter((m) => !allow.includes(m));
  app.route({
    method: others,
    url,
    schema: { hide: true },
    onRequest: async (request) => {
      throw detailError(405, methodNotAllowed(request.method), { allow: allow.join(', ') });
    },
    handler: async () => undefined,
  });
}

/** The 405 an operation declares: what another method on its path answers. */
export function methodNotAllowedAnswer(allowed: readonly string[]) {
  return answer(
    'Another method on this path; `Allow` lists those it serves.',
    ref(ErrorSchema),
    { methodNotAllowed: detailExample('PUT on this path', methodNotAllowed('PUT')) },
    { Allow: { description: 'The methods this path serves.', type: 'string', example: allowedMethods(allowed).join(', ') } },
  );
}
