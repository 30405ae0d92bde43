/**
 * What Node's HTTP layer would answer by itself, answered as the API answers (JSON), and
 * what it accepts before the API sees a request: a bounded number of connections, a Host
 * that names a host. Also the origin links are built on.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { detailError } from '../errors.js';
import { methodNotAllowed } from './routing.js';

/** An X-Request-Id a client may choose; anything else gets a new UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id (docs/api.md, "Limits and request ids"): its own X-Request-Id when sane, else a new UUID. */
export function requestIdOf(request: IncomingMessage | undefined): string {
  const given = request?.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * A whole HTTP/1.1 answer with a JSON body, written straight to a socket (before or
 * outside Fastify). `requestId`: the request's, when there is one to read it from.
 */
export function rawJsonAnswer(status: number, detail: string, headers: Record<string, string> = {}, requestId: string = randomUUID()): string {
  const body = JSON.stringify({ detail });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `X-Request-Id: ${requestId}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    extra +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** A JSON answer on Node's own response object, for the answers Node asks us for before Fastify sees the request. */
export function writeJson(response: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ detail });
  response.writeHead(status, {
    ...headers,
    'x-request-id': requestIdOf(response.req),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}

export const EXPECTATION_FAILED = 'Expectation failed: only "Expect: 100-continue" is supported.';

/**
 * Node answers an Expect it does not meet with an empty 417 and drops a CONNECT without a
 * word; here both get the API's JSON. At most `maxConnections` sockets are open at once:
 * past that, new ones are closed at once instead of starving the process of descriptors.
 */
/** How long a CONNECT's socket stays after its answer, so the client can read it before the close. */
const CONNECT_LINGER_MS = 1000;

export function answerInJson(server: Server, options: { maxConnections: number }): void {
  server.maxConnections = options.maxConnections;
  server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => writeJson(response, 417, EXPECTATION_FAILED));
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    // Node hands the socket over and stops reading it: whatever the client sends after the
    // head is drained, and the socket is destroyed shortly after the answer, so a client
    // that never closes cannot hold it (and the server's shutdown) open.
    socket.resume();
    socket.end(rawJsonAnswer(405, methodNotAllowed('CONNECT'), { Allow: 'GET, HEAD, POST, PATCH, DELETE' }, requestIdOf(request)), () => {
      setTimeout(() => socket.destroy(), CONNECT_LINGER_MS).unref();
    });
  });
}

/** A Host as RFC 9110 allows it: a name or IPv4 address, or a bracketed IPv6 address, and an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
const MAX_PORT = 65_535;

export const MISSING_HOST = 'A Host header is required.';
export const INVALID_HOST = 'The Host header does not name a host.';

/**
 * HTTP/1.1 requires a Host naming a host (RFC 9112 §3.2): a request without one, or with
 * one that is empty or malformed, is a 400. (Node's own check answers without a body.)
 */
export function checkHost(request: FastifyRequest): void {
  const host = request.headers.host;
  if (host === undefined) {
    if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 0) return;
    throw detailError(400, MISSING_HOST);
  }
  // A port past 65535 matches the pattern but no URL can hold it (links are built on it).
  const match = HOST.exec(request.host);
  if (match === null || Number(match[1] ?? 0) > MAX_PORT) throw detailError(400, INVALID_HOST);
}

/**
 * scheme://host links are built on: PUBLIC_URL when set, never then the request's Host;
 * else the request's (proxy headers when trusted; Host was checked by checkHost). An
 * HTTP/1.0 request without Host and without PUBLIC_URL gets the address it reached.
 */
export function linkOrigin(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl;
  if (request.headers.host === undefined) {
    const { localAddress, localPort } = request.raw.socket;
    return `${request.protocol}://${localAddress?.includes(':') ? `[${localAddress}]` : localAddress}:${localPort}`;
  }
  return `${request.protocol}://${request.host}`;
}

/** The path and query of the request, whatever form its target took (an absolute target is read as its path). */
export function requestTarget(request: FastifyRequest): string {
  const url = request.url;
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}
