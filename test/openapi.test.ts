/**
 * CONTRACT §2.4: GET /external-api/v1.0/openapi.json serves the description of what the
 * server actually implements. These tests keep that description in step with the server:
 * the document is sound OpenAPI 3.0.3, every documented (path, method) is served and every
 * other method on those paths is a 405 naming exactly the documented ones, every mounted
 * route is documented, the documented statuses and bodies are the contract's, and real
 * answers match what the document says about them.
 *
 * The internal admission route (v1.1) is mounted only while INTERNAL_API_TOKEN is set: the
 * route checks run on a server configured with one, and a server without it must not
 * answer the route at all.
 *
 * No OpenAPI validator is a dependency of the project. When one happens to be installed it
 * is used; JSON-schema checks of examples and real answers use ajv (which Fastify brings)
 * when it can be loaded, and are skipped otherwise.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/http/openapi-document.js';
import { API, call, createClient, getToken, startTestServer, type CallResult, type TestServer } from './helpers.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const PROBED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const OPERATION_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const V11_SCOPES = ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete'];

/** The internal admission route (README, v1.1 additions): its own base path, its own secret. */
const INTERNAL_API = '/internal-api/v1.0';
const INTERNAL_API_TOKEN = 'internal-token-0123456789abcdefghijklmnop';
const ADMISSION = 'POST /rooms/{idOrSlug}/admission';
const ADMISSION_REASONS = [
  'public_room',
  'authentication_required',
  'attendee',
  'authenticated_in_trusted_room',
  'member_of_restricted_room',
  'not_invited',
];

/**
 * The statuses each token and rooms operation may answer, from CONTRACT §2.1 to §2.3 (and,
 * for the v1.1 operations the contract predates, from the README's v1.1 section). The
 * document must list exactly these (besides `default`, the shared 413/500/503 answer).
 */
const CONTRACT_STATUSES: Record<string, string[]> = {
  'POST /application/token/': ['200', '400', '401', '403', '415'], // §2.1
  'GET /rooms/': ['200', '400', '401', '403', '404'], // §2.2, §2.3 list
  'POST /rooms/': ['201', '400', '401', '403', '415'], // §2.2, §2.3 create
  'GET /rooms/{id}/': ['200', '401', '403', '404'], // §2.2, §2.3 retrieve
  'PATCH /rooms/{id}/': ['200', '400', '401', '403', '404', '415'], // README v1.1: attendees
  'DELETE /rooms/{id}/': ['204', '401', '403', '404'], // README v1.1: deletion
  [ADMISSION]: ['200', '400', '401', '404', '415'], // README v1.1: admission decision (served under /internal-api/v1.0)
};

/** The scope each rooms operation needs. */
const OPERATION_SCOPES: Record<string, string> = {
  'GET /rooms/': 'rooms:list',
  'POST /rooms/': 'rooms:create',
  'GET /rooms/{id}/': 'rooms:retrieve',
  'PATCH /rooms/{id}/': 'rooms:update',
  'DELETE /rooms/{id}/': 'rooms:delete',
};

/** CONTRACT §2.2: every authentication failure message. */
const AUTH_MESSAGES = [
  'Authentication credentials were not provided.',
  'Invalid token header.',
  'Invalid token.',
  'Token expired.',
  'Invalid token claims.',
  'Application not found.',
  'Application is disabled.',
  'Invalid token type.',
  'User not found.',
  'User account is disabled.',
];

// ---------------------------------------------------------------------------------------
// Reading the document

type Json = any;

function resolvePointer(doc: Json, ref: string): Json {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** The object itself, or what its $ref points at (followed until a non-reference). */
function deref(doc: Json, node: Json): Json {
  let current = node;
  for (let hops = 0; current && typeof current.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`reference loop at ${node.$ref}`);
    current = resolvePointer(doc, current.$ref);
  }
  return current;
}

/** Every (path, method, operation) of the document. */
function operationsOf(doc: Json): { path: string; method: string; operation: Json; pathItem: Json }[] {
  const out: { path: string; method: string; operation: Json; pathItem: Json }[] = [];
  for (const [path, pathItem] of Object.entries<Json>(doc.paths ?? {})) {
    for (const key of OPERATION_KEYS) {
      if (pathItem[key]) out.push({ path, method: key.toUpperCase(), operation: pathItem[key], pathItem });
    }
  }
  return out;
}

/** The URL path a documented path is served at: the effective server's URL, then the path. */
function servedPath(doc: Json, path: string): string {
  const pathItem = doc.paths[path];
  const server: string = pathItem.servers?.[0]?.url ?? doc.servers?.[0]?.url ?? '/';
  return `${server.replace(/\/+$/, '')}${path}`;
}

/** Calls `visit` on every object in the document, with its JSON pointer. */
function walk(node: Json, visit: (node: Json, pointer: string) => void, pointer = '#'): void {
  if (node === null || typeof node !== 'object') return;
  visit(node, pointer);
  for (const [key, value] of Object.entries(node)) {
    walk(value, visit, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
}

/** Every example value of a media type object (inline or by reference). */
function exampleValues(doc: Json, media: Json): Json[] {
  const values: Json[] = [];
  if (media?.example !== undefined) values.push(media.example);
  for (const example of Object.values<Json>(media?.examples ?? {})) values.push(deref(doc, example).value);
  return values;
}

function responseExamples(doc: Json, operation: Json, status: string): Json[] {
  const response = deref(doc, operation.responses?.[status]);
  return exampleValues(doc, response?.content?.['application/json']);
}

// ---------------------------------------------------------------------------------------
// A structural check of OpenAPI 3.0.3, written from the specification, for want of an
// installed validator.

const ROOT_FIELDS = ['openapi', 'info', 'servers', 'paths', 'components', 'security', 'tags', 'externalDocs'];
const PATH_ITEM_FIELDS = ['$ref', 'summary', 'description', 'servers', 'parameters', ...OPERATION_KEYS];
const OPERATION_FIELDS = ['tags', 'summary', 'description', 'externalDocs', 'operationId', 'parameters', 'requestBody', 'responses', 'callbacks', 'deprecated', 'security', 'servers'];
const RESPONSE_FIELDS = ['description', 'headers', 'content', 'links'];
const SCHEMA_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'];
const COMPONENT_KINDS = ['schemas', 'responses', 'parameters', 'examples', 'requestBodies', 'headers', 'securitySchemes', 'links', 'callbacks'];

function unknownFields(node: Json, allowed: string[], where: string, problems: string[]): void {
  for (const key of Object.keys(node ?? {})) {
    if (!allowed.includes(key) && !key.startsWith('x-')) problems.push(`${where}: unknown field "${key}"`);
  }
}

function checkSchema(doc: Json, schema: Json, where: string, problems: string[]): void {
  if (schema === null || typeof schema !== 'object') {
    problems.push(`${where}: a schema must be an object`);
    return;
  }
  if (schema.$ref !== undefined) {
    if (deref(doc, schema) === undefined) problems.push(`${where}: unresolved $ref ${schema.$ref}`);
    return;
  }
  if (schema.type !== undefined && !SCHEMA_TYPES.includes(schema.type)) problems.push(`${where}: type ${JSON.stringify(schema.type)} is not an OpenAPI 3.0 type`);
  if (schema.nullable !== undefined && schema.type === undefined) problems.push(`${where}: nullable without type`);
  if (schema.type === 'array' && schema.items === undefined) problems.push(`${where}: array without items`);
  if (schema.required !== undefined && (!Array.isArray(schema.required) || schema.required.length === 0)) problems.push(`${where}: required must be a non-empty list`);
  for (const name of schema.required ?? []) {
    if (schema.properties && !(name in schema.properties) && schema.additionalProperties === undefined && !schema.not) {
      problems.push(`${where}: required "${name}" is not a property`);
    }
  }
  for (const [name, property] of Object.entries<Json>(schema.properties ?? {})) checkSchema(doc, property, `${where}.properties.${name}`, problems);
  if (schema.items !== undefined) checkSchema(doc, schema.items, `${where}.items`, problems);
  if (schema.additionalProperties !== undefined && typeof schema.additionalProperties === 'object') {
    checkSchema(doc, schema.additionalProperties, `${where}.additionalProperties`, problems);
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (schema[combinator] === undefined) continue;
    if (!Array.isArray(schema[combinator]) || schema[combinator].length === 0) problems.push(`${where}.${combinator}: must be a non-empty list`);
    else schema[combinator].forEach((sub: Json, i: number) => checkSchema(doc, sub, `${where}.${combinator}[${i}]`, problems));
  }
  if (schema.not !== undefined) checkSchema(doc, schema.not, `${where}.not`, problems);
}

function checkContent(doc: Json, content: Json, where: string, problems: string[]): void {
  for (const [type, media] of Object.entries<Json>(content ?? {})) {
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(type)) problems.push(`${where}: "${type}" is not a media type`);
    if (media.example !== undefined && media.examples !== undefined) problems.push(`${where}.${type}: example and examples are exclusive`);
    if (media.schema === undefined) problems.push(`${where}.${type}: no schema`);
    else checkSchema(doc, media.schema, `${where}.${type}.schema`, problems);
  }
}

function checkParameters(doc: Json, parameters: Json, where: string, problems: string[]): void {
  if (parameters === undefined) return;
  if (!Array.isArray(parameters)) {
    problems.push(`${where}: parameters must be a list`);
    return;
  }
  const seen = new Set<string>();
  for (const raw of parameters) {
    const p = deref(doc, raw);
    if (!p) {
      problems.push(`${where}: unresolved parameter`);
      continue;
    }
    if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in)) problems.push(`${where}: parameter needs name and in`);
    if (p.in === 'path' && p.required !== true) problems.push(`${where}: path parameter "${p.name}" must be required`);
    if ((p.schema === undefined) === (p.content === undefined)) problems.push(`${where}: parameter "${p.name}" needs exactly one of schema and content`);
    if (p.schema !== undefined) checkSchema(doc, p.schema, `${where}.${p.name}.schema`, problems);
    if (p.example !== undefined && p.examples !== undefined) problems.push(`${where}: parameter "${p.name}": example and examples are exclusive`);
    const key = `${p.in}:${p.name}`;
    if (seen.has(key)) problems.push(`${where}: duplicate parameter ${key}`);
    seen.add(key);
  }
}

function structuralProblems(doc: Json): string[] {
  const problems: string[] = [];
  unknownFields(doc, ROOT_FIELDS, 'root', problems);
  if (doc.openapi !== '3.0.3') problems.push('openapi must be "3.0.3"');
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info needs title and version');
  for (const server of doc.servers ?? []) if (typeof server.url !== 'string') problems.push('a server needs a url');
  if (doc.paths === null || typeof doc.paths !== 'object') problems.push('paths must be an object');

  // Every reference is local and resolves.
  walk(doc, (node, pointer) => {
    if (typeof node.$ref !== 'string') return;
    if (!node.$ref.startsWith('#/components/')) problems.push(`${pointer}: $ref ${node.$ref} is not a local component`);
    else if (resolvePointer(doc, node.$ref) === undefined) problems.push(`${pointer}: unresolved $ref ${node.$ref}`);
  });

  const components = doc.components ?? {};
  for (const kind of Object.keys(components)) if (!COMPONENT_KINDS.includes(kind)) problems.push(`components: unknown kind "${kind}"`);
  for (const [name, schema] of Object.entries<Json>(components.schemas ?? {})) checkSchema(doc, schema, `components.schemas.${name}`, problems);
  for (const [name, scheme] of Object.entries<Json>(components.securitySchemes ?? {})) {
    if (!['apiKey', 'http', 'oauth2', 'openIdConnect'].includes(scheme.type)) problems.push(`securitySchemes.${name}: bad type`);
    if (scheme.type === 'http' && typeof scheme.scheme !== 'string') problems.push(`securitySchemes.${name}: http needs scheme`);
  }
  const declaredTags = new Set((doc.tags ?? []).map((t: Json) => t.name));
  const operationIds = new Set<string>();

  for (const [path, pathItem] of Object.entries<Json>(doc.paths ?? {})) {
    if (!path.startsWith('/')) problems.push(`paths: "${path}" must start with /`);
    unknownFields(pathItem, PATH_ITEM_FIELDS, path, problems);
    checkParameters(doc, pathItem.parameters, path, problems);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const key of OPERATION_KEYS) {
      const operation = pathItem[key];
      if (!operation) continue;
      const where = `${key.toUpperCase()} ${path}`;
      unknownFields(operation, OPERATION_FIELDS, where, problems);
      checkParameters(doc, operation.parameters, where, problems);
      const pathParams = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((p: Json) => deref(doc, p)).filter((p: Json) => p?.in === 'path');
      for (const name of templated) if (!pathParams.some((p: Json) => p.name === name)) problems.push(`${where}: {${name}} is not declared`);
      for (const p of pathParams) if (!templated.includes(p.name)) problems.push(`${where}: path parameter "${p.name}" is not in the path`);
      if (typeof operation.operationId === 'string') {
        if (operationIds.has(operation.operationId)) problems.push(`${where}: duplicate operationId ${operation.operationId}`);
        operationIds.add(operation.operationId);
      }
      for (const tag of operation.tags ?? []) if (!declaredTags.has(tag)) problems.push(`${where}: tag "${tag}" is not declared`);
      for (const requirement of operation.security ?? doc.security ?? []) {
        for (const scheme of Object.keys(requirement)) {
          if (!components.securitySchemes?.[scheme]) problems.push(`${where}: unknown security scheme ${scheme}`);
          if (!Array.isArray(requirement[scheme])) problems.push(`${where}: security ${scheme} must list scopes`);
        }
      }
      if (operation.requestBody !== undefined) {
        const body = deref(doc, operation.requestBody);
        if (!body?.content || Object.keys(body.content).length === 0) problems.push(`${where}: requestBody without content`);
        checkContent(doc, body?.content, `${where} requestBody`, problems);
      }
      const responses = operation.responses;
      if (!responses || Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
      for (const [status, raw] of Object.entries<Json>(responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) problems.push(`${where}: "${status}" is not a status`);
        const response = deref(doc, raw);
        if (!response) continue;
        unknownFields(response, RESPONSE_FIELDS, `${where} ${status}`, problems);
        if (typeof response.description !== 'string') problems.push(`${where} ${status}: no description`);
        for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
          const h = deref(doc, header);
          if ((h?.schema === undefined) === (h?.content === undefined)) problems.push(`${where} ${status}: header ${name} needs schema or content`);
          if (name.toLowerCase() === 'content-type') problems.push(`${where} ${status}: Content-Type is not a documentable header`);
        }
        checkContent(doc, response.content, `${where} ${status}`, problems);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// JSON-schema validation of examples and real answers (ajv, when it can be loaded)

type Validate = (schema: Json, value: Json) => string | undefined;

async function loadValidator(doc: Json): Promise<Validate | undefined> {
  // Module names through variables: nothing here is a declared dependency.
  const ajvName = 'ajv';
  const formatsName = 'ajv-formats';
  let Ajv: Json;
  try {
    const mod: Json = await import(ajvName);
    Ajv = mod.default?.default ?? mod.default ?? mod;
  } catch {
    return undefined;
  }
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateSchema: false });
  try {
    const formats: Json = await import(formatsName);
    (formats.default?.default ?? formats.default)(ajv);
  } catch {
    // Unknown formats are ignored without ajv-formats.
  }
  ajv.addFormat('password', true);
  ajv.addSchema(doc, 'openapi.json');
  const cache = new Map<Json, Json>();
  const rebase = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(rebase);
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) out[key] = key === '$ref' && typeof value === 'string' ? `openapi.json${value}` : rebase(value);
    return out;
  };
  return (schema, value) => {
    let validate = cache.get(schema);
    if (!validate) {
      validate = ajv.compile(rebase(schema));
      cache.set(schema, validate);
    }
    return validate(value) ? undefined : ajv.errorsText(validate.errors);
  };
}

/** Names of OpenAPI validators to use when one is installed (none is a dependency). */
async function loadOpenApiValidator(): Promise<((doc: Json) => Promise<string | undefined>) | undefined> {
  const candidates: [string, (mod: Json) => (doc: Json) => Promise<string | undefined>][] = [
    [
      '@apidevtools/swagger-parser',
      (mod) => async (doc) => {
        try {
          await (mod.default ?? mod).validate(structuredClone(doc));
          return undefined;
        } catch (error) {
          return String(error);
        }
      },
    ],
    [
      '@readme/openapi-parser',
      (mod) => async (doc) => {
        try {
          await (mod.default ?? mod).validate(structuredClone(doc));
          return undefined;
        } catch (error) {
          return String(error);
        }
      },
    ],
  ];
  for (const [name, adapt] of candidates) {
    try {
      return adapt(await import(name));
    } catch {
      // not installed
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------

describe('the served description', () => {
  let server: TestServer;
  let served: CallResult;
  let doc: Json;
  beforeAll(async () => {
    server = await startTestServer();
    served = await call(server, 'GET', `${API}/openapi.json`);
    doc = served.json;
  });
  afterAll(async () => server.close());

  it('is served over HTTP as JSON, and is the exported document', () => {
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe(JSON_TYPE);
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it('is OpenAPI 3.0.3, version 1.1.0, relative to the server it is served from', () => {
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.title).toBe('Meet External API');
    expect(doc.info.version).toBe('1.1.0');
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/external-api/v1.0' })]);
    // Server URLs are relative: no sandbox or other absolute host is promised.
    walk(doc, (node, pointer) => {
      if (pointer.endsWith('/servers') || /\/servers\/\d+$/.test(pointer)) {
        if (typeof node.url === 'string') expect(node.url, pointer).toMatch(/^\//);
      }
    });
    expect(served.text).not.toMatch(/sandbox|numerique\.gouv\.fr/i);
  });

  it('keeps the published authentication flow and scope descriptions', () => {
    const text: string = doc.info.description;
    expect(text).toContain('#### Authentication Flow');
    expect(text).toContain('Exchange application credentials for a JWT token via `/external-api/v1.0/application/token/`.');
    expect(text).toContain('Use the JWT token in the `Authorization: Bearer <token>` header for all subsequent requests.');
    for (const scope of V11_SCOPES) expect(text).toContain(`\`${scope}\``);
  });

  it('says v1.1 is additive over v1.0.0, and lists the additions', () => {
    const text: string = doc.info.description;
    expect(text).toContain('additive: nothing a v1.0 client relies on changes');
    expect(text).toMatch(/1\.1\.0 of this API is additive over v1\.0\.0/);
    for (const addition of ['**Attendees:**', '**Deletion:**', '**Lookup by slug:**', '**Admission decision (internal):**']) {
      expect(text).toContain(addition);
    }
    expect(text).toContain('`PATCH /rooms/{id}/`');
    expect(text).toContain('`DELETE /rooms/{id}/`');
    expect(text).toContain('`GET /rooms/?slug=`');
    expect(text).toContain(`\`POST ${INTERNAL_API}/rooms/{idOrSlug}/admission\``);
    expect(text).toContain('`INTERNAL_API_TOKEN`');
  });

  it('is structurally valid OpenAPI 3.0.3 (hand-written checks from the specification)', () => {
    expect(structuralProblems(doc)).toEqual([]);
  });

  it('validates with an installed OpenAPI validator, when there is one', async (context) => {
    const validate = await loadOpenApiValidator();
    if (!validate) return context.skip('no OpenAPI validator is installed (none is a dependency)');
    expect(await validate(doc)).toBeUndefined();
  });

  it('every example matches its schema', async (context) => {
    const validate = await loadValidator(doc);
    if (!validate) return context.skip('ajv cannot be loaded');
    const failures: string[] = [];
    for (const { path, method, operation } of operationsOf(doc)) {
      const bodies: [string, Json][] = [];
      const requestBody = deref(doc, operation.requestBody);
      for (const [type, media] of Object.entries<Json>(requestBody?.content ?? {})) bodies.push([`${method} ${path} request ${type}`, media]);
      for (const [status, raw] of Object.entries<Json>(operation.responses)) {
        for (const [type, media] of Object.entries<Json>(deref(doc, raw).content ?? {})) bodies.push([`${method} ${path} ${status} ${type}`, media]);
      }
      for (const [where, media] of bodies) {
        for (const value of exampleValues(doc, media)) {
          const error = validate(media.schema, value);
          if (error) failures.push(`${where}: ${JSON.stringify(value)}: ${error}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('in step with the routes the server mounts', () => {
  let server: TestServer;
  const doc: Json = JSON.parse(JSON.stringify(openApiDocument));
  beforeAll(async () => {
    // With INTERNAL_API_TOKEN set, so that the internal admission route is mounted too.
    server = await startTestServer({ INTERNAL_API_TOKEN });
  });
  afterAll(async () => server.close());

  for (const path of Object.keys(doc.paths)) {
    const pathItem = doc.paths[path];
    const documented = OPERATION_KEYS.filter((k) => pathItem[k]).map((k) => k.toUpperCase());
    const concrete = servedPath(doc, path).replace(/\{[^}]+\}/g, () => randomUUID());
    const forms = [concrete, concrete.endsWith('/') ? concrete.slice(0, -1) : `${concrete}/`];

    it(`${path}: documented methods are served, the others answer 405 naming exactly the documented ones`, async () => {
      const allow = new Set(documented);
      if (allow.has('GET')) allow.add('HEAD');
      for (const url of forms) {
        for (const method of PROBED_METHODS) {
          const answer = await call(server, method, url);
          expect(answer.headers.get('content-type'), `${method} ${url}`).toBe(JSON_TYPE);
          if (documented.includes(method)) {
            expect([404, 405], `${method} ${url} is documented but answered ${answer.status}`).not.toContain(answer.status);
          } else {
            expect(answer.status, `${method} ${url} is not documented but answered ${answer.status}`).toBe(405);
            expect(answer.json).toEqual({ detail: `Method "${method}" not allowed.` });
            const allowed = (answer.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter(Boolean);
            expect(new Set(allowed), `Allow of ${url}`).toEqual(allow);
          }
        }
      }
    });
  }

  it('every route mounted in Fastify is documented', () => {
    // printRoutes draws the route tree: "├── /external-api/v1.0/rooms (GET, ...)" then "    └── /:id (...)".
    const tree = server.app.printRoutes({ commonPrefix: false });
    const stack: string[] = [];
    const mounted: string[] = [];
    for (const line of tree.split('\n')) {
      const match = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \((.*)\))?$/.exec(line);
      if (!match) continue;
      const depth = (match[1] as string).length / 4;
      stack.length = depth;
      const full = `${depth > 0 ? stack[depth - 1] : ''}${match[2]}`;
      stack.push(full);
      if (match[3] !== undefined) mounted.push(full);
    }
    expect(mounted.length).toBeGreaterThan(0);
    const normalize = (p: string) => p.replace(/\/:(\w+)/g, '/{$1}').replace(/\/+$/, '');
    const documentedPaths = Object.keys(doc.paths).map((p) => normalize(servedPath(doc, p)));
    const undocumented = mounted.map(normalize).filter((p) => !documentedPaths.includes(p));
    expect(undocumented).toEqual([]);
    // And every documented path is mounted.
    const missing = documentedPaths.filter((p) => !mounted.map(normalize).includes(p));
    expect(missing).toEqual([]);
  });

  it('the admission route is the one documented path served outside the API base path and the root', () => {
    expect(servedPath(doc, '/rooms/{idOrSlug}/admission')).toBe(`${INTERNAL_API}/rooms/{idOrSlug}/admission`);
    const mounted = server.app.printRoutes({ commonPrefix: false });
    expect(mounted).toContain('/internal-api/v1.0/rooms/:idOrSlug/admission');
  });

  it('a path the document does not name is not mounted: 404 for every method', async () => {
    const unnamed = [
      `${API}/nothing-here/`,
      `${API}/rooms/${randomUUID()}/extra/`,
      '/rooms/',
      `${API}/rooms/${randomUUID()}/admission`,
      `${INTERNAL_API}/rooms/`,
      `${INTERNAL_API}/rooms/${randomUUID()}/`,
      `${INTERNAL_API}/rooms/${randomUUID()}/admission/extra`,
    ];
    for (const url of unnamed) {
      for (const method of PROBED_METHODS) {
        const answer = await call(server, method, url);
        expect(answer.status, `${method} ${url}`).toBe(404);
        expect(answer.json).toEqual({ detail: 'Not found.' });
      }
    }
  });

  it('without INTERNAL_API_TOKEN the admission route is not mounted: 404 {"detail": "Not found."} for every method', async () => {
    const plain = await startTestServer();
    try {
      expect(plain.config.internalApiToken).toBeUndefined();
      const concrete = servedPath(doc, '/rooms/{idOrSlug}/admission').replace('{idOrSlug}', randomUUID());
      for (const url of [concrete, `${concrete}/`]) {
        for (const method of PROBED_METHODS) {
          const answer = await call(plain, method, url, {
            token: INTERNAL_API_TOKEN,
            ...(method === 'POST' ? { json: { email: null, authenticated: true } } : {}),
          });
          expect(answer.status, `${method} ${url}`).toBe(404);
          expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
          expect(answer.json).toEqual({ detail: 'Not found.' });
        }
      }
      const mounted = plain.app.printRoutes({ commonPrefix: false });
      expect(mounted).not.toContain('internal-api');
    } finally {
      await plain.close();
    }
  });
});

describe('documented statuses and bodies are the contract\'s', () => {
  const doc: Json = JSON.parse(JSON.stringify(openApiDocument));
  const op = (key: string): Json => {
    const [method, path] = key.split(' ') as [string, string];
    return doc.paths[path]?.[method.toLowerCase()];
  };

  it('the token and rooms operations are exactly those the contract (and v1.1) define', () => {
    const documented = operationsOf(doc)
      .filter(({ path }) => path.startsWith('/application/') || path.startsWith('/rooms'))
      .map(({ method, path }) => `${method} ${path}`)
      .sort();
    expect(documented).toEqual(Object.keys(CONTRACT_STATUSES).sort());
  });

  for (const [key, statuses] of Object.entries(CONTRACT_STATUSES)) {
    it(`${key} documents exactly the statuses ${statuses.join(', ')} (plus the shared default)`, () => {
      const documented = Object.keys(op(key).responses).filter((s) => s !== 'default').sort();
      expect(documented).toEqual([...statuses].sort());
    });
  }

  it('token endpoint: JSON and form bodies, HTTP Basic as an alternative, no-store on 200', () => {
    const token = op('POST /application/token/');
    expect(Object.keys(token.requestBody.content).sort()).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(token.security).toEqual(expect.arrayContaining([{}, { ClientBasic: [] }]));
    expect(doc.components.securitySchemes.ClientBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    const ok = deref(doc, token.responses['200']);
    expect(deref(doc, ok.headers['Cache-Control']).schema.enum).toEqual(['no-store']);
    expect(deref(doc, ok.headers.Pragma).schema.enum).toEqual(['no-cache']);
  });

  it('token endpoint: every §2.1 failure body is documented exactly', () => {
    const token = op('POST /application/token/');
    const e400 = responseExamples(doc, token, '400');
    expect(e400).toContainEqual({ client_id: ['This field is required.'], scope: ['This field may not be blank.'] });
    expect(e400).toContainEqual({ grant_type: ['"password" is not a valid choice.'] });
    expect(e400).toContainEqual({ error: 'Scope should be a valid email address.' });
    expect(e400).toContainEqual({ error: 'User not found.' });
    const e401 = responseExamples(doc, token, '401');
    expect(e401).toContainEqual({ error: 'Invalid credentials' });
    expect(e401).toContainEqual({ error: 'Application is inactive' });
    expect(responseExamples(doc, token, '403')).toContainEqual({ error: 'This application is not authorized for this email domain.' });
    expect(responseExamples(doc, token, '415').length).toBeGreaterThan(0);
  });

  for (const [key, scope] of Object.entries(OPERATION_SCOPES)) {
    it(`${key}: BearerAuth with ${scope}; 401 lists every §2.2 message as {"detail"} with WWW-Authenticate; 403 names the scope`, () => {
      const operation = op(key);
      expect(operation.security).toEqual([{ BearerAuth: [scope] }]);
      const unauthorized = deref(doc, operation.responses['401']);
      expect(deref(doc, unauthorized.headers['WWW-Authenticate']).required).toBe(true);
      const e401 = responseExamples(doc, operation, '401');
      for (const message of AUTH_MESSAGES) expect(e401).toContainEqual({ detail: message });
      for (const body of e401) expect(Object.keys(body)).toEqual(['detail']);
      const e403 = responseExamples(doc, operation, '403');
      expect(e403).toContainEqual({ detail: `Insufficient permissions. Required scope: ${scope}` });
      expect(e403).toContainEqual({ detail: 'Insufficient permissions.' });
      // No rooms answer uses the token endpoint's {"error"} shape, nor quotes the scope.
      for (const status of Object.keys(operation.responses)) {
        for (const body of responseExamples(doc, operation, status)) {
          expect(JSON.stringify(body)).not.toMatch(/"error"|'rooms:/);
        }
      }
    });
  }

  it('list: page and page_size with their bounds; 400 names the parameter; 404 "Invalid page."', () => {
    const list = op('GET /rooms/');
    const param = (name: string) => list.parameters.map((p: Json) => deref(doc, p)).find((p: Json) => p.name === name);
    expect(param('page')).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } });
    expect(param('page_size')).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } });
    expect(responseExamples(doc, list, '400')).toContainEqual({ page_size: ['Ensure this value is less than or equal to 100.'] });
    expect(responseExamples(doc, list, '404')).toEqual([{ detail: 'Invalid page.' }]);
    const pageSchema = deref(doc, deref(doc, list.responses['200']).content['application/json'].schema);
    expect(pageSchema.required).toEqual(['count', 'next', 'previous', 'results']);
    expect(pageSchema.properties.next.nullable).toBe(true);
    expect(pageSchema.properties.previous.nullable).toBe(true);
  });

  it('retrieve: 403 no role, 404 not found', () => {
    const retrieve = op('GET /rooms/{id}/');
    expect(responseExamples(doc, retrieve, '403')).toContainEqual({ detail: 'You do not have permission to perform this action.' });
    expect(responseExamples(doc, retrieve, '404')).toContainEqual({ detail: 'Not found.' });
  });

  it('create: optional JSON object body, 201 with Location, 400 for a non-object, 415', () => {
    const create = op('POST /rooms/');
    expect(create.requestBody.required).toBe(false);
    expect(Object.keys(create.requestBody.content)).toEqual(['application/json']);
    expect(deref(doc, create.requestBody.content['application/json'].schema).type).toBe('object');
    expect(deref(doc, deref(doc, create.responses['201']).headers.Location).required).toBe(true);
    expect(responseExamples(doc, create, '400')).toContainEqual({ detail: 'Invalid data. Expected a JSON object, but got array.' });
  });

  it('admission: served under /internal-api/v1.0, only while INTERNAL_API_TOKEN is set', () => {
    const pathItem = doc.paths['/rooms/{idOrSlug}/admission'];
    expect(pathItem.servers).toEqual([expect.objectContaining({ url: INTERNAL_API })]);
    expect(pathItem.description).toMatch(/only while the server is configured\s+with `INTERNAL_API_TOKEN`/);
    expect(pathItem.description).toContain('`404` `{"detail": "Not found."}`');
    const admission = op(ADMISSION);
    expect(admission.description).toContain('This route exists only while the server is configured with `INTERNAL_API_TOKEN`');
    expect(doc.tags.map((t: Json) => t.name)).toContain('Internal');
    expect(admission.tags).toEqual(['Internal']);
  });

  it('admission: its own bearer scheme, the shared INTERNAL_API_TOKEN', () => {
    const admission = op(ADMISSION);
    expect(admission.security).toEqual([{ InternalApiToken: [] }]);
    const scheme = doc.components.securitySchemes.InternalApiToken;
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(scheme.description).toContain('INTERNAL_API_TOKEN');
    // The external API's operations do not accept it, and it accepts nothing else.
    for (const { path, method, operation } of operationsOf(doc)) {
      if (`${method} ${path}` === ADMISSION) continue;
      expect(JSON.stringify(operation.security ?? [])).not.toContain('InternalApiToken');
    }
  });

  it('admission: request body {email: email|null, authenticated: boolean (required)}', () => {
    const admission = op(ADMISSION);
    expect(admission.requestBody.required).toBe(true);
    expect(Object.keys(admission.requestBody.content)).toEqual(['application/json']);
    const schema = deref(doc, admission.requestBody.content['application/json'].schema);
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['authenticated']);
    expect(schema.properties.email).toMatchObject({ type: 'string', format: 'email', nullable: true });
    expect(schema.properties.authenticated).toMatchObject({ type: 'boolean' });
  });

  it('admission: 200 {decision, reason} with every reason, each rule in the description; 400, 401, 404 bodies', () => {
    const admission = op(ADMISSION);
    const ok = deref(doc, deref(doc, admission.responses['200']).content['application/json'].schema);
    expect(ok.required).toEqual(['decision', 'reason']);
    expect(ok.properties.decision.enum).toEqual(['join', 'lobby']);
    expect(ok.properties.reason.enum).toEqual(ADMISSION_REASONS);
    const e200 = responseExamples(doc, admission, '200');
    for (const reason of ADMISSION_REASONS) {
      expect(e200.filter((body: Json) => body.reason === reason)).toHaveLength(1);
      expect(admission.description).toContain(`\`${reason}\``);
    }
    expect(e200).toContainEqual({ decision: 'join', reason: 'public_room' });
    expect(e200).toContainEqual({ decision: 'lobby', reason: 'authentication_required' });
    expect(e200).toContainEqual({ decision: 'lobby', reason: 'not_invited' });
    // The README's rules, in their order.
    const rules = ['a public room admits everyone', 'an unauthenticated caller waits', 'joins any room', 'a trusted room admits any authenticated caller', 'a restricted room admits an authenticated caller whose user holds a role on it', 'everyone else waits in the lobby'];
    const positions = rules.map((rule) => admission.description.indexOf(rule));
    expect(positions.every((p: number) => p >= 0), positions.join()).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    expect(responseExamples(doc, admission, '400')).toContainEqual({ email: ['Enter a valid email address.'], authenticated: ['Must be a valid boolean.'] });
    expect(responseExamples(doc, admission, '400')).toContainEqual({ authenticated: ['This field is required.'] });
    expect(responseExamples(doc, admission, '401')).toEqual([{ detail: 'Invalid or missing internal API token.' }]);
    expect(deref(doc, admission.responses['401']).headers['WWW-Authenticate'].required).toBe(true);
    expect(responseExamples(doc, admission, '404')).toEqual([{ detail: 'Not found.' }]);
    for (const status of Object.keys(admission.responses)) {
      for (const body of responseExamples(doc, admission, status)) expect(JSON.stringify(body)).not.toMatch(/"error"/);
    }
  });

  it('405 with an Allow header is described', () => {
    const methodNotAllowed = doc.components.responses.MethodNotAllowed;
    expect(methodNotAllowed.headers.Allow.required).toBe(true);
    expect(responseExamples(doc, { responses: { '405': methodNotAllowed } }, '405')).toEqual([{ detail: 'Method "PUT" not allowed.' }]);
  });

  it('a room: url and telephony only when configured; phone_number nullable', () => {
    const room = doc.components.schemas.Room;
    expect(room.required).not.toContain('url');
    expect(room.required).not.toContain('telephony');
    expect(room.properties.url.description).toMatch(/APPLICATION_BASE_URL/);
    const telephony = deref(doc, room.properties.telephony);
    expect(telephony.description).toMatch(/ROOM_TELEPHONY_ENABLED/);
    expect(telephony.properties.phone_number.nullable).toBe(true);
  });

  it('the operations endpoints are documented at the root', () => {
    for (const path of ['/healthz', '/readyz']) {
      expect(servedPath(doc, path)).toBe(path);
      expect(doc.paths[path].get.responses['200']).toBeDefined();
    }
    expect(doc.paths['/readyz'].get.responses['503']).toBeDefined();
  });
});

describe('real answers are the documented ones', () => {
  let server: TestServer;
  let validate: Validate | undefined;
  const doc: Json = JSON.parse(JSON.stringify(openApiDocument));

  beforeAll(async () => {
    server = await startTestServer({ APPLICATION_BASE_URL: 'https://meet.example.org', ROOM_TELEPHONY_ENABLED: 'true', INTERNAL_API_TOKEN });
    validate = await loadValidator(doc);
  });
  afterAll(async () => server.close());

  /**
   * The answer's status is documented for the operation (or, for 413/5xx, the default);
   * required headers are present with allowed values; the body matches the schema and,
   * with `exact`, equals one of the documented examples.
   */
  function expectDocumented(key: string, answer: CallResult, options: { exact?: boolean } = {}): void {
    const [method, path] = key.split(' ') as [string, string];
    const operation = doc.paths[path][method.toLowerCase()];
    const status = String(answer.status);
    const raw = operation.responses[status] ?? (answer.status === 413 || answer.status >= 500 ? operation.responses.default : undefined);
    expect(raw, `${key} answered ${status} (${answer.text}), which it does not document`).toBeDefined();
    const response = deref(doc, raw);
    for (const [name, rawHeader] of Object.entries<Json>(response.headers ?? {})) {
      const header = deref(doc, rawHeader);
      const value = answer.headers.get(name);
      if (header.required) expect(value, `${key} ${status}: header ${name}`).not.toBeNull();
      if (value !== null && header.schema?.enum) expect(header.schema.enum).toContain(value);
      if (value !== null && header.schema?.pattern) expect(value).toMatch(new RegExp(header.schema.pattern));
    }
    if (!response.content) {
      expect(answer.text).toBe('');
      return;
    }
    expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
    const media = response.content['application/json'];
    if (validate) expect(validate(media.schema, answer.json), `${key} ${status}: ${answer.text}`).toBeUndefined();
    if (options.exact) expect(exampleValues(doc, media), `${key} ${status}: ${answer.text} is not a documented body`).toContainEqual(answer.json);
  }

  it('token endpoint: JSON, form and HTTP Basic successes, and each failure', async () => {
    const TOKEN = 'POST /application/token/';
    const url = `${API}/application/token/`;
    const email = 'ada@example.com';
    await server.services.users.createUser({ email });
    const client = await createClient(server, { scopes: V11_SCOPES });
    const fields = { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    const json = await call(server, 'POST', url, { json: fields });
    expect(json.status).toBe(200);
    expectDocumented(TOKEN, json);
    const viaForm = await call(server, 'POST', url, { body: new URLSearchParams(fields).toString(), headers: form });
    expect(viaForm.status).toBe(200);
    expectDocumented(TOKEN, viaForm);
    const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.secret)}`).toString('base64');
    const viaBasic = await call(server, 'POST', url, {
      body: `grant_type=client_credentials&scope=${encodeURIComponent(email)}`,
      headers: { ...form, authorization: `Basic ${basic}` },
    });
    expect(viaBasic.status).toBe(200);
    expectDocumented(TOKEN, viaBasic);

    const inactive = await createClient(server, { isActive: false });
    const otherDomain = await createClient(server, { domains: ['example.org'] });
    const failures: [CallResult, number][] = [
      [await call(server, 'POST', url, { json: { client_secret: 'x', grant_type: 'client_credentials', scope: '  ' } }), 400],
      [await call(server, 'POST', url, { json: { ...fields, grant_type: 'password' } }), 400],
      [await call(server, 'POST', url, { json: { ...fields, client_secret: 'wrong' } }), 401],
      [await call(server, 'POST', url, { json: { ...fields, client_id: inactive.clientId, client_secret: inactive.secret } }), 401],
      [await call(server, 'POST', url, { json: { ...fields, scope: 'not-an-email' } }), 400],
      [await call(server, 'POST', url, { json: { ...fields, client_id: otherDomain.clientId, client_secret: otherDomain.secret } }), 403],
      [await call(server, 'POST', url, { json: { ...fields, scope: 'nobody@example.com' } }), 400],
      [await call(server, 'POST', url, { json: ['not', 'an', 'object'] }), 400],
      [await call(server, 'POST', url, { body: '{"broken', headers: { 'content-type': 'application/json' } }), 400],
      [await call(server, 'POST', url, { body: 'x', headers: { 'content-type': 'text/plain' } }), 415],
    ];
    for (const [answer, status] of failures) {
      expect(answer.status, answer.text).toBe(status);
      expectDocumented(TOKEN, answer, { exact: true });
    }
  });

  it('rooms: every operation, its successes and its documented failures', async () => {
    const email = 'grace@example.com';
    await server.services.users.createUser({ email });
    const client = await createClient(server, { scopes: V11_SCOPES });
    const token = await getToken(server, client, email);
    const listOnly = await getToken(server, await createClient(server, { scopes: ['rooms:list'] }), email);
    const noScope = await getToken(server, await createClient(server, { scopes: [] }), email);
    const stranger = 'stranger@example.com';
    await server.services.users.createUser({ email: stranger });
    const strangerToken = await getToken(server, client, stranger);

    const created = await call(server, 'POST', `${API}/rooms/`, { token, json: { slug: 'ignored', access_level: 'public' } });
    expect(created.status).toBe(201);
    expectDocumented('POST /rooms/', created);
    expect(created.json.url).toBe(`https://meet.example.org/${created.json.slug}`);
    expect(created.json.telephony).toMatchObject({ enabled: true, phone_number: null });
    const roomUrl = `${API}/rooms/${created.json.id}/`;
    expect(created.headers.get('location')).toBe(`${server.origin}${roomUrl}`);
    const second = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(second.status).toBe(201);

    const cases: [string, CallResult, number, boolean][] = [
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/?page_size=1`, { token }), 200, false],
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/?page_size=101`, { token }), 400, true],
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/?page=3&page_size=1`, { token }), 404, true],
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/`), 401, true],
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/`, { headers: { authorization: 'Bearer a b' } }), 401, true],
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/`, { token: 'not-a-jwt' }), 401, true],
      ['GET /rooms/', await call(server, 'GET', `${API}/rooms/`, { token: noScope }), 403, true],
      ['POST /rooms/', await call(server, 'POST', `${API}/rooms/`, { token: listOnly }), 403, true],
      ['POST /rooms/', await call(server, 'POST', `${API}/rooms/`, { token, json: [1] }), 400, true],
      ['POST /rooms/', await call(server, 'POST', `${API}/rooms/`, { token, body: '{"broken', headers: { 'content-type': 'application/json' } }), 400, true],
      ['POST /rooms/', await call(server, 'POST', `${API}/rooms/`, { token, body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, true],
      ['GET /rooms/{id}/', await call(server, 'GET', roomUrl, { token }), 200, false],
      ['GET /rooms/{id}/', await call(server, 'GET', `${API}/rooms/${created.json.slug}/`, { token }), 200, false],
      ['GET /rooms/{id}/', await call(server, 'GET', roomUrl, { token: strangerToken }), 403, true],
      ['GET /rooms/{id}/', await call(server, 'GET', roomUrl, { token: listOnly }), 403, true],
      ['GET /rooms/{id}/', await call(server, 'GET', `${API}/rooms/${randomUUID()}/`, { token }), 404, true],
      ['GET /rooms/{id}/', await call(server, 'GET', `${API}/rooms/not-a-room/`, { token }), 404, true],
      ['PATCH /rooms/{id}/', await call(server, 'PATCH', roomUrl, { token, json: { attendees: ['ada@example.com'] } }), 200, false],
      ['PATCH /rooms/{id}/', await call(server, 'PATCH', roomUrl, { token, json: { attendees: 'ada@example.com' } }), 400, true],
      ['PATCH /rooms/{id}/', await call(server, 'PATCH', roomUrl, { token, json: {} }), 400, true],
      ['PATCH /rooms/{id}/', await call(server, 'PATCH', roomUrl, { token: strangerToken, json: { attendees: [] } }), 403, true],
      ['PATCH /rooms/{id}/', await call(server, 'PATCH', roomUrl, { token, body: 'x', headers: { 'content-type': 'text/plain' } }), 415, false],
      ['DELETE /rooms/{id}/', await call(server, 'DELETE', roomUrl, { token: listOnly }), 403, true],
      ['DELETE /rooms/{id}/', await call(server, 'DELETE', roomUrl, { token: strangerToken }), 403, true],
      ['DELETE /rooms/{id}/', await call(server, 'DELETE', roomUrl, { token }), 204, false],
      ['DELETE /rooms/{id}/', await call(server, 'DELETE', roomUrl, { token }), 404, true],
    ];
    for (const [key, answer, status, exact] of cases) {
      expect(answer.status, `${key}: ${answer.text}`).toBe(status);
      expectDocumented(key, answer, { exact });
    }
  });

  it('a room shows neither url nor telephony while neither is configured', async () => {
    const plain = await startTestServer();
    try {
      const email = 'linus@example.com';
      await plain.services.users.createUser({ email });
      const token = await getToken(plain, await createClient(plain), email);
      const created = await call(plain, 'POST', `${API}/rooms/`, { token });
      expect(created.status).toBe(201);
      expectDocumented('POST /rooms/', created);
      expect(Object.keys(created.json).sort()).toEqual(['access_level', 'attendees', 'id', 'slug']);
    } finally {
      await plain.close();
    }
  });

  it('admission: every decision, and each documented failure', async () => {
    const owner = await server.services.users.createUser({ email: 'owner@example.com' });
    const member = await server.services.users.createUser({ email: 'member@example.com' });
    const room = async (accessLevel: 'public' | 'trusted' | 'restricted') => {
      const created = await server.services.rooms.createRoom({ ownerId: owner.id, clientId: null, accessLevel });
      return { id: created.id, slug: created.slug };
    };
    const publicRoom = await room('public');
    const trustedRoom = await room('trusted');
    const restrictedRoom = await room('restricted');
    await server.services.rooms.setAttendees(restrictedRoom.id, ['Guest@Example.com']);
    await server.services.rooms.grantRole(restrictedRoom.id, member.id, 'member');

    const url = (idOrSlug: string) => servedPath(doc, '/rooms/{idOrSlug}/admission').replace('{idOrSlug}', idOrSlug);
    const admit = (idOrSlug: string, options: Parameters<typeof call>[3] = {}) =>
      call(server, 'POST', url(idOrSlug), { token: INTERNAL_API_TOKEN, ...options });

    const decisions: [CallResult, string, string][] = [
      [await admit(publicRoom.id, { json: { email: null, authenticated: false } }), 'join', 'public_room'],
      [await admit(trustedRoom.slug, { json: { authenticated: false } }), 'lobby', 'authentication_required'],
      [await admit(restrictedRoom.id, { json: { email: ' guest@example.COM ', authenticated: true } }), 'join', 'attendee'],
      [await admit(trustedRoom.id.toUpperCase(), { json: { email: 'anyone@example.com', authenticated: true } }), 'join', 'authenticated_in_trusted_room'],
      [await admit(restrictedRoom.slug, { json: { email: 'member@example.com', authenticated: true } }), 'join', 'member_of_restricted_room'],
      [await admit(restrictedRoom.id, { json: { email: 'stranger@example.com', authenticated: true } }), 'lobby', 'not_invited'],
      [await call(server, 'POST', `${url(restrictedRoom.id)}/`, { token: INTERNAL_API_TOKEN, json: { authenticated: true } }), 'lobby', 'not_invited'],
    ];
    const reasons = new Set<string>();
    for (const [answer, decision, reason] of decisions) {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toEqual({ decision, reason });
      expectDocumented(ADMISSION, answer, { exact: true });
      reasons.add(reason);
    }
    expect([...reasons].sort()).toEqual([...ADMISSION_REASONS].sort());

    const failures: [CallResult, number][] = [
      [await admit(trustedRoom.id, { token: undefined, json: { authenticated: true } }), 401],
      [await admit(trustedRoom.id, { token: 'wrong-token-0123456789abcdefghijklmnop', json: { authenticated: true } }), 401],
      [await admit(trustedRoom.id, { token: undefined, headers: { authorization: `Basic ${INTERNAL_API_TOKEN}` }, json: { authenticated: true } }), 401],
      [await admit(trustedRoom.id, { json: { email: 'not-an-email', authenticated: 'yes' } }), 400],
      [await admit(trustedRoom.id, { json: { email: 'ada@example.com' } }), 400],
      [await admit(trustedRoom.id, { json: { email: 42, authenticated: true } }), 400],
      [await admit(trustedRoom.id, { json: ['not', 'an', 'object'] }), 400],
      [await admit(trustedRoom.id, { body: '{"broken', headers: { 'content-type': 'application/json' } }), 400],
      [await admit(trustedRoom.id, { body: 'x', headers: { 'content-type': 'text/plain' } }), 415],
      [await admit(randomUUID(), { json: { authenticated: true } }), 404],
      [await admit('not-a-room', { json: { authenticated: true } }), 404],
    ];
    for (const [answer, status] of failures) {
      expect(answer.status, answer.text).toBe(status);
      expectDocumented(ADMISSION, answer, { exact: true });
    }
    expect(failures[0]?.[0].headers.get('www-authenticate')).toBe('Bearer realm="internal-api"');
  });

  it('the operations endpoints answer as documented', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const answer = await call(server, 'GET', path);
      expect(answer.status).toBe(200);
      expectDocumented(`GET ${path}`, answer, { exact: true });
    }
  });
});
