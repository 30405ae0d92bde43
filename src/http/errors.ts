/**
 * How every failure becomes an answer: always JSON, never a stack or a driver message.
 * Services throw ApiError with the contract's body; the framework's own errors (bad media
 * type, body too large, broken JSON) are translated here; anything else is a 500 whose
 * real cause goes to the log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/database.js';
import { ApiError, NOT_FOUND, SERVICE_UNAVAILABLE } from '../errors.js';
import { ErrorSchema, RETRY_AFTER, answer, detailExample, ref } from './schemas.js';
import { rawJsonAnswer, requestIdOf } from './transport.js';

export const BODY_TOO_LARGE = 'Request body is too large.';
export const INVALID_JSON = 'JSON parse error.';
export const SERVER_ERROR = 'A server error occurred.';

export function unsupportedMediaType(contentType: string | undefined): string {
  return contentType === undefined
    ? 'Unsupported media type: a Content-Type header is required with a body.'
    : `Unsupported media type "${contentType}" in request.`;
}

/** What a route declares for the failures the framework answers for it. */
export const bodyTooLargeAnswer = () =>
  answer('The body is larger than the server accepts', ref(ErrorSchema), { tooLarge: detailExample('Body too large', BODY_TOO_LARGE) });

export const unsupportedMediaTypeAnswer = (accepted: string) =>
  answer(`A body in another content type than ${accepted}`, ref(ErrorSchema), {
    otherType: detailExample('Another content type', unsupportedMediaType('text/plain')),
    noType: detailExample('A body without Content-Type', unsupportedMediaType(undefined)),
  });

export const unavailableAnswer = () =>
  answer(
    'The database cannot answer right now; try again after `Retry-After` seconds',
    ref(ErrorSchema),
    { unavailable: detailExample('Database unavailable', SERVICE_UNAVAILABLE) },
    { 'Retry-After': RETRY_AFTER },
  );

export const notFoundAnswer = (description: string) =>
  answer(description, ref(ErrorSchema), { notFound: detailExample('No such room', NOT_FOUND) });

const GENERIC_4XX: Record<number, string> = {
  400: 'Bad request.',
  404: NOT_FOUND,
  408: 'Request timeout.',
  413: BODY_TOO_LARGE,
  414: 'Request URI is too long.',
  415: 'Unsupported media type.',
  431: 'Request header fields are too large.',
};

function frameworkError(error: FastifyError, request: FastifyRequest): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new ApiError(415, { detail: unsupportedMediaType(request.headers['content-type']) });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, { detail: BODY_TOO_LARGE });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, { detail: 'Content-Length does not match the body.' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, { detail: INVALID_JSON });
  }
  if (error instanceof SyntaxError || error.name === 'SyntaxError') {
    return new ApiError(400, { detail: `JSON parse error - ${error.message}` });
  }
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(status, { detail: GENERIC_4XX[status] ?? 'Bad request.' });
  }
  return undefined;
}

/**
 * Error bodies are built by the code that refuses (their shape is the contract's), so they
 * are written as they are: a response schema's serializer, built for the documentation,
 * must never drop or reshape a key of an error.
 */
export function sendError(reply: FastifyReply, status: number, body: object, headers: Readonly<Record<string, string>> = {}): FastifyReply {
  // Refused before its body was read (a bad token, an unknown path): the rest of the body
  // will not be read either, so the connection closes rather than wait for it.
  if (!reply.request.raw.complete) reply.header('connection', 'close');
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error instanceof ApiError ? error : frameworkError(error, request);
    if (known) return sendError(reply, known.statusCode, known.body, known.headers);
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: error }, 'database unavailable');
      return sendError(reply, 503, { detail: SERVICE_UNAVAILABLE }, { 'retry-after': '5' });
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, { detail: SERVER_ERROR });
  });

  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, { detail: NOT_FOUND }));
}

/** Answers for requests too broken to reach a route (bad request line, oversized headers). */
export function clientErrorHandler(error: NodeJS.ErrnoException & { code?: string }, socket: import('node:net').Socket): void {
  if (!socket.writable) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const answer = rawJsonAnswer(status, GENERIC_4XX[status] ?? 'Bad request.');
  // Bytes that break the parser may follow a complete request still being answered (a
  // pipelined one): its answer goes first, then this one, so nothing done goes unsaid.
  // (`_httpMessage` is the answer Node is writing on this socket.) A request whose own
  // body is what broke is not waited for: it will never be whole.
  const inFlight = (socket as { _httpMessage?: import('node:http').ServerResponse | null })._httpMessage;
  if (inFlight != null && !inFlight.writableFinished && inFlight.req.complete) {
    inFlight.once('finish', () => socket.writable && socket.end(answer));
    inFlight.once('close', () => socket.writable && socket.end(answer));
    return;
  }
  socket.end(answer);
}

/** Fastify's own early errors (a path with broken percent-encoding) answered like any other 400. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.code === 'FST_ERR_BAD_URL' ? 400 : (error.statusCode ?? 400);
  // Answered before the onRequest hook that sets it on every other answer.
  reply.header('x-request-id', request.id);
  reply.code(status).send({ detail: GENERIC_4XX[status] ?? 'Bad request.' });
}

/**
 * A path parameter longer than any room id or slug names nothing: 404, as for any other
 * id that is not a room's. (The router answers this before Fastify, on the raw response.)
 */
export function onMaxParamLength(_path: string, request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse): void {
  const body = JSON.stringify({ detail: NOT_FOUND });
  response.writeHead(404, { 'x-request-id': requestIdOf(request), 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
