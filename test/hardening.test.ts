/**
 * Defects an outside probe found (each test failed on the code before its fix): huge
 * pages, answers Node gave without JSON, links built from what the client sent, DELETE's
 * 403 telling who created a room, non-canonical JWT signatures; and what came with them:
 * PUBLIC_URL, MAX_CONNECTIONS, rotating the JWT key.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { API, TEST_JWT_KEY, call, createClient, getToken, useServer, userWithToken } from './helpers.js';
import { hostOf, rawHttp, rawRequest } from './support/raw-http.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const ROOMS = `${API}/rooms/`;

describe('pages past any plausible end, and requests Node would answer without JSON', () => {
  const server = useServer();

  it('a page whose offset passes 2^63 (or 2^53) is 404 Invalid page, not a 500', async () => {
    const { token } = await userWithToken(server);
    for (const query of ['page=461168601842738791', 'page=92233720368547759&page_size=100', `page=${'9'.repeat(400)}`, 'page=9007199254740993']) {
      const answer = await call(server, 'GET', `${ROOMS}?${query}`, { token });
      expect({ query, status: answer.status, body: answer.json }).toEqual({ query, status: 404, body: { detail: 'Invalid page.' } });
    }
    const huge = await call(server, 'GET', `${ROOMS}?page_size=${'9'.repeat(400)}`, { token });
    expect(huge.json).toEqual({ page_size: ['Ensure this value is less than or equal to 100.'] });
  });

  it('HTTP/1.1 without Host: 400 in JSON (HTTP/1.0 without Host is served)', async () => {
    const answer = await rawRequest(server, `GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n`);
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe(JSON_TYPE);
    expect(JSON.parse(answer.body)).toEqual({ detail: 'A Host header is required.' });
    const old = await rawRequest(server, `GET /healthz HTTP/1.0\r\n\r\n`);
    expect(old.status).toBe(200);
  });

  it('an empty or malformed Host: 400 in JSON', async () => {
    for (const host of ['', 'evil.example/x', 'a b', 'exa_mple.org@x', ':80', 'localhost:99999', 'localhost:65536']) {
      const answer = await rawRequest(server, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect({ host, status: answer.status, body: JSON.parse(answer.body) }).toEqual({ host, status: 400, body: { detail: 'The Host header does not name a host.' } });
    }
  });

  it('an Expect the server does not meet: 417 in JSON; 100-continue still works', async () => {
    const answer = await rawRequest(server, rawHttp(server, 'GET /healthz HTTP/1.1', ['Expect: 200-ok']));
    expect(answer.status).toBe(417);
    expect(answer.headers['content-type']).toBe(JSON_TYPE);
    expect(JSON.parse(answer.body).detail).toMatch(/^Expectation failed/);
    const continued = await rawRequest(server, rawHttp(server, 'GET /healthz HTTP/1.1', ['Expect: 100-continue']));
    expect(continued.statusLine).toMatch(/^HTTP\/1\.1 (100|200)/);
  });

  it('CONNECT: 405 in JSON, not a closed socket', async () => {
    const answer = await rawRequest(server, `CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n`);
    expect(answer.status).toBe(405);
    expect(answer.headers['content-type']).toBe(JSON_TYPE);
    expect(JSON.parse(answer.body)).toEqual({ detail: 'Method "CONNECT" not allowed.' });
    expect(answer.headers.allow).toBeDefined();
  });

  it('answers given before the API sees the request carry X-Request-Id too (the request\'s own when it sent one)', async () => {
    // Found by review: these five answers had none.
    const id = 'probe-42';
    const cases = [
      { name: 'CONNECT', bytes: `CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nX-Request-Id: ${id}\r\n\r\n`, status: 405, own: true },
      { name: 'Expect', bytes: rawHttp(server, 'GET /healthz HTTP/1.1', ['Expect: 200-ok', `X-Request-Id: ${id}`, 'Connection: close']), status: 417, own: true },
      { name: 'broken percent-encoding', bytes: rawHttp(server, `GET ${API}/rooms/%zz HTTP/1.1`, [`X-Request-Id: ${id}`, 'Connection: close']), status: 400, own: true },
      { name: 'overlong path parameter', bytes: rawHttp(server, `GET ${API}/rooms/${'a'.repeat(300)}/ HTTP/1.1`, [`X-Request-Id: ${id}`, 'Connection: close']), status: 404, own: true },
      { name: 'malformed header line', bytes: rawHttp(server, 'GET /healthz HTTP/1.1', ['Bad Header', 'Connection: close']), status: 400, own: false },
    ];
    for (const { name, bytes, status, own } of cases) {
      const answer = await rawRequest(server, bytes);
      expect({ name, status: answer.status }).toEqual({ name, status });
      expect({ name, id: answer.headers['x-request-id'] }).toEqual({ name, id: own ? id : expect.stringMatching(/^[0-9a-f-]{36}$/) });
    }
  });

  it('CONNECT with a body, from a client that never closes: the server closes the socket soon after its answer', async () => {
    // Found by the fuzz suite: such a socket stayed open for good and held the server's shutdown.
    const connections = () => new Promise<number>((resolve, reject) => server.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    const before = await connections();
    const { port } = new URL(server.origin);
    // allowHalfOpen: the client keeps its side open after the server's end, as a hostile one would.
    const socket = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    const answer = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(chunk.toString('latin1'))));
    socket.write(`CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(5000)}`);
    try {
      expect(await answer).toMatch(/^HTTP\/1\.1 405 /);
      const until = Date.now() + 4000;
      while ((await connections()) > before && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await connections()).toBe(before);
    } finally {
      socket.destroy();
    }
  });
});

describe('links are built on the Host checked, never on an absolute request target', () => {
  const server = useServer();

  it('GET http://evil.example/... is read as its path; next/previous keep our origin', async () => {
    const { token } = await userWithToken(server);
    for (let i = 0; i < 3; i++) expect((await call(server, 'POST', ROOMS, { token })).status).toBe(201);
    const answer = await rawRequest(server, rawHttp(server, `GET http://evil.example${ROOMS}?page_size=1&page=2 HTTP/1.1`, [`Authorization: Bearer ${token}`]));
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body);
    expect(body.next).toBe(`http://${hostOf(server)}${ROOMS}?page_size=1&page=3`);
    expect(body.previous).toBe(`http://${hostOf(server)}${ROOMS}?page_size=1`);
  });
});

describe('with PUBLIC_URL', () => {
  const server = useServer({ PUBLIC_URL: 'https://meet.example.org' });

  it('next, previous and Location are built on it, whatever Host says', async () => {
    const { token } = await userWithToken(server);
    const created = await call(server, 'POST', ROOMS, { token, headers: { host: 'evil.example' } });
    expect(created.headers.get('location')).toBe(`https://meet.example.org${ROOMS}${created.json.id}/`);
    await call(server, 'POST', ROOMS, { token });
    const listed = await call(server, 'GET', `${ROOMS}?page_size=1`, { token, headers: { host: 'evil.example:8080' } });
    expect(listed.json.next).toBe(`https://meet.example.org${ROOMS}?page_size=1&page=2`);
  });
});

describe('DELETE by a user without a role on the room', () => {
  const server = useServer();

  it('is told what retrieve tells, not whether this application created the room', async () => {
    const owner = await userWithToken(server, 'owner@example.com', ['rooms:create', 'rooms:delete']);
    const created = await call(server, 'POST', ROOMS, { token: owner.token });
    await server.services.users.createUser({ email: 'stranger@example.com' });
    // The same application (it created the room) and another one: the same answer.
    const sameApp = await getToken(server, owner.client, 'stranger@example.com');
    const otherApp = await getToken(server, await createClient(server, { scopes: ['rooms:delete'] }), 'stranger@example.com');
    for (const token of [sameApp, otherApp]) {
      const answer = await call(server, 'DELETE', `${ROOMS}${created.json.id}/`, { token });
      expect({ status: answer.status, body: answer.json }).toEqual({ status: 403, body: { detail: 'You do not have permission to perform this action.' } });
    }
  });
});

/** Every spelling of a base64url segment's last character that decodes to the same bytes. */
function sameBytesSpellings(segment: string): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = Buffer.from(segment, 'base64url');
  return [...alphabet]
    .map((c) => segment.slice(0, -1) + c)
    .filter((s) => s !== segment && Buffer.from(s, 'base64url').equals(bytes));
}

describe('JWT signatures in their one canonical spelling', () => {
  const server = useServer();

  it('the same signature bytes spelled otherwise are refused as an invalid token', async () => {
    const { token } = await userWithToken(server);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const others = sameBytesSpellings(signature);
    expect(others.length).toBeGreaterThan(0);
    expect((await call(server, 'GET', ROOMS, { token })).status).toBe(200);
    for (const spelling of others) {
      const answer = await call(server, 'GET', ROOMS, { token: `${header}.${payload}.${spelling}` });
      expect({ spelling, status: answer.status, body: answer.json }).toEqual({ spelling, status: 401, body: { detail: 'Invalid token.' } });
    }
  });
});

describe('rotating the JWT key without cutting live tokens', () => {
  const OLD_KEY = TEST_JWT_KEY;
  const NEW_KEY = 'the-new-signing-key-0123456789abcdefghijklmnopqrstuvwxyz';
  const before = useServer();
  const after = useServer(() => ({ APPLICATION_JWT_SECRET_KEY: NEW_KEY, APPLICATION_JWT_SECRET_KEY_FALLBACKS: OLD_KEY }), { databaseUrl: () => before.databaseUrl });
  const retired = useServer(() => ({ APPLICATION_JWT_SECRET_KEY: NEW_KEY }), { databaseUrl: () => before.databaseUrl });

  it('a token of the old key still verifies under its fallback; new tokens are signed with the new key only', async () => {
    const { token: oldToken, client, email } = await userWithToken(before, `rotate-${randomUUID().slice(0, 8)}@example.com`);
    expect((await call(after, 'GET', ROOMS, { token: oldToken })).status).toBe(200);
    const newToken = await getToken(after, client, email);
    expect(decodeJwt(newToken).user_id).toBe(decodeJwt(oldToken).user_id);
    expect((await call(before, 'GET', ROOMS, { token: newToken })).json).toEqual({ detail: 'Invalid token.' });
    // Once the fallback is dropped, the old key's tokens stop working.
    expect((await call(retired, 'GET', ROOMS, { token: oldToken })).json).toEqual({ detail: 'Invalid token.' });
    expect((await call(retired, 'GET', ROOMS, { token: newToken })).status).toBe(200);
  });
});

describe('MAX_CONNECTIONS', () => {
  const server = useServer({ MAX_CONNECTIONS: '5' });

  it('connections past the limit are closed at once; the server serves again when they go', async () => {
    const { port } = new URL(server.origin);
    const open = async () => {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
      return socket;
    };
    const idle = await Promise.all(Array.from({ length: 5 }, open));
    const extra = await open();
    const closed = await new Promise<boolean>((resolve) => {
      extra.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    expect(closed).toBe(true);
    for (const socket of idle) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await call(server, 'GET', '/healthz')).status).toBe(200);
  });
});
