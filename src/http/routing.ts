/** Routing conventions shared by every route: JSON bodies, 405 with Allow, absolute URLs. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, detailError } from '../errors.js';

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
      return done(new ApiError(415, { detail: `Unsupported media type "${request.headers['content-type']}" in request.` }), undefined);
    }
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, done);
  });
}

/**
 * A known path asked with a method it does not serve answers 405 with an Allow header.
 * It answers in onRequest, before any body is read, so the method is the first thing said.
 */
export function rejectOtherMethods(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const allow = allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD'] : [...allowed];
  const others = app.supportedMethods.filter((m) => !allow.includes(m));
  app.route({
    method: others,
    url,
    onRequest: async (request) => {
      throw detailError(405, `Method "${request.method}" not allowed.`, { allow: allow.join(', ') });
    },
    handler: async () => undefined,
  });
}

/** scheme://host of the request, as the client addressed us (proxy headers when trusted). */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The body must be absent or a JSON object; a list, string or number is a 400. */
export function requireObjectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body;
    throw new ApiError(400, { detail: `Invalid data. Expected a JSON object, but got ${got}.` });
  }
  return body as Record<string, unknown>;
}
