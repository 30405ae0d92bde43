/**
 * The served description (GET /external-api/v1.0/openapi.json) is built from the route
 * schemas. These tests check what the schemas cannot: that the document is valid and
 * clean by the linters integrators run (Redocly, swagger-parser), that it names exactly
 * the routes the server mounts, and that real answers are the documented ones: the status
 * is declared for the operation, with its headers, and the body validates against the
 * declared schema (Ajv, JSON Schema 2020-12, as OpenAPI 3.1 says).
 *
 * The internal admission route is mounted, and described, only while INTERNAL_API_TOKEN is
 * set: both variants are checked.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { API, call, createClient, getToken, useServer, type CallResult } from './helpers.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const PROBED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const OPERATION_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const ALL_SCOPES = ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete'];
const INTERNAL_API_TOKEN = 'internal-token-0123456789abcdefghijklmnop';
const ADMISSION = '/internal-api/v1.0/rooms/{idOrSlug}/admission';
const REDOCLY = path.resolve('node_modules/.bin/redocly');

type Json = any;

async function served(origin: string): Promise<Json> {
  const answer = await fetch(`${origin}${API}/openapi.json`);
  expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
  return answer.json();
}

/** Redocly's findings on a document, with the project's redocly.yaml. */
async function redoclyLint(document: Json): Promise<{ ruleId: string; severity: string; message: string }[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-lint-'));
  try {
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(document));
    const run = await promisify(execFile)(REDOCLY, ['lint', file, '--format=json', '--config', path.resolve('redocly.yaml')], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).catch((failure: { stdout: string }) => failure);
    return JSON.parse(run.stdout).problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** (method, url) of every route in Fastify's printRoutes tree ("├── /external-api/v1.0/rooms/ (GET, HEAD)", children indented). */
function mountedRoutes(tree: string): { method: string; url: string }[] {
  const stack: string[] = [];
  const routes: { method: string; url: string }[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \((.*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const url = `${depth > 0 ? stack[depth - 1] : ''}${match[2]}`;
    stack.push(url);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

function operationsOf(doc: Json): { path: string; method: string; operation: Json }[] {
  return Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
    OPERATION_KEYS.filter((key) => item[key]).map((key) => ({ path, method: key.toUpperCase(), operation: item[key] })),
  );
}

const VARIANTS: { name: string; env: Record<string, string> }[] = [
  { name: 'without the internal API', env: {} },
  { name: 'with INTERNAL_API_TOKEN', env: { INTERNAL_API_TOKEN } },
];

for (const variant of VARIANTS) {
  describe(`the served description, ${variant.name}`, () => {
    const server = useServer(variant.env);

    it('lints with 0 errors in Redocly; the only warnings are the upstream routes\' trailing slashes', async () => {
      const problems = await redoclyLint(await served(server.origin));
      expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
      const warnings = problems.filter((p) => p.severity === 'warn');
      expect(new Set(warnings.map((w) => w.ruleId))).toEqual(new Set(['no-path-trailing-slash']));
    });

    it('validates with swagger-parser (OpenAPI 3.1 schema and references)', async () => {
      await expect(SwaggerParser.validate(await served(server.origin))).resolves.toBeDefined();
    });

    it('names exactly the routes the server mounts (docs page aside); every other method on a path is 405 naming the documented ones', async () => {
      const doc = await served(server.origin);
      const mounted = new Set<string>();
      for (const { method, url } of mountedRoutes(server.app.printRoutes({ commonPrefix: false }))) {
        if (url.startsWith(`${API}/docs`) || method === 'HEAD') continue;
        mounted.add(`${method} ${url.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '')}`);
      }
      // Compared without trailing slashes: the router lists both forms of each path.
      const documented = new Set(operationsOf(doc).map(({ method, path }) => `${method} ${path.replace(/\/$/, '')}`));
      const served405 = [...mounted].filter((key) => !documented.has(key));
      // Every mounted route that is not documented is a 405 catch-all (hidden on purpose).
      // (fetch cannot send TRACE or CONNECT: those are probed on a raw socket elsewhere.)
      for (const key of served405.filter((k) => !/^(TRACE|CONNECT) /.test(k))) {
        const [method, url] = key.split(' ') as [string, string];
        const answer = await call(server, method, url.replace(/\{\w+\}/g, () => randomUUID()));
        expect({ key, status: answer.status }).toEqual({ key, status: 405 });
      }
      expect([...documented].filter((key) => !mounted.has(key))).toEqual([]);

      for (const path of Object.keys(doc.paths)) {
        const methods = OPERATION_KEYS.filter((key) => doc.paths[path][key]).map((key) => key.toUpperCase());
        const allow = new Set(methods.includes('GET') ? [...methods, 'HEAD'] : methods);
        const concrete = path.replace(/\{[^}]+\}/g, () => randomUUID());
        for (const url of [concrete, concrete.endsWith('/') ? concrete.slice(0, -1) : `${concrete}/`]) {
          for (const method of PROBED_METHODS.filter((m) => !methods.includes(m))) {
            const answer = await call(server, method, url);
            expect(answer.status, `${method} ${url}`).toBe(405);
            expect(answer.json).toEqual({ detail: `Method "${method}" not allowed.` });
            expect(new Set((answer.headers.get('allow') ?? '').split(', '))).toEqual(allow);
          }
        }
      }
    });
  });
}

describe('real answers are the documented ones', () => {
  const server = useServer({ APPLICATION_BASE_URL: 'https://meet.example.org', ROOM_TELEPHONY_ENABLED: 'true', INTERNAL_API_TOKEN });
  let doc: Json;
  let ajv: Ajv2020;

  /** The answer's status is declared for the operation, its declared headers are sent, its body validates. */
  function expectDocumented(method: string, path: string, answer: CallResult): void {
    const operation = doc.paths[path]?.[method.toLowerCase()];
    expect(operation, `${method} ${path} is not described`).toBeDefined();
    const status = String(answer.status);
    const response = operation.responses[status];
    expect(response, `${method} ${path} answered ${status} (${answer.text}), which it does not declare`).toBeDefined();
    // WWW-Authenticate is conditional (a Basic client's 401, a missing scope's 403); every other declared header is sent.
    for (const name of Object.keys(response.headers ?? {}).filter((h) => h !== 'WWW-Authenticate')) {
      expect(answer.headers.get(name), `${method} ${path} ${status}: ${name}`).not.toBeNull();
    }
    if (!response.content) {
      expect(answer.text).toBe('');
      return;
    }
    expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
    const pointer = ['paths', path, method.toLowerCase(), 'responses', status, 'content', 'application/json', 'schema']
      .map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/');
    const validate = ajv.getSchema(`served#/${pointer}`)!;
    expect(validate(answer.json), `${method} ${path} ${status}: ${answer.text}\n${JSON.stringify(validate.errors)}`).toBe(true);
  }

  it('token, rooms, admission and probes: every success and failure is declared, and its body matches', async () => {
    doc = await served(server.origin);
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'served');

    const TOKEN = `${API}/application/token/`;
    const email = 'ada@example.com';
    await server.services.users.createUser({ email });
    const client = await createClient(server, { scopes: ALL_SCOPES });
    const fields = { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.secret)}`).toString('base64');
    const inactive = await createClient(server, { isActive: false });
    const otherDomain = await createClient(server, { domains: ['example.org'] });
    const tokenAnswers: [CallResult, number][] = [
      [await call(server, 'POST', TOKEN, { json: fields }), 200],
      [await call(server, 'POST', TOKEN, { body: new URLSearchParams(fields).toString(), headers: form }), 200],
      [await call(server, 'POST', TOKEN, { body: `grant_type=client_credentials&scope=${email}`, headers: { ...form, authorization: `Basic ${basic}` } }), 200],
      [await call(server, 'POST', TOKEN, { json: { client_secret: 'x', grant_type: 'client_credentials', scope: '  ' } }), 400],
      [await call(server, 'POST', TOKEN, { json: { ...fields, grant_type: 'password' } }), 400],
      [await call(server, 'POST', TOKEN, { json: { ...fields, client_secret: 'wrong' } }), 401],
      [await call(server, 'POST', TOKEN, { json: { ...fields, client_id: inactive.clientId, client_secret: inactive.secret } }), 401],
      [await call(server, 'POST', TOKEN, { json: { ...fields, scope: 'not-an-email' } }), 400],
      [await call(server, 'POST', TOKEN, { json: { ...fields, client_id: otherDomain.clientId, client_secret: otherDomain.secret } }), 403],
      [await call(server, 'POST', TOKEN, { json: { ...fields, scope: 'nobody@example.com' } }), 400],
      [await call(server, 'POST', TOKEN, { json: ['not', 'an', 'object'] }), 400],
      [await call(server, 'POST', TOKEN, { body: '{"broken', headers: { 'content-type': 'application/json' } }), 400],
      [await call(server, 'POST', TOKEN, { body: 'x', headers: { 'content-type': 'text/plain' } }), 415],
      [await call(server, 'POST', TOKEN, { body: JSON.stringify({ pad: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } }), 413],
      [await call(server, 'PUT', TOKEN, { json: fields }), 405],
    ];
    for (const [answer, status] of tokenAnswers) {
      expect(answer.status, answer.text).toBe(status);
      expectDocumented('POST', '/external-api/v1.0/application/token/', answer);
    }

    const token = await getToken(server, client, email);
    const listOnly = await getToken(server, await createClient(server, { scopes: ['rooms:list'] }), email);
    const noScope = await getToken(server, await createClient(server, { scopes: [] }), email);
    await server.services.users.createUser({ email: 'stranger@example.com' });
    const strangerToken = await getToken(server, client, 'stranger@example.com');
    const created = await call(server, 'POST', `${API}/rooms/`, { token, json: { slug: 'ignored' } });
    const kept = (await call(server, 'POST', `${API}/rooms/`, { token })).json;
    const room = `${API}/rooms/${created.json.id}/`;
    const ROOMS = '/external-api/v1.0/rooms/';
    const ROOM = '/external-api/v1.0/rooms/{id}/';
    const cases: [string, string, CallResult, number][] = [
      ['POST', ROOMS, created, 201],
      ['GET', ROOMS, await call(server, 'GET', `${API}/rooms/?page_size=1`, { token }), 200],
      ['GET', ROOMS, await call(server, 'GET', `${API}/rooms/?page_size=101`, { token }), 400],
      ['GET', ROOMS, await call(server, 'GET', `${API}/rooms/?page=3&page_size=1`, { token }), 404],
      ['GET', ROOMS, await call(server, 'GET', `${API}/rooms/`), 401],
      ['GET', ROOMS, await call(server, 'GET', `${API}/rooms/`, { token: 'not-a-jwt' }), 401],
      ['GET', ROOMS, await call(server, 'GET', `${API}/rooms/`, { token: noScope }), 403],
      ['POST', ROOMS, await call(server, 'POST', `${API}/rooms/`, { token: listOnly }), 403],
      ['POST', ROOMS, await call(server, 'POST', `${API}/rooms/`, { token, json: [1] }), 400],
      ['POST', ROOMS, await call(server, 'POST', `${API}/rooms/`, { token, body: 'a=b', headers: form }), 415],
      ['GET', ROOM, await call(server, 'GET', room, { token }), 200],
      ['GET', ROOM, await call(server, 'GET', room, { token: strangerToken }), 403],
      ['GET', ROOM, await call(server, 'GET', `${API}/rooms/${randomUUID()}/`, { token }), 404],
      ['PATCH', ROOM, await call(server, 'PATCH', room, { token, json: { attendees: ['ada@example.com'] } }), 200],
      ['PATCH', ROOM, await call(server, 'PATCH', room, { token, json: { attendees: ['x', 'ada@example.com'] } }), 400],
      ['PATCH', ROOM, await call(server, 'PATCH', room, { token: strangerToken, json: { attendees: [] } }), 403],
      ['PATCH', ROOM, await call(server, 'PATCH', room, { token, body: 'x', headers: { 'content-type': 'text/plain' } }), 415],
      ['DELETE', ROOM, await call(server, 'DELETE', room, { token: strangerToken }), 403],
      ['DELETE', ROOM, await call(server, 'DELETE', room, { token }), 204],
      ['DELETE', ROOM, await call(server, 'DELETE', room, { token }), 404],
      ['GET', ROOM, await call(server, 'PUT', room, { token }), 405],
      ['GET', '/healthz', await call(server, 'GET', '/healthz'), 200],
      ['GET', '/readyz', await call(server, 'GET', '/readyz'), 200],
      ['GET', '/external-api/v1.0/openapi.json', await call(server, 'GET', `${API}/openapi.json`), 200],
      ['POST', ADMISSION, await call(server, 'POST', `/internal-api/v1.0/rooms/${kept.slug}/admission`, { token: INTERNAL_API_TOKEN, json: { authenticated: true } }), 200],
      ['POST', ADMISSION, await call(server, 'POST', `/internal-api/v1.0/rooms/${kept.slug}/admission`, { json: { authenticated: true } }), 401],
      ['POST', ADMISSION, await call(server, 'POST', `/internal-api/v1.0/rooms/${randomUUID()}/admission`, { token: INTERNAL_API_TOKEN, json: { authenticated: 1 } }), 400],
      ['POST', ADMISSION, await call(server, 'POST', `/internal-api/v1.0/rooms/${randomUUID()}/admission`, { token: INTERNAL_API_TOKEN, json: { authenticated: true } }), 404],
    ];
    for (const [method, path, answer, status] of cases) {
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBe(status);
      expectDocumented(method, path, answer);
    }
  });
});
