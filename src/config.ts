/**
 * The environment, read once at start and frozen. Every variable of the README's
 * configuration table is parsed here and nowhere else; a value
 * that does not parse stops the process with a message naming the variable.
 */

import net from 'node:net';
import { ACCESS_LEVELS, type AccessLevel } from './rooms/access-levels.js';

export const DATABASE_LAYOUTS = ['native', 'meet'] as const;
export type DatabaseLayout = (typeof DATABASE_LAYOUTS)[number];

export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512';

/** The resource-server mode (docs/resource-server.md): user tokens of the identity provider, introspected. */
export interface ResourceServerConfig {
  /** The authorization server's issuer (OIDC_OP_URL). */
  readonly issuer: string;
  readonly introspectionEndpoint: string;
  readonly jwksEndpoint: string | undefined;
  /** This server's credentials at the authorization server. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** A token must carry at least one of these (prefix stripped). */
  readonly scopes: readonly string[];
  readonly scopesPrefix: string | undefined;
  /** The introspection claim naming the calling service. */
  readonly audienceClaim: string;
  readonly format: 'json' | 'jwt';
  readonly signingAlgorithm: string;
  /** PEM of the key introspection answers are encrypted to (jwt format); unset: signed only. */
  readonly privateKeyPem: string | undefined;
  readonly encryptionAlgorithm: string;
  readonly encryptionEncoding: string;
  /** How long an active answer is reused (never past the token's exp); 0: never. */
  readonly cacheSeconds: number;
  readonly createUser: boolean;
  /** Bound on each call to the authorization server. */
  readonly timeoutMs: number;
}

/** La Suite Meet's add-on tokens (docs/api.md, "Add-on tokens"); the whole object is absent while ADDONS_ENABLED is false. */
export interface AddonsConfig {
  /** The HMAC key Meet signs its add-on tokens with (ADDONS_TOKEN_SECRET_KEY). */
  readonly secretKey: string;
  readonly algorithm: JwtAlgorithm;
  readonly issuer: string;
  readonly audience: string;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly databasePoolMax: number;
  readonly databaseStatementTimeoutMs: number;
  /**
   * Whose tables hold users, applications and rooms: `native` (this server's own) or
   * `meet` (a La Suite Meet deployment's, on its PostgreSQL database; see src/db/layout.ts).
   */
  readonly databaseLayout: DatabaseLayout;
  readonly production: boolean;
  readonly jwt: {
    /** Raw key from APPLICATION_JWT_SECRET_KEY; undefined means "generate or load one" (outside production only). */
    readonly secretKey: string | undefined;
    /** Former keys (APPLICATION_JWT_SECRET_KEY_FALLBACKS): tokens they signed still verify; none signs. */
    readonly fallbackKeys: readonly string[];
    readonly algorithm: JwtAlgorithm;
    readonly issuer: string;
    readonly audience: string | undefined;
    readonly expirationSeconds: number;
    readonly tokenType: string;
  };
  readonly baseUrl: string | undefined;
  readonly allowUserCreation: boolean;
  readonly clientIdLength: number;
  readonly clientSecretLength: number;
  readonly telephony: {
    readonly enabled: boolean;
    readonly pinLength: number;
    readonly pinMaxRetries: number;
    readonly phoneNumber: string | null;
    readonly defaultCountry: string;
  };
  readonly logLevel: string;
  /**
   * Whose X-Forwarded-* to believe: false (nobody), true (every hop: only behind a proxy
   * that replaces X-Forwarded-For), or the proxies' addresses and ranges, so the client
   * address is the last one a trusted proxy saw (what Fastify's proxy-addr computes).
   */
  readonly trustProxy: boolean | string[];
  readonly bodyLimitBytes: number;
  readonly workers: number;
  /** Shared secret of the internal admission API; the route is absent while unset. */
  readonly internalApiToken: string | undefined;
  /** Room options through the API (upstream Meet, 2026). */
  readonly externalApi: {
    readonly defaultAccessLevel: AccessLevel;
    readonly allowPublicAccess: boolean;
  };
  /** The client-credentials mode: the token endpoint and application tokens. */
  readonly applicationEnabled: boolean;
  /** The resource-server mode; undefined while off. */
  readonly resourceServer: ResourceServerConfig | undefined;
  /** Meet's add-on tokens on /rooms; undefined while ADDONS_ENABLED is false. */
  readonly addons: AddonsConfig | undefined;
  /** The origin clients reach this server at; when set, links are built on it, never on the request's Host. */
  readonly publicUrl: string | undefined;
  readonly rateLimits: {
    /** Failed client authentications allowed per (client id, address), per minute. */
    readonly tokenFailures: number;
    /** The same, per address across all client ids. */
    readonly tokenFailuresPerAddress: number;
    /** /rooms requests per application per minute; 0: no limit. */
    readonly applicationPerMinute: number;
  };
  /** Redis for counters shared by every worker and instance; unset: kept in each process. */
  readonly redisUrl: string | undefined;
  /** Serves Prometheus metrics at GET /metrics on this port (same HOST); unset: none. */
  readonly metricsPort: number | undefined;
  /** Open connections accepted at once; more are refused. */
  readonly maxConnections: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Every environment variable loadConfig reads. The readers below accept only these names,
 * so reading a new variable does not compile until it is listed here; tests and tools that
 * start the server in a child process use the list to keep the caller's shell out of it.
 */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'NODE_ENV',
  'APPLICATION_JWT_SECRET_KEY',
  'APPLICATION_JWT_ALG',
  'APPLICATION_JWT_ISSUER',
  'APPLICATION_JWT_AUDIENCE',
  'APPLICATION_JWT_EXPIRATION_SECONDS',
  'APPLICATION_JWT_TOKEN_TYPE',
  'APPLICATION_BASE_URL',
  'APPLICATION_ALLOW_USER_CREATION',
  'APPLICATION_CLIENT_ID_LENGTH',
  'APPLICATION_CLIENT_SECRET_LENGTH',
  'ROOM_TELEPHONY_ENABLED',
  'ROOM_TELEPHONY_PIN_LENGTH',
  'ROOM_TELEPHONY_PIN_MAX_RETRIES',
  'ROOM_TELEPHONY_PHONE_NUMBER',
  'ROOM_TELEPHONY_DEFAULT_COUNTRY',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'BODY_LIMIT_BYTES',
  'WORKERS',
  'INTERNAL_API_TOKEN',
  'EXTERNAL_API_DEFAULT_ACCESS_LEVEL',
  'EXTERNAL_API_ALLOW_PUBLIC_ACCESS',
  'APPLICATION_ENABLED',
  'OIDC_OP_URL',
  'OIDC_OP_INTROSPECTION_ENDPOINT',
  'OIDC_OP_JWKS_ENDPOINT',
  'OIDC_RS_CLIENT_ID',
  'OIDC_RS_CLIENT_SECRET',
  'OIDC_RS_SCOPES',
  'OIDC_RS_SCOPES_PREFIX',
  'OIDC_RS_AUDIENCE_CLAIM',
  'OIDC_RS_INTROSPECTION_FORMAT',
  'OIDC_RS_SIGNING_ALGO',
  'OIDC_RS_PRIVATE_KEY_STR',
  'OIDC_RS_ENCRYPTION_ALGO',
  'OIDC_RS_ENCRYPTION_ENCODING',
  'OIDC_RS_CACHE_SECONDS',
  'OIDC_CREATE_USER',
  'OIDC_TIMEOUT',
  'APPLICATION_JWT_SECRET_KEY_FALLBACKS',
  'PUBLIC_URL',
  'RATE_LIMIT_TOKEN_FAILURES',
  'RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS',
  'RATE_LIMIT_APPLICATION_PER_MINUTE',
  'REDIS_URL',
  'METRICS_PORT',
  'MAX_CONNECTIONS',
  'ADDONS_ENABLED',
  'ADDONS_TOKEN_SECRET_KEY',
  'ADDONS_TOKEN_ALG',
  'ADDONS_TOKEN_ISSUER',
  'ADDONS_TOKEN_AUDIENCE',
  'DATABASE_LAYOUT',
] as const;

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

const MIN_PRODUCTION_KEY_BYTES = 32;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512'];

/**
 * The value, or undefined when unset or blank (an empty variable means "use the default").
 * The one place that reads `env`: every other reader goes through it, so CONFIG_VARIABLES
 * (its parameter's type) names everything loadConfig can read.
 */
function raw(env: Env, name: ConfigVariable): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function text(env: Env, name: ConfigVariable, fallback: string): string {
  return raw(env, name) ?? fallback;
}

function bool(env: Env, name: ConfigVariable, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const lowered = value.toLowerCase();
  if (['true', '1', 'yes'].includes(lowered)) return true;
  if (['false', '0', 'no'].includes(lowered)) return false;
  throw new ConfigError(name, `expected true/false/1/0/yes/no, got "${value}"`);
}

/** Names proxy-addr knows for ranges (loopback, private and link-local addresses). */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxy(env: Env): boolean | string[] {
  const value = raw(env, 'TRUST_PROXY');
  if (value === undefined) return false;
  if (/^(true|false|1|0|yes|no)$/i.test(value)) return bool(env, 'TRUST_PROXY', false);
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = net.isIP(address ?? '');
    const bitsOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!(PROXY_RANGE_NAMES.includes(entry) || (family !== 0 && bitsOk && extra === undefined))) {
      throw new ConfigError('TRUST_PROXY', `expected true, false, or proxy addresses and ranges (10.0.0.1, 10.0.0.0/8, loopback, uniquelocal), got "${entry}"`);
    }
  }
  if (entries.length === 0) throw new ConfigError('TRUST_PROXY', 'expected true, false, or proxy addresses and ranges');
  return entries;
}

function int(env: Env, name: ConfigVariable, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `expected an integer, got "${value}"`);
  const parsed = Number(value);
  if (parsed < min || parsed > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${value}`);
  }
  return parsed;
}

function choice<T extends string>(env: Env, name: ConfigVariable, choices: readonly T[], fallback: T): T {
  const value = raw(env, name) ?? fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(name, `expected one of ${choices.join(', ')}, got "${value}"`);
  }
  return value as T;
}

/** An absolute http(s) URL, or undefined when unset. */
function httpUrl(env: Env, name: ConfigVariable): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `expected an absolute http(s) URL, got "${value}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `expected an http or https URL, got "${value}"`);
  }
  return value;
}

function baseUrl(env: Env): string | undefined {
  // Rooms are at <base>/<slug>: drop trailing slashes so the join never doubles one.
  return httpUrl(env, 'APPLICATION_BASE_URL')?.replace(/\/+$/, '');
}

/** The origin of PUBLIC_URL (scheme, host, port; a path is refused: links put the API's own paths after it). */
function publicUrl(env: Env): string | undefined {
  const value = httpUrl(env, 'PUBLIC_URL');
  if (value === undefined) return undefined;
  const parsed = new URL(value);
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError('PUBLIC_URL', `expected an origin such as https://meet.example.org, without a path, got "${value}"`);
  }
  return parsed.origin;
}

function redisUrl(env: Env): string | undefined {
  const value = raw(env, 'REDIS_URL');
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    // The value is not repeated: it may hold a password.
    throw new ConfigError('REDIS_URL', 'expected redis://host:port/db');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', `expected redis:// or rediss://, got the scheme "${parsed.protocol}"`);
  return value;
}

function optionalPort(env: Env, name: ConfigVariable): number | undefined {
  return raw(env, name) === undefined ? undefined : int(env, name, 0, 1, 65535);
}

function list(env: Env, name: ConfigVariable, fallback: string): string[] {
  return text(env, name, fallback)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The three variables that turn the resource-server mode on: all or none. */
const RESOURCE_SERVER_SWITCHES = ['OIDC_OP_URL', 'OIDC_OP_INTROSPECTION_ENDPOINT', 'OIDC_RS_CLIENT_SECRET'] as const;

function resourceServer(env: Env): ResourceServerConfig | undefined {
  // Every variable is read (and checked) whether or not the mode is on.
  const issuer = httpUrl(env, 'OIDC_OP_URL');
  const introspectionEndpoint = httpUrl(env, 'OIDC_OP_INTROSPECTION_ENDPOINT');
  const clientSecret = raw(env, 'OIDC_RS_CLIENT_SECRET');
  const settings = {
    jwksEndpoint: httpUrl(env, 'OIDC_OP_JWKS_ENDPOINT'),
    clientId: text(env, 'OIDC_RS_CLIENT_ID', 'meet'),
    scopes: list(env, 'OIDC_RS_SCOPES', 'lasuite_meet'),
    scopesPrefix: raw(env, 'OIDC_RS_SCOPES_PREFIX'),
    audienceClaim: text(env, 'OIDC_RS_AUDIENCE_CLAIM', 'client_id'),
    format: choice(env, 'OIDC_RS_INTROSPECTION_FORMAT', ['json', 'jwt'] as const, 'json'),
    signingAlgorithm: text(env, 'OIDC_RS_SIGNING_ALGO', 'ES256'),
    privateKeyPem: raw(env, 'OIDC_RS_PRIVATE_KEY_STR'),
    encryptionAlgorithm: text(env, 'OIDC_RS_ENCRYPTION_ALGO', 'RSA-OAEP'),
    encryptionEncoding: text(env, 'OIDC_RS_ENCRYPTION_ENCODING', 'A256GCM'),
    cacheSeconds: int(env, 'OIDC_RS_CACHE_SECONDS', 30, 0, 86_400),
    createUser: bool(env, 'OIDC_CREATE_USER', true),
    timeoutMs: int(env, 'OIDC_TIMEOUT', 5, 1, 300) * 1000,
  };
  if (issuer === undefined && introspectionEndpoint === undefined && clientSecret === undefined) return undefined;
  if (issuer === undefined || introspectionEndpoint === undefined || clientSecret === undefined) {
    const given = { OIDC_OP_URL: issuer, OIDC_OP_INTROSPECTION_ENDPOINT: introspectionEndpoint, OIDC_RS_CLIENT_SECRET: clientSecret };
    const missing = RESOURCE_SERVER_SWITCHES.find((name) => given[name] === undefined)!;
    const others = RESOURCE_SERVER_SWITCHES.filter((name) => name !== missing).join(' and ');
    throw new ConfigError(missing, `required with ${others} (they turn the resource-server mode on together)`);
  }
  if (settings.scopes.length === 0) throw new ConfigError('OIDC_RS_SCOPES', 'needs at least one scope');
  if (settings.format === 'jwt' && settings.jwksEndpoint === undefined) {
    throw new ConfigError('OIDC_OP_JWKS_ENDPOINT', 'required with OIDC_RS_INTROSPECTION_FORMAT=jwt (it holds the keys that sign the answers)');
  }
  return { issuer, introspectionEndpoint, clientSecret, ...settings };
}

function jwtAlgorithm(env: Env, name: ConfigVariable): JwtAlgorithm {
  const algorithm = text(env, name, 'HS256').toUpperCase();
  if (!JWT_ALGORITHMS.includes(algorithm as JwtAlgorithm)) {
    throw new ConfigError(name, `expected one of ${JWT_ALGORITHMS.join(', ')}, got "${algorithm}"`);
  }
  return algorithm as JwtAlgorithm;
}

/**
 * Meet's add-on tokens. Every variable is read (and checked) whether or not they are on;
 * issuer and audience default to Meet's own defaults, so an operator can carry Meet's
 * environment over. The key follows APPLICATION_JWT_SECRET_KEY's rule (at least 32 bytes
 * in production), and must not be one of the application keys: an add-on token would then
 * read as an application token without a client_id.
 */
function addons(env: Env, production: boolean, applicationKeys: readonly (string | undefined)[]): AddonsConfig | undefined {
  const enabled = bool(env, 'ADDONS_ENABLED', false);
  const secretKey = raw(env, 'ADDONS_TOKEN_SECRET_KEY');
  const settings = {
    algorithm: jwtAlgorithm(env, 'ADDONS_TOKEN_ALG'),
    issuer: text(env, 'ADDONS_TOKEN_ISSUER', 'lasuite-meet'),
    audience: text(env, 'ADDONS_TOKEN_AUDIENCE', 'addons'),
  };
  if (!enabled) return undefined;
  if (secretKey === undefined) throw new ConfigError('ADDONS_TOKEN_SECRET_KEY', 'required when ADDONS_ENABLED is true');
  if (production && Buffer.byteLength(secretKey) < MIN_PRODUCTION_KEY_BYTES) {
    throw new ConfigError('ADDONS_TOKEN_SECRET_KEY', `must be at least ${MIN_PRODUCTION_KEY_BYTES} bytes when NODE_ENV=production`);
  }
  if (applicationKeys.includes(secretKey)) {
    throw new ConfigError('ADDONS_TOKEN_SECRET_KEY', 'must differ from APPLICATION_JWT_SECRET_KEY and its fallbacks');
  }
  return { secretKey, ...settings };
}

function databaseUrl(env: Env): string {
  const value = text(env, 'DATABASE_URL', 'sqlite:./data/meet.db');
  if (value.startsWith('sqlite:')) {
    if (value.slice('sqlite:'.length).replace(/^\/\//, '') === '') {
      throw new ConfigError('DATABASE_URL', 'sqlite: needs a file path, e.g. sqlite:./data/meet.db');
    }
    return value;
  }
  if (value.startsWith('postgres://') || value.startsWith('postgresql://')) {
    try {
      new URL(value);
    } catch {
      throw new ConfigError('DATABASE_URL', 'not a valid postgres:// URL');
    }
    return value;
  }
  throw new ConfigError('DATABASE_URL', 'expected sqlite:<path> or postgres://user:pass@host:port/db');
}

/** Meet's tables live in PostgreSQL only: with SQLite the meet layout has nothing to work on. */
function databaseLayout(env: Env, url: string): DatabaseLayout {
  const layout = choice(env, 'DATABASE_LAYOUT', DATABASE_LAYOUTS, 'native');
  if (layout === 'meet' && url.startsWith('sqlite:')) {
    throw new ConfigError(
      'DATABASE_LAYOUT',
      "meet works on a La Suite Meet deployment's PostgreSQL tables, but DATABASE_URL names SQLite; point DATABASE_URL at Meet's PostgreSQL database, or use DATABASE_LAYOUT=native",
    );
  }
  return layout;
}

function internalApiToken(env: Env): string | undefined {
  const value = raw(env, 'INTERNAL_API_TOKEN');
  if (value !== undefined && value.length < 32) {
    throw new ConfigError('INTERNAL_API_TOKEN', 'must be at least 32 characters (it guards the admission decisions)');
  }
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const production = text(env, 'NODE_ENV', 'development') === 'production';

  const secretKey = raw(env, 'APPLICATION_JWT_SECRET_KEY');
  if (production && secretKey === undefined) {
    throw new ConfigError('APPLICATION_JWT_SECRET_KEY', 'required when NODE_ENV=production');
  }
  if (production && secretKey !== undefined && Buffer.byteLength(secretKey) < MIN_PRODUCTION_KEY_BYTES) {
    throw new ConfigError(
      'APPLICATION_JWT_SECRET_KEY',
      `must be at least ${MIN_PRODUCTION_KEY_BYTES} bytes when NODE_ENV=production`,
    );
  }

  const fallbackKeys = list(env, 'APPLICATION_JWT_SECRET_KEY_FALLBACKS', '');
  if (production && fallbackKeys.some((key) => Buffer.byteLength(key) < MIN_PRODUCTION_KEY_BYTES)) {
    // A former key still verifies tokens: a weak one would be a way in.
    throw new ConfigError('APPLICATION_JWT_SECRET_KEY_FALLBACKS', `each key must be at least ${MIN_PRODUCTION_KEY_BYTES} bytes when NODE_ENV=production`);
  }

  const algorithm = jwtAlgorithm(env, 'APPLICATION_JWT_ALG');

  const logLevel = text(env, 'LOG_LEVEL', 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const url = databaseUrl(env);
  const config: Config = {
    port: int(env, 'PORT', 8000, 0, 65535),
    host: text(env, 'HOST', '127.0.0.1'),
    databaseUrl: url,
    databaseLayout: databaseLayout(env, url),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
    databaseStatementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    production,
    jwt: {
      secretKey,
      algorithm,
      fallbackKeys,
      issuer: text(env, 'APPLICATION_JWT_ISSUER', 'lasuite-meet'),
      audience: raw(env, 'APPLICATION_JWT_AUDIENCE'),
      expirationSeconds: int(env, 'APPLICATION_JWT_EXPIRATION_SECONDS', 3600, 1, 31_536_000),
      tokenType: text(env, 'APPLICATION_JWT_TOKEN_TYPE', 'Bearer'),
    },
    baseUrl: baseUrl(env),
    allowUserCreation: bool(env, 'APPLICATION_ALLOW_USER_CREATION', false),
    clientIdLength: int(env, 'APPLICATION_CLIENT_ID_LENGTH', 40, 16, 255),
    clientSecretLength: int(env, 'APPLICATION_CLIENT_SECRET_LENGTH', 128, 32, 1024),
    telephony: {
      enabled: bool(env, 'ROOM_TELEPHONY_ENABLED', false),
      pinLength: int(env, 'ROOM_TELEPHONY_PIN_LENGTH', 10, 4, 32),
      pinMaxRetries: int(env, 'ROOM_TELEPHONY_PIN_MAX_RETRIES', 5, 1, 1000),
      phoneNumber: raw(env, 'ROOM_TELEPHONY_PHONE_NUMBER') ?? null,
      defaultCountry: text(env, 'ROOM_TELEPHONY_DEFAULT_COUNTRY', 'US'),
    },
    logLevel,
    trustProxy: trustProxy(env),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 65_536, 1024, 10_485_760),
    workers: int(env, 'WORKERS', 1, 1, 256),
    internalApiToken: internalApiToken(env),
    externalApi: {
      defaultAccessLevel: choice(env, 'EXTERNAL_API_DEFAULT_ACCESS_LEVEL', ACCESS_LEVELS, 'trusted'),
      allowPublicAccess: bool(env, 'EXTERNAL_API_ALLOW_PUBLIC_ACCESS', false),
    },
    applicationEnabled: bool(env, 'APPLICATION_ENABLED', true),
    resourceServer: resourceServer(env),
    addons: addons(env, production, [secretKey, ...fallbackKeys]),
    publicUrl: publicUrl(env),
    rateLimits: {
      tokenFailures: int(env, 'RATE_LIMIT_TOKEN_FAILURES', 10, 1, 1_000_000),
      tokenFailuresPerAddress: int(env, 'RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS', 100, 1, 1_000_000),
      applicationPerMinute: int(env, 'RATE_LIMIT_APPLICATION_PER_MINUTE', 6000, 0, 100_000_000),
    },
    redisUrl: redisUrl(env),
    metricsPort: optionalPort(env, 'METRICS_PORT'),
    maxConnections: int(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(value);
}
