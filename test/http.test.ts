/**
 * docs/api.md, "Conventions" and "Operations": routing conventions over a real port. Both slash forms answer
 * directly, unknown routes and wrong methods answer JSON, and the operations endpoints.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { API, call, useServer, userWithToken, type Client, type TestServer } from './helpers.js';
import { storedRooms } from './support/stored.js';

const JSON_TYPE = 'application/json; charset=utf-8';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One request that never follows a redirect, so a 30x would show as such. */
async function direct(server: TestServer, method: string, pathAndQuery: string, init: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${server.origin}${pathAndQuery}`, { method, headers, body: init.body, redirect: 'manual' });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new Error(`${method} ${pathAndQuery} answered ${response.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, text, json };
}

function expectJson(answer: Answer): void {
  expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
  expect(answer.text).not.toBe('');
  expect(() => JSON.parse(answer.text)).not.toThrow();
}

function allowOf(answer: Answer): string[] {
  return (answer.headers.get('allow') ?? '')
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter(Boolean)
    .sort();
}

describe('every route answers with and without its trailing slash, directly', () => {
  const server = useServer();
  let token: string;
  let client: Client;
  let email: string;
  beforeAll(async () => {
    const subject = await userWithToken(server);
    token = subject.token;
    client = subject.client;
    email = subject.email;
  });

  for (const suffix of ['/', '']) {
    const form = suffix === '/' ? 'with' : 'without';

    it(`POST /application/token ${form} the slash: 200`, async () => {
      const answer = await direct(server, 'POST', `${API}/application/token${suffix}`, {
        body: JSON.stringify({ client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email }),
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(200);
      expectJson(answer);
      expect(typeof answer.json.access_token).toBe('string');
    });

    it(`POST /rooms ${form} the slash: 201`, async () => {
      const answer = await direct(server, 'POST', `${API}/rooms${suffix}`, { token });
      expect(answer.status).toBe(201);
      expectJson(answer);
      expect(answer.headers.get('location')).toBe(`${server.origin}${API}/rooms/${answer.json.id}/`);
    });

    it(`GET /rooms ${form} the slash: 200`, async () => {
      const answer = await direct(server, 'GET', `${API}/rooms${suffix}`, { token });
      expect(answer.status).toBe(200);
      expectJson(answer);
      expect(typeof answer.json.count).toBe('number');
    });

    it(`GET /rooms ${form} the slash with a query string: 200`, async () => {
      const answer = await direct(server, 'GET', `${API}/rooms${suffix}?page=1&page_size=5`, { token });
      expect(answer.status).toBe(200);
      expectJson(answer);
    });

    it(`GET /rooms/{id} ${form} the slash: 200`, async () => {
      const created = await direct(server, 'POST', `${API}/rooms/`, { token });
      expect(created.status).toBe(201);
      const answer = await direct(server, 'GET', `${API}/rooms/${created.json.id}${suffix}`, { token });
      expect(answer.status).toBe(200);
      expectJson(answer);
      expect(answer.json).toEqual(created.json);
    });

    it(`GET /healthz and /readyz ${form} the slash: 200`, async () => {
      for (const path of ['/healthz', '/readyz']) {
        const answer = await direct(server, 'GET', `${path}${suffix}`);
        expect({ path, status: answer.status }).toEqual({ path, status: 200 });
        expectJson(answer);
      }
    });
  }

  it('errors too answer on both forms (401 on /rooms without a token)', async () => {
    for (const path of [`${API}/rooms`, `${API}/rooms/`]) {
      const answer = await direct(server, 'GET', path);
      expect(answer.status).toBe(401);
      expectJson(answer);
      expect(answer.json).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
  });
});

describe('unknown routes and methods', () => {
  const server = useServer();
  let token: string;
  let roomId: string;
  beforeAll(async () => {
    ({ token } = await userWithToken(server));
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    roomId = created.json.id;
  });

  it('answers 404 {"detail": "Not found."} in JSON for unknown routes', async () => {
    const paths = [
      '/',
      '/nope',
      `${API}`,
      `${API}/`,
      `${API}/nope/`,
      `${API}/room/`,
      '/external-api/v2.0/rooms/',
      '/external-api/v1.0/Rooms/',
      `${API}/rooms/${'00000000-0000-4000-8000-000000000000'}/accesses/`,
      `${API}/application/`,
      `${API}/application/token/extra/`,
      '/favicon.ico',
      '/healthz/extra',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const answer = await direct(server, method, path, { token });
        expect({ method, path, status: answer.status, body: answer.json }).toEqual({ method, path, status: 404, body: { detail: 'Not found.' } });
        expectJson(answer);
      }
    }
  });

  const routes: Array<{ name: string; path: () => string; allowed: string[]; refused: string[] }> = [
    { name: '/rooms/', path: () => `${API}/rooms/`, allowed: ['GET', 'POST'], refused: ['PUT', 'DELETE', 'PATCH'] },
    // v1.1 serves PATCH and DELETE on a room; PUT stays refused.
    { name: '/rooms/{id}/', path: () => `${API}/rooms/${roomId}/`, allowed: ['GET', 'PATCH', 'DELETE'], refused: ['PUT', 'POST'] },
    { name: '/application/token/', path: () => `${API}/application/token/`, allowed: ['POST'], refused: ['PUT', 'DELETE', 'PATCH', 'GET'] },
  ];

  for (const route of routes) {
    for (const method of route.refused) {
      it(`${method} ${route.name} answers 405 with the exact body and an Allow header`, async () => {
        for (const path of [route.path(), route.path().replace(/\/$/, '')]) {
          for (const withToken of [true, false]) {
            const answer = await direct(server, method, path, withToken ? { token } : {});
            expect({ path, withToken, status: answer.status }).toEqual({ path, withToken, status: 405 });
            expectJson(answer);
            expect(answer.text.replace(/\s/g, '')).toBe(`{"detail":"Method\\"${method}\\"notallowed."}`);
            expect(answer.json).toEqual({ detail: `Method "${method}" not allowed.` });
            const allow = allowOf(answer);
            for (const m of route.allowed) expect(allow).toContain(m);
            expect(allow).not.toContain(method);
            for (const m of allow) expect(['GET', 'HEAD', 'POST', 'PATCH', 'DELETE']).toContain(m);
          }
        }
      });
    }
  }

  it('405 is answered before the body is judged (a broken JSON body with PUT is still 405)', async () => {
    const answer = await direct(server, 'PUT', `${API}/rooms/`, { token, body: '{broken', headers: { 'content-type': 'application/json' } });
    expect(answer.status).toBe(405);
    expect(answer.json).toEqual({ detail: 'Method "PUT" not allowed.' });
  });

  it('the 405 changes nothing', async () => {
    const before = await storedRooms(server);
    for (const method of ['PUT', 'POST']) {
      const answer = await direct(server, method, `${API}/rooms/${roomId}/`, {
        token,
        body: JSON.stringify({ access_level: 'public', slug: 'aaa-bbbb-ccc' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(405);
    }
    const after = await storedRooms(server);
    expect(after).toEqual(before);
  });
});

describe('all answers are JSON', () => {
  const server = useServer();
  let token: string;
  beforeAll(async () => {
    ({ token } = await userWithToken(server));
  });

  it('success and error answers of every route carry application/json; charset=utf-8', async () => {
    const created = await direct(server, 'POST', `${API}/rooms/`, { token });
    const requests: Array<[string, string, Parameters<typeof direct>[3], number]> = [
      ['GET', `${API}/rooms/`, { token }, 200],
      ['GET', `${API}/rooms/`, {}, 401],
      ['GET', `${API}/rooms/`, { token: 'not-a-jwt' }, 401],
      ['GET', `${API}/rooms/?page=0`, { token }, 400],
      ['GET', `${API}/rooms/?page=9`, { token }, 404],
      ['GET', `${API}/rooms/${created.json.id}/`, { token }, 200],
      ['GET', `${API}/rooms/nope/`, { token }, 404],
      ['POST', `${API}/rooms/`, { token, body: '[]', headers: { 'content-type': 'application/json' } }, 400],
      ['POST', `${API}/rooms/`, { token, body: 'x', headers: { 'content-type': 'text/plain' } }, 415],
      ['POST', `${API}/application/token/`, { body: '{}', headers: { 'content-type': 'application/json' } }, 400],
      ['POST', `${API}/application/token/`, { body: 'x', headers: { 'content-type': 'text/plain' } }, 415],
      ['PUT', `${API}/rooms/`, {}, 405],
      ['GET', '/nowhere', {}, 404],
      ['GET', '/healthz', {}, 200],
      ['GET', '/readyz', {}, 200],
      ['GET', `${API}/openapi.json`, {}, 200],
    ];
    for (const [method, path, init, status] of requests) {
      const answer = await direct(server, method, path, init);
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
      expectJson(answer);
    }
  });
});

describe('operations endpoints', () => {
  const server = useServer();

  it('GET /healthz answers 200 JSON', async () => {
    const answer = await direct(server, 'GET', '/healthz');
    expect(answer.status).toBe(200);
    expectJson(answer);
  });

  it('GET /readyz answers 200 JSON while the database answers', async () => {
    const answer = await direct(server, 'GET', '/readyz');
    expect(answer.status).toBe(200);
    expectJson(answer);
  });

  it('the operations endpoints need no token', async () => {
    for (const path of ['/healthz', '/readyz', `${API}/openapi.json`]) {
      const answer = await direct(server, 'GET', path, { headers: { authorization: 'Bearer garbage' } });
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
    }
  });

  it('POST /healthz answers 405 JSON with an Allow header naming GET', async () => {
    const answer = await direct(server, 'POST', '/healthz');
    expect(answer.status).toBe(405);
    expect(answer.json).toEqual({ detail: 'Method "POST" not allowed.' });
    expect(allowOf(answer)).toContain('GET');
  });

  it('GET /external-api/v1.0/openapi.json answers 200 with a JSON OpenAPI document', async () => {
    const answer = await direct(server, 'GET', `${API}/openapi.json`);
    expect(answer.status).toBe(200);
    expectJson(answer);
    expect(typeof answer.json.openapi).toBe('string');
    expect(answer.json.openapi).toMatch(/^3\./);
    expect(answer.json.info?.version).toBe('1.1.0');
  });

  it('the served description documents the routes the server implements', async () => {
    const answer = await direct(server, 'GET', `${API}/openapi.json`);
    expect(answer.status).toBe(200);
    const paths = Object.keys(answer.json.paths ?? {}).map((p) => p.replace(/\/$/, ''));
    // The paths may be written relative to the /external-api/v1.0 server URL or in full.
    const has = (suffix: string) => paths.some((p) => p === suffix || p === `${API}${suffix}`);
    expect(has('/application/token')).toBe(true);
    expect(has('/rooms')).toBe(true);
    expect(has('/rooms/{id}')).toBe(true);
  });
});
