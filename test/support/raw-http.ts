/**
 * HTTP over a raw socket, for requests fetch refuses to send (odd methods, broken framing,
 * absolute targets, missing Host) and answers fetch would hide.
 */
import net from 'node:net';
import type { TestServer } from '../helpers.js';

export interface RawAnswer {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

function decodeChunked(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

function parseRaw(data: Buffer): RawAnswer | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = data.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = head[0] ?? '';
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(end + 4);
  let body: Buffer;
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    if (!rest.includes('0\r\n\r\n')) return undefined;
    body = decodeChunked(rest);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length) return undefined;
    body = rest.subarray(0, length);
  } else {
    return undefined; // read until the server closes
  }
  return { statusLine, status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') };
}

/** Writes the bytes to the server's port and reads one response. */
export function rawRequest(server: Pick<TestServer, 'origin'>, payload: Buffer | string, timeoutMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(server.origin);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = net.connect(Number(port), hostname);
    const finish = (error?: Error) => {
      if (settled) return;
      const data = Buffer.concat(chunks);
      const parsed = parseRaw(data);
      if (parsed) {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed);
        return;
      }
      if (error || socket.destroyed || socket.readableEnded) {
        const end = data.indexOf('\r\n\r\n');
        if (end !== -1) {
          // Closed without a length: the body is whatever came.
          settled = true;
          clearTimeout(timer);
          const statusLine = data.subarray(0, data.indexOf('\r\n')).toString('latin1');
          const headers: Record<string, string> = {};
          for (const line of data.subarray(0, end).toString('latin1').split('\r\n').slice(1)) {
            const colon = line.indexOf(':');
            if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
          }
          resolve({ statusLine, status: Number(statusLine.split(' ')[1]), headers, body: data.subarray(end + 4).toString('utf8') });
          return;
        }
        settled = true;
        clearTimeout(timer);
        reject(error ?? new Error(`connection closed without a response (got ${JSON.stringify(data.toString('latin1').slice(0, 200))})`));
      }
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish(new Error('no complete response in time'));
    }, timeoutMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish(new Error('closed')));
    socket.on('error', (error) => finish(error));
  });
}

export function hostOf(server: Pick<TestServer, 'origin'>): string {
  return new URL(server.origin).host;
}

/** A raw HTTP/1.1 request with Connection: close; `headers` are written exactly as given. */
export function rawHttp(server: Pick<TestServer, 'origin'>, requestLine: string, headers: string[], body: Buffer | string = ''): Buffer {
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = [requestLine, `Host: ${hostOf(server)}`, 'Connection: close', ...headers].join('\r\n') + '\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]);
}

