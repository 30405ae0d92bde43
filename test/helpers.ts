/**
 * Test support: the production server (buildApp over a migrated database) listening on a
 * real port, on a fresh store per call: a temporary SQLite file, or, when
 * TEST_DATABASE_URL names a PostgreSQL server, a database created for the test and
 * dropped after it. Nothing of ours is mocked. A describe block takes its own with
 * useServer() (and useFreshDatabase() for servers sharing one database); tests of the built
 * server or CLI run as child processes take their environment from childEnv().
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../src/app.js';
import { CONFIG_VARIABLES, loadConfig, type Config } from '../src/config.js';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { prepareDatabase } from '../src/db/layout.js';
import { createLogger } from '../src/logger.js';
import { createServices, type Services } from '../src/services.js';

/**
 * Test servers send many wrong secrets from one address on purpose: the failure throttle
 * would answer 429 to most test files. The tests of the limits set their own values.
 */
export const UNTHROTTLED = { RATE_LIMIT_TOKEN_FAILURES: '1000000', RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS: '1000000' };

export const TEST_JWT_KEY = 'test-signing-key-0123456789abcdefghijklmnopqrstuvwxyz';
export const API = '/external-api/v1.0';
export const ALL_SCOPES = ['rooms:list', 'rooms:retrieve', 'rooms:create'];

/** Which store the suite runs on: PostgreSQL when TEST_DATABASE_URL is set, else SQLite. */
export const TEST_STORE: 'postgres' | 'sqlite' = process.env.TEST_DATABASE_URL ? 'postgres' : 'sqlite';

/**
 * Which database layout the suite runs in: `meet` when TEST_DATABASE_LAYOUT=meet (with
 * TEST_DATABASE_URL, PostgreSQL only), where every fresh database is a stand-in for a Meet
 * deployment (test/fixtures/meet-schema.sql loaded into it); else `native`.
 */
export const TEST_LAYOUT: 'native' | 'meet' = process.env.TEST_DATABASE_LAYOUT === 'meet' ? 'meet' : 'native';
if (TEST_LAYOUT === 'meet' && TEST_STORE !== 'postgres') throw new Error('TEST_DATABASE_LAYOUT=meet needs TEST_DATABASE_URL (a PostgreSQL server)');

/** Meet's schema at its core migration 0022, as Django creates it: the stand-in for a Meet deployment. */
export const MEET_SCHEMA_FILE = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'meet-schema.sql');

/** Why a test of this server's own tables does not run beside Meet. */
export const NATIVE_TABLES_ONLY = 'about the native layout\'s own tables (DATABASE_LAYOUT=native)';

/**
 * PBKDF2 iterations of the Django hashes the tests' applications get in the meet layout:
 * Django's 1,000,000 would cost a third of a second of CPU per application registered and
 * per first token. The server verifies whatever count a hash names, so this changes cost,
 * not behaviour; the meet layout's own tests use Django's count where it matters.
 */
export const TEST_DJANGO_ITERATIONS = 1000;

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A brand-new, empty database URL on the test store. */
export async function freshDatabaseUrl(): Promise<FreshDatabase> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-test-'));
    return { url: `sqlite:${path.join(dir, 'meet.db')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `meet_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  if (TEST_LAYOUT === 'meet') await loadMeetSchema(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: admin });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

/** Loads Meet's schema into an empty database, as a Meet deployment would have it. */
export async function loadMeetSchema(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(fs.readFileSync(MEET_SCHEMA_FILE, 'utf8'));
  } finally {
    await client.end();
  }
}

/** Collects every log line the server writes, parsed, for assertions on audit and redaction. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

/** DATABASE_LAYOUT for servers and commands under test: only set in the meet layout, so native runs see what they always saw. */
export function layoutEnv(): Record<string, string> {
  return TEST_LAYOUT === 'meet' ? { DATABASE_LAYOUT: 'meet' } : {};
}

/** The services a test uses to set things up: the production ones (cheaper Django hashes in the meet layout, see TEST_DJANGO_ITERATIONS). */
export function createTestServices(database: DatabaseHandle, config: Config, logger: Parameters<typeof createServices>[2]): Services {
  return createServices(database, config, logger, { djangoHashIterations: TEST_DJANGO_ITERATIONS });
}

export interface TestServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  config: Config;
  database: DatabaseHandle;
  services: Services;
  app: FastifyInstance;
  logs: LogCapture;
  databaseUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the real server. `env` is the process environment the server would see (over a
 * test default of a fixed JWT key and the fresh database).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { databaseUrl?: string } = {},
): Promise<TestServer> {
  // With a given databaseUrl the server joins an existing database and leaves it in place.
  const fresh: FreshDatabase = options.databaseUrl ? { url: options.databaseUrl, drop: async () => {} } : await freshDatabaseUrl();
  const config = loadConfig({ APPLICATION_JWT_SECRET_KEY: TEST_JWT_KEY, LOG_LEVEL: 'info', DATABASE_URL: fresh.url, ...layoutEnv(), ...UNTHROTTLED, ...env });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const database = openDatabase(config);
  await prepareDatabase(database, config);
  const app = await buildApp({ config, database, logger, jwtSecret: config.jwt.secretKey ?? TEST_JWT_KEY });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    config,
    database,
    services: createTestServices(database, config, logger),
    app,
    logs,
    databaseUrl: fresh.url,
    async close() {
      await app.close();
      await database.close();
      await fresh.drop();
    },
  };
}

/**
 * Something a describe block sets up once in beforeAll and tears down in afterAll, handed
 * out at once as a stand-in that forwards every property to it: tests, helpers and later
 * hooks use it as the thing itself. Later fixtures are torn down first (vitest runs afterAll
 * hooks in reverse), so one may build on another.
 */
export function useFixture<T extends object>(what: string, setUp: () => Promise<T>, tearDown: (value: T) => Promise<void>): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await setUp();
  });
  afterAll(async () => {
    // After a failed setUp there is nothing to tear down, and the failure is already reported.
    if (current !== undefined) await tearDown(current);
    current = undefined;
  });
  const ready = (): T => {
    if (current === undefined) throw new Error(`${what} exists from beforeAll to afterAll: use it in a hook or a test, not in the describe body`);
    return current;
  };
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(ready(), key),
    set: (_target, key, value) => Reflect.set(ready(), key, value),
    has: (_target, key) => Reflect.has(ready(), key),
    ownKeys: () => Reflect.ownKeys(ready()),
    getOwnPropertyDescriptor: (_target, key) => Reflect.getOwnPropertyDescriptor(ready(), key),
  });
}

/**
 * A server for the calling describe block: started (as startTestServer) before its tests,
 * closed after them. `env` may be a function, and `databaseUrl`, to join an existing
 * database, is one: both are asked for when the server starts, so they may use what an
 * earlier fixture or beforeAll set up (an authorization server's address, a database).
 */
export function useServer(env: Record<string, string> | (() => Record<string, string>) = {}, options: { databaseUrl?: () => string } = {}): TestServer {
  return useFixture(
    'the test server',
    () => startTestServer(typeof env === 'function' ? env() : env, { databaseUrl: options.databaseUrl?.() }),
    (server) => server.close(),
  );
}

/** A fresh database for the calling describe block, dropped after its tests (and after servers started later on it). */
export function useFreshDatabase(): FreshDatabase {
  return useFixture('the fresh database', freshDatabaseUrl, (database) => database.drop());
}

const configVariables = new Set<string>(CONFIG_VARIABLES);

/**
 * The environment of a server or CLI child process: this process's environment without any
 * configuration variable (the shell running the tests must not change what they see),
 * NODE_ENV=test, then `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!configVariables.has(name)) env[name] = value;
  return { ...env, NODE_ENV: 'test', ...layoutEnv(), ...extra };
}

/** A port nobody listens on right now, for a child process to listen on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  /** A raw body, sent as is (set content-type yourself). For raw bytes or broken HTTP, use node:net. */
  body?: string;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body; throws in the test when the body is not JSON. */
  json: any;
}

/** One HTTP request to the server over its real port. */
export async function call(server: Pick<TestServer, 'origin'>, method: string, pathAndQuery: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${server.origin}${pathAndQuery}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    get json() {
      return text === '' ? undefined : JSON.parse(text);
    },
  };
}

export interface Client {
  clientId: string;
  secret: string;
}

/** Registers an application through the service layer (what `meet-api apps create` does). */
export async function createClient(
  server: Pick<TestServer, 'services'>,
  options: { scopes?: string[]; domains?: string[]; isActive?: boolean; name?: string } = {},
): Promise<Client> {
  const { application, secret } = await server.services.applications.createApplication({
    name: options.name ?? 'test app',
    scopes: options.scopes ?? ALL_SCOPES,
    domains: options.domains ?? [],
    isActive: options.isActive ?? true,
  });
  return { clientId: application.clientId, secret };
}

/** Exchanges credentials for a token over HTTP; fails the test unless it is issued. */
export async function getToken(server: Pick<TestServer, 'origin'>, client: Client, email: string): Promise<string> {
  const result = await call(server, 'POST', `${API}/application/token/`, {
    json: { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email },
  });
  if (result.status !== 200) throw new Error(`token refused: ${result.status} ${result.text}`);
  return result.json.access_token as string;
}

/** A user, an application with every v1.0 scope, and a token for that user. */
export async function userWithToken(server: TestServer, email = `user-${randomBytes(4).toString('hex')}@example.com`, scopes = ALL_SCOPES) {
  const user = await server.services.users.createUser({ email });
  const client = await createClient(server, { scopes });
  const token = await getToken(server, client, email);
  return { user, email, client, token };
}
