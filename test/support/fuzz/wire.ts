/**
 * One HTTP exchange over a raw TCP socket, for the fuzz suite: the request is written byte
 * for byte as generated (fetch would refuse odd methods, header bytes, absolute targets or
 * broken framing), and everything the server sends back is read and split into responses.
 */
import net from 'node:net';

export interface WireResponse {
  statusLine: string;
  status: number;
  /** Header lines in order, names lower-cased. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** How the body's end was known. */
  framing: 'content-length' | 'chunked' | 'close' | 'none';
}

export interface WireExchange {
  /** Interim (1xx) responses, e.g. 100 Continue. */
  interim: WireResponse[];
  /** Final responses, in the order they came (more than one only when the request bytes held more than one message). */
  responses: WireResponse[];
  /** How the exchange ended: the server closed, the client gave up waiting, or the socket failed. */
  end: 'closed' | 'timeout' | 'error';
  error?: string;
  /** Bytes after the last complete response (a truncated or unparsable answer). */
  leftover: Buffer;
  ms: number;
}

export interface WireOptions {
  port: number;
  timeoutMs: number;
  /** The first response answers a HEAD request: it has no body whatever its headers say. */
  head: boolean;
  /**
   * When the client closes its sending side. Node's server treats a client's half-close as
   * the end of everything (an answer still being prepared is dropped), so it is done only
   * when the server would otherwise wait: `after-write` for a message HTTP says is not
   * finished (the server waits for the rest of the head or body), `after-answer` once the
   * first answer is in (a kept-alive connection waits for the next request), `if-idle` when
   * the framing is ambiguous: after `idleMs` of silence, as if the message were unfinished.
   */
  halfClose: 'after-write' | 'after-answer' | 'if-idle';
  /** With `if-idle`: how long the server may stay silent before the client half-closes. */
  idleMs?: number;
}

export function header(response: WireResponse, name: string): string | undefined {
  return response.headers.find(([key]) => key === name)?.[1];
}

function noBody(status: number, isHeadAnswer: boolean): boolean {
  return isHeadAnswer || (status >= 100 && status < 200) || status === 204 || status === 304;
}

/** The size and end of a chunked body starting at `offset`, or undefined while incomplete. */
function readChunked(data: Buffer, offset: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = offset;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size line ${JSON.stringify(data.subarray(at, lineEnd).toString('latin1'))}`);
    if (size === 0) {
      // Trailer fields, then an empty line.
      let trailerAt = lineEnd + 2;
      for (;;) {
        const trailerEnd = data.indexOf('\r\n', trailerAt);
        if (trailerEnd === -1) return undefined;
        if (trailerEnd === trailerAt) return { body: Buffer.concat(parts), end: trailerEnd + 2 };
        trailerAt = trailerEnd + 2;
      }
    }
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/**
 * Splits what the server sent into responses. `closed`: the server closed, so a body
 * without a length ends here. Returns the responses found and the offset where parsing stopped.
 */
export function splitResponses(data: Buffer, closed: boolean, head: boolean): { interim: WireResponse[]; responses: WireResponse[]; rest: number } {
  const interim: WireResponse[] = [];
  const responses: WireResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const lines = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    const headers = lines.slice(1).map((line): [string, string] => {
      const colon = line.indexOf(':');
      return colon === -1 ? [line.toLowerCase(), ''] : [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    });
    const response: WireResponse = { statusLine, status, headers, body: Buffer.alloc(0), framing: 'none' };
    const bodyStart = headEnd + 4;
    const isFirstFinal = responses.length === 0 && !(status >= 100 && status < 200);
    const length = header(response, 'content-length');
    if (noBody(status, head && isFirstFinal)) {
      at = bodyStart;
      // Node's answers to requests it could not parse carry their body even when the request
      // line said HEAD; on a closed connection those bytes are that answer's, not another one.
      if (head && isFirstFinal && closed && length !== undefined && data.length - bodyStart === Number(length)) {
        response.body = data.subarray(bodyStart);
        response.framing = 'content-length';
        at = data.length;
      }
    } else if (/chunked/i.test(header(response, 'transfer-encoding') ?? '')) {
      const chunked = readChunked(data, bodyStart);
      if (!chunked) break;
      response.body = chunked.body;
      response.framing = 'chunked';
      at = chunked.end;
    } else if (length !== undefined) {
      const size = Number(length);
      if (data.length < bodyStart + size) break;
      response.body = data.subarray(bodyStart, bodyStart + size);
      response.framing = 'content-length';
      at = bodyStart + size;
    } else {
      if (!closed) break;
      response.body = data.subarray(bodyStart);
      response.framing = 'close';
      at = data.length;
    }
    (status >= 100 && status < 200 ? interim : responses).push(response);
  }
  return { interim, responses, rest: at };
}

/** Writes `request` to a fresh connection and reads until the server closes it (or the time is up). */
export function exchange(request: Buffer, options: WireOptions): Promise<WireExchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = net.connect(options.port, '127.0.0.1');
    let settled = false;
    let halfClosed = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (end: WireExchange['end'], error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(idle);
      socket.destroy();
      const data = Buffer.concat(chunks);
      let parsed: ReturnType<typeof splitResponses>;
      try {
        parsed = splitResponses(data, end !== 'timeout', options.head);
      } catch (parseError) {
        parsed = { interim: [], responses: [], rest: 0 };
        error = `unparsable answer: ${(parseError as Error).message}`;
      }
      resolve({ interim: parsed.interim, responses: parsed.responses, end, error, leftover: data.subarray(parsed.rest), ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    const halfClose = () => {
      if (halfClosed || settled) return;
      halfClosed = true;
      socket.end();
    };
    socket.on('connect', () => {
      socket.write(request);
      if (options.halfClose === 'after-write') halfClose();
      if (options.halfClose === 'if-idle') idle = setTimeout(halfClose, options.idleMs ?? 1000);
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      clearTimeout(idle);
      if (options.halfClose === 'after-write' || halfClosed) return;
      // A kept-alive connection: once the first answer is complete, say we are done.
      // (An answer that cannot be parsed is judged when the exchange ends.)
      try {
        if (splitResponses(Buffer.concat(chunks), false, options.head).responses.length > 0) halfClose();
      } catch {
        halfClose();
      }
    });
    socket.on('close', () => finish('closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => finish('error', error.code ?? error.message));
  });
}
