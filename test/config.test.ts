/**
 * The README's configuration table: loadConfig() over plain environment objects (a pure function: no process,
 * no mocks). The default of every variable, each variable honoured when set, booleans in
 * every accepted spelling, and for each kind of value (boolean, integer, URL, PIN length,
 * signing algorithm, database URL) a bad value refused with a ConfigError naming the
 * variable. Production requires a signing key of at least 32 bytes.
 */
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';

const STRONG_KEY = 'k'.repeat(32);

/** The ConfigError loadConfig throws for this environment; fails the test when none is thrown. */
function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

function expectRefused(env: Record<string, string>, variable: string): void {
  const error = refusal(env);
  expect(error.message).toContain(variable);
}

describe('defaults (nothing set)', () => {
  const config = loadConfig({});

  it('serves on 127.0.0.1:8000 over the embedded SQLite store', () => {
    expect(config.port).toBe(8000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBe('sqlite:./data/meet.db');
  });

  it('signs HS256 tokens for one hour, issuer lasuite-meet, no audience, type Bearer, no configured key', () => {
    expect(config.jwt.secretKey).toBeUndefined();
    expect(config.jwt.algorithm).toBe('HS256');
    expect(config.jwt.issuer).toBe('lasuite-meet');
    expect(config.jwt.audience).toBeUndefined();
    expect(config.jwt.expirationSeconds).toBe(3600);
    expect(config.jwt.tokenType).toBe('Bearer');
  });

  it('has no base URL, creates no users, generates 40-character ids and 128-character secrets', () => {
    expect(config.baseUrl).toBeUndefined();
    expect(config.allowUserCreation).toBe(false);
    expect(config.clientIdLength).toBe(40);
    expect(config.clientSecretLength).toBe(128);
  });

  it('has telephony off, 10-digit PINs, 5 retries, no phone number, country US; logs at info', () => {
    expect(config.telephony).toEqual({
      enabled: false,
      pinLength: 10,
      pinMaxRetries: 5,
      phoneNumber: null,
      defaultCountry: 'US',
    });
    expect(config.logLevel).toBe('info');
  });

  it('is not production when NODE_ENV is unset, and needs no key then', () => {
    expect(config.production).toBe(false);
  });
});

describe('every variable is honoured when set', () => {
  it('reads each of them', () => {
    const config = loadConfig({
      PORT: '9123',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://meet:pw@db.internal:5433/meet',
      APPLICATION_JWT_SECRET_KEY: STRONG_KEY,
      APPLICATION_JWT_ALG: 'HS512',
      APPLICATION_JWT_ISSUER: 'my-issuer',
      APPLICATION_JWT_AUDIENCE: 'my-audience',
      APPLICATION_JWT_EXPIRATION_SECONDS: '600',
      APPLICATION_JWT_TOKEN_TYPE: 'JWT',
      APPLICATION_JWT_SECRET_KEY_FALLBACKS: ' old-key-one , old-key-two ',
      APPLICATION_BASE_URL: 'https://meet.example.org',
      APPLICATION_ALLOW_USER_CREATION: 'true',
      APPLICATION_CLIENT_ID_LENGTH: '50',
      APPLICATION_CLIENT_SECRET_LENGTH: '200',
      ROOM_TELEPHONY_ENABLED: 'true',
      ROOM_TELEPHONY_PIN_LENGTH: '6',
      ROOM_TELEPHONY_PIN_MAX_RETRIES: '9',
      ROOM_TELEPHONY_PHONE_NUMBER: '+1-555-0100',
      ROOM_TELEPHONY_DEFAULT_COUNTRY: 'FR',
      LOG_LEVEL: 'warn',
    });
    expect(config.port).toBe(9123);
    expect(config.host).toBe('0.0.0.0');
    expect(config.databaseUrl).toBe('postgres://meet:pw@db.internal:5433/meet');
    expect(config.jwt).toEqual({
      secretKey: STRONG_KEY,
      algorithm: 'HS512',
      issuer: 'my-issuer',
      audience: 'my-audience',
      expirationSeconds: 600,
      tokenType: 'JWT',
      fallbackKeys: ['old-key-one', 'old-key-two'],
    });
    expect(config.baseUrl).toBe('https://meet.example.org');
    expect(config.allowUserCreation).toBe(true);
    expect(config.clientIdLength).toBe(50);
    expect(config.clientSecretLength).toBe(200);
    expect(config.telephony).toEqual({
      enabled: true,
      pinLength: 6,
      pinMaxRetries: 9,
      phoneNumber: '+1-555-0100',
      defaultCountry: 'FR',
    });
    expect(config.logLevel).toBe('warn');
  });

  it('accepts the other supported HMAC algorithm and both SQLite and postgresql:// URLs', () => {
    expect(loadConfig({ APPLICATION_JWT_ALG: 'HS384' }).jwt.algorithm).toBe('HS384');
    expect(loadConfig({ APPLICATION_JWT_ALG: 'HS256' }).jwt.algorithm).toBe('HS256');
    expect(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/meet/meet.db' }).databaseUrl).toBe('sqlite:/var/lib/meet/meet.db');
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@h:5432/d' }).databaseUrl).toBe('postgresql://u:p@h:5432/d');
  });

  it('accepts a PIN length of exactly 4', () => {
    expect(loadConfig({ ROOM_TELEPHONY_PIN_LENGTH: '4' }).telephony.pinLength).toBe(4);
  });
});

describe('booleans accept true/false/1/0/yes/no in any case', () => {
  const BOOLEANS = ['APPLICATION_ALLOW_USER_CREATION', 'ROOM_TELEPHONY_ENABLED'] as const;
  const TRUE = ['true', 'TRUE', 'True', '1', 'yes', 'YES', 'Yes', 'yEs'];
  const FALSE = ['false', 'FALSE', 'False', '0', 'no', 'NO', 'No', 'nO'];
  const read = (variable: (typeof BOOLEANS)[number], value: string) => {
    const config = loadConfig({ [variable]: value });
    return variable === 'APPLICATION_ALLOW_USER_CREATION' ? config.allowUserCreation : config.telephony.enabled;
  };

  for (const variable of BOOLEANS) {
    it(`${variable}: every spelling of true and false`, () => {
      for (const value of TRUE) expect(read(variable, value), `${variable}=${value}`).toBe(true);
      for (const value of FALSE) expect(read(variable, value), `${variable}=${value}`).toBe(false);
    });

    it(`${variable}: a value that does not parse is refused, naming the variable`, () => {
      for (const value of ['maybe', 'on', 'off', '2', 'y', 'n', 'truee', 'yes please', '-1']) {
        expectRefused({ [variable]: value }, variable);
      }
    });
  }
});

describe('a bad value stops the start with a ConfigError naming the variable', () => {
  const INTEGERS = [
    'PORT',
    'APPLICATION_JWT_EXPIRATION_SECONDS',
    'APPLICATION_CLIENT_ID_LENGTH',
    'APPLICATION_CLIENT_SECRET_LENGTH',
    'ROOM_TELEPHONY_PIN_LENGTH',
    'ROOM_TELEPHONY_PIN_MAX_RETRIES',
  ];

  for (const variable of INTEGERS) {
    it(`integer ${variable}`, () => {
      for (const value of ['ten', '12abc', '1.5', '-3', '8 000']) expectRefused({ [variable]: value }, variable);
    });
  }

  it('PORT out of the TCP range', () => {
    expectRefused({ PORT: '65536' }, 'PORT');
    expectRefused({ PORT: '99999' }, 'PORT');
  });

  it('URL APPLICATION_BASE_URL', () => {
    for (const value of ['not a url', 'meet.example.org', '/relative/path', 'http//missing-colon.org']) {
      expectRefused({ APPLICATION_BASE_URL: value }, 'APPLICATION_BASE_URL');
    }
  });

  it('ROOM_TELEPHONY_PIN_LENGTH below 4', () => {
    for (const value of ['3', '2', '1', '0']) expectRefused({ ROOM_TELEPHONY_PIN_LENGTH: value }, 'ROOM_TELEPHONY_PIN_LENGTH');
  });

  it('APPLICATION_JWT_ALG not supported', () => {
    for (const value of ['none', 'NONE', 'RS256', 'ES256', 'HS1024', 'sha256']) {
      expectRefused({ APPLICATION_JWT_ALG: value }, 'APPLICATION_JWT_ALG');
    }
  });

  it('DATABASE_URL of an unknown scheme', () => {
    for (const value of ['mysql://u:p@h:3306/d', 'redis://localhost', 'meet.db', 'file:./meet.db', 'https://db.example.org']) {
      expectRefused({ DATABASE_URL: value }, 'DATABASE_URL');
    }
  });

  it('LOG_LEVEL that is no level', () => {
    expectRefused({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
  });

  it('the error names only the variable at fault when several are set', () => {
    const error = refusal({ PORT: '8080', ROOM_TELEPHONY_ENABLED: 'maybe', APPLICATION_BASE_URL: 'https://ok.example.org' });
    expect(error.message).toContain('ROOM_TELEPHONY_ENABLED');
    expect(error.message).not.toContain('PORT');
    expect(error.message).not.toContain('APPLICATION_BASE_URL');
  });
});

describe('NODE_ENV=production and the signing key', () => {
  it('refuses to start without APPLICATION_JWT_SECRET_KEY', () => {
    expectRefused({ NODE_ENV: 'production' }, 'APPLICATION_JWT_SECRET_KEY');
  });

  it('refuses a blank key like a missing one', () => {
    expectRefused({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: '   ' }, 'APPLICATION_JWT_SECRET_KEY');
  });

  it('refuses a key shorter than 32 bytes', () => {
    expectRefused({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: 'k'.repeat(31) }, 'APPLICATION_JWT_SECRET_KEY');
    expectRefused({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: 'short' }, 'APPLICATION_JWT_SECRET_KEY');
  });

  it('accepts a key of 32 bytes or more, counting bytes rather than characters', () => {
    const config = loadConfig({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: STRONG_KEY });
    expect(config.production).toBe(true);
    expect(config.jwt.secretKey).toBe(STRONG_KEY);
    // 16 characters, 32 bytes in UTF-8.
    const multibyte = 'é'.repeat(16);
    expect(loadConfig({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: multibyte }).jwt.secretKey).toBe(multibyte);
  });

  it('outside production, neither a missing nor a short key stops the start', () => {
    for (const env of ['development', 'test', 'staging']) {
      expect(loadConfig({ NODE_ENV: env }).jwt.secretKey).toBeUndefined();
      expect(loadConfig({ NODE_ENV: env, APPLICATION_JWT_SECRET_KEY: 'short' }).jwt.secretKey).toBe('short');
    }
  });
});

describe('APPLICATION_BASE_URL', () => {
  it('loses its trailing slash, so a room URL is <base>/<slug> with no double slash', () => {
    expect(loadConfig({ APPLICATION_BASE_URL: 'https://meet.example.org/' }).baseUrl).toBe('https://meet.example.org');
    expect(loadConfig({ APPLICATION_BASE_URL: 'https://meet.example.org/app/' }).baseUrl).toBe('https://meet.example.org/app');
    expect(loadConfig({ APPLICATION_BASE_URL: 'http://localhost:3000//' }).baseUrl).toBe('http://localhost:3000');
  });

  it('is kept as given when it has no trailing slash', () => {
    expect(loadConfig({ APPLICATION_BASE_URL: 'https://meet.example.org/app' }).baseUrl).toBe('https://meet.example.org/app');
  });
});

describe('CONFIG_VARIABLES', () => {
  /** The names loadConfig looks up in this environment, recorded through a proxy. */
  function variablesRead(env: Record<string, string>): string[] {
    const read = new Set<string>();
    const recorder = new Proxy(env, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return Reflect.get(target, name);
      },
      has(target, name) {
        if (typeof name === 'string') read.add(name);
        return Reflect.has(target, name);
      },
      // Listing the environment would let loadConfig read names no list can foresee.
      ownKeys() {
        throw new Error('loadConfig enumerated the environment');
      },
    });
    loadConfig(recorder);
    return [...read].sort();
  }

  it('names exactly the variables loadConfig reads, with defaults and with the production and telephony branches taken', () => {
    const listed = [...CONFIG_VARIABLES].sort();
    expect(variablesRead({})).toEqual(listed);
    expect(variablesRead({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: STRONG_KEY, ROOM_TELEPHONY_ENABLED: 'true' })).toEqual(listed);
  });
});

describe('TRUST_PROXY', () => {
  it('is a boolean, or the proxies whose X-Forwarded-For is believed (addresses, ranges, proxy-addr names)', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'yes' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,loopback, fd00::/8' }).trustProxy).toEqual(['10.0.0.1', '10.1.0.0/16', 'loopback', 'fd00::/8']);
    for (const value of ['proxy.example', '10.0.0.0/33', '10.0.0.1/8/8', 'fd00::/129', ',', 'maybe']) expectRefused({ TRUST_PROXY: value }, 'TRUST_PROXY');
  });
});

describe('REDIS_URL', () => {
  it('a refused value is not repeated in the message (it may hold a password)', () => {
    for (const value of ['http://:hunter2-secret@redis.internal:6379', 'redis//:hunter2-secret@x']) {
      const error = refusal({ REDIS_URL: value });
      expect(error.message).toContain('REDIS_URL');
      expect(error.message).not.toContain('hunter2-secret');
    }
    expect(loadConfig({ REDIS_URL: 'redis://:pw@127.0.0.1:6379/0' }).redisUrl).toBe('redis://:pw@127.0.0.1:6379/0');
  });
});
