/**
 * Limits, request ids and metrics (docs/api.md, "Limits, request ids, metrics"), through
 * the real server: failed client authentication throttled per client id and address and
 * per address, each application's budget with its RateLimit-* headers, counters shared in
 * a real Redis by two server processes and failing open when it stops, X-Request-Id in
 * answers and log lines, and the Prometheus endpoint scraped as Prometheus would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { windowState } from '../src/limits/counters.js';
import { API, TEST_LAYOUT, call, createClient, createTestServices, freePort, getToken, layoutEnv, useServer, userWithToken, type CallResult, type TestServer } from './helpers.js';
import { useRedis } from './support/redis.js';
import { startServer, type ServerChild } from './support/server-process.js';

const TOKEN = `${API}/application/token/`;
const ROOMS = `${API}/rooms/`;
const TOO_MANY = { error: 'Too many failed attempts. Retry later.' };

function tokenRequest(clientId: string, secret: string, email: string, address?: string) {
  return {
    json: { client_id: clientId, client_secret: secret, grant_type: 'client_credentials', scope: email },
    ...(address === undefined ? {} : { headers: { 'x-forwarded-for': address } }),
  };
}

function expectThrottled(answer: CallResult, body: unknown): void {
  expect({ status: answer.status, body: answer.json }).toEqual({ status: 429, body });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Number(answer.headers.get('retry-after'))).toBeLessThanOrEqual(60);
}

describe('the sliding window', () => {
  it('weighs the previous minute by what is left of it, and says when the count drops below the limit', () => {
    // 30 s into a minute, 10 in the previous one and 2 in this one: 10 * 0.5 + 2 = 7.
    expect(windowState(10, 2, 30_000, 60_000, 10, true)).toMatchObject({ count: 7, resetMs: 30_000, retryAfterMs: 0 });
    // Limit 5: below it once 10 * (1 - e/60) + 2 < 5, i.e. e > 42 s: 12 s from now.
    expect(windowState(10, 2, 30_000, 60_000, 5, false).retryAfterMs).toBeCloseTo(12_000);
    // The current minute alone over the limit: not before the next one, then until it weighs less.
    expect(windowState(0, 8, 30_000, 60_000, 4, false).retryAfterMs).toBeCloseTo(30_000 + 30_000);
  });
});

describe('failed client authentication (in this process)', () => {
  const server = useServer({ RATE_LIMIT_TOKEN_FAILURES: '3', RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS: '5', TRUST_PROXY: 'true' });

  it('past the limit per client id and address: 429, even with the right secret; another address is not affected', async () => {
    const { client, email } = await userWithToken(server);
    for (let i = 0; i < 3; i++) expect((await call(server, 'POST', TOKEN, tokenRequest(client.clientId, 'wrong', email, '10.0.0.1'))).status).toBe(401);
    expectThrottled(await call(server, 'POST', TOKEN, tokenRequest(client.clientId, 'wrong', email, '10.0.0.1')), TOO_MANY);
    expectThrottled(await call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, '10.0.0.1')), TOO_MANY);
    expect((await call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, '10.0.0.2'))).status).toBe(200);
  });

  it('past the limit per address, whatever the client id; successes count for nothing', async () => {
    const { client, email } = await userWithToken(server);
    for (let i = 0; i < 5; i++) expect((await call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, '10.0.1.1'))).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call(server, 'POST', TOKEN, tokenRequest(`unknown-${i}`, 'wrong', email, '10.0.1.1'))).status).toBe(401);
    expectThrottled(await call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, '10.0.1.1')), TOO_MANY);
  });
});

/** 200 wrong guesses for one client id sent at once: no more may be checked than the limit allows. */
async function guessAllAtOnce(server: TestServer, address: string) {
  const { client, email } = await userWithToken(server);
  const answers = await Promise.all(Array.from({ length: 200 }, () => call(server, "POST", TOKEN, tokenRequest(client.clientId, "wrong", email, address))));
  const statuses = answers.map((answer) => answer.status);
  // And the right secret right after: still refused from that address, the limit is spent.
  const right = await call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, address));
  return { checked: statuses.filter((status) => status === 401).length, throttled: statuses.filter((status) => status === 429).length, right: right.status };
}

describe('guesses sent all at once (in this process)', () => {
  const server = useServer({ RATE_LIMIT_TOKEN_FAILURES: '5', RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS: '20', TRUST_PROXY: 'true' });

  it('at most the limit is checked; the rest are 429 (each attempt is reserved before the secret is checked)', async () => {
    expect(await guessAllAtOnce(server, '10.0.2.1')).toEqual({ checked: 5, throttled: 195, right: 429 });
  });

  it('a client that has authenticated from an address is not slowed by its own concurrent requests', async () => {
    const { client, email } = await userWithToken(server);
    expect((await call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, '10.0.2.2'))).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 15 }, () => call(server, 'POST', TOKEN, tokenRequest(client.clientId, client.secret, email, '10.0.2.2'))));
    expect(answers.map((answer) => answer.status)).toEqual(Array(15).fill(200));
  });
});

describe('behind a proxy named in TRUST_PROXY', () => {
  const server = useServer({ RATE_LIMIT_TOKEN_FAILURES: '3', RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS: '5', TRUST_PROXY: '127.0.0.1' });

  it('the address counted is the one the proxy saw, not one the client wrote into X-Forwarded-For', async () => {
    // Found by review: with TRUST_PROXY=true the leftmost entry, which the client writes, was the address.
    const { client, email } = await userWithToken(server);
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(server, 'POST', TOKEN, { ...tokenRequest(`unknown-${i}`, 'wrong', email), headers: { 'x-forwarded-for': `10.7.0.${i}, 10.9.9.9` } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Another address the proxy saw is not affected.
    expect((await call(server, 'POST', TOKEN, { ...tokenRequest(client.clientId, client.secret, email), headers: { 'x-forwarded-for': '10.9.9.8' } })).status).toBe(200);
  });
});

// A server process on an SQLite file: native layout only (the meet layout refuses SQLite).
describe.runIf(TEST_LAYOUT === 'native')('guesses sent all at once (counters in Redis, a server process of its own)', () => {
  const redis = useRedis();

  it('at most the limit is checked, though every count is a round trip to Redis', async () => {
    // Found by review: with check-then-count, all 200 were checked (each read the count before any failure was added).
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-limits-'));
    const env = {
      DATABASE_URL: `sqlite:${path.join(work, 'meet.db')}`,
      REDIS_URL: redis.url,
      RATE_LIMIT_TOKEN_FAILURES: '5',
      RATE_LIMIT_TOKEN_FAILURES_PER_ADDRESS: '20',
      APPLICATION_JWT_SECRET_KEY: 'key-of-the-guessing-test-0123456789abcdef',
      TRUST_PROXY: 'true',
    };
    const server = await startServer(env, work);
    try {
      const { clientId, secret, email } = await userWithTokenOn(server, env);
      const answers = await Promise.all(Array.from({ length: 200 }, () => call(server, 'POST', TOKEN, tokenRequest(clientId, 'wrong', email, '10.0.4.1'))));
      const statuses = answers.map((answer) => answer.status);
      expect({ checked: statuses.filter((status) => status === 401).length, throttled: statuses.filter((status) => status === 429).length }).toEqual({ checked: 5, throttled: 195 });
      expect((await call(server, 'POST', TOKEN, tokenRequest(clientId, secret, email, '10.0.4.1'))).status).toBe(429);
    } finally {
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('the per-application budget (in this process)', () => {
  const server = useServer({ RATE_LIMIT_APPLICATION_PER_MINUTE: '3' });

  it('RateLimit-* on every answer, 429 in DRF\'s words past the budget; another application is not affected; refused tokens spend nothing', async () => {
    const { token, email } = await userWithToken(server, undefined, ['rooms:list']);
    const noScope = await getToken(server, await createClient(server, { scopes: ['rooms:create'] }), email);
    for (let i = 0; i < 3; i++) expect((await call(server, 'GET', ROOMS, { token: noScope })).status).toBe(403);
    for (const remaining of ['2', '1', '0']) {
      const answer = await call(server, 'GET', ROOMS, { token });
      expect(answer.status).toBe(200);
      expect([answer.headers.get('ratelimit-limit'), answer.headers.get('ratelimit-remaining')]).toEqual(['3', remaining]);
      expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    }
    const throttled = await call(server, 'GET', ROOMS, { token });
    expect(throttled.status).toBe(429);
    expect(throttled.json.detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds?\.$/);
    expect(throttled.json.detail).toContain(`${throttled.headers.get('retry-after')} second`);
    expect(throttled.headers.get('ratelimit-remaining')).toBe('0');
    const other = await getToken(server, await createClient(server, { scopes: ['rooms:list'] }), email);
    expect((await call(server, 'GET', ROOMS, { token: other })).status).toBe(200);
  });
});

describe('no budget with RATE_LIMIT_APPLICATION_PER_MINUTE=0', () => {
  const server = useServer({ RATE_LIMIT_APPLICATION_PER_MINUTE: '0' });

  it('no RateLimit headers', async () => {
    const { token } = await userWithToken(server);
    const answer = await call(server, 'GET', ROOMS, { token });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit-limit')).toBeNull();
  });
});

// Server processes on SQLite files: native layout only (the meet layout refuses SQLite).
describe.runIf(TEST_LAYOUT === 'native')('counters in Redis, shared by two server processes', () => {
  const redis = useRedis();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-limits-'));
  const database = `sqlite:${path.join(work, 'meet.db')}`;
  let servers: ServerChild[] = [];

  it('one budget across both; Redis stopped: requests served (fail open), the outage logged once; back: limits again', async () => {
    const env = { DATABASE_URL: database, REDIS_URL: redis.url, RATE_LIMIT_APPLICATION_PER_MINUTE: '4', APPLICATION_JWT_SECRET_KEY: 'shared-key-of-both-instances-0123456789abcdef' };
    try {
      servers = [await startServer(env, work), await startServer(env, work)];
      const [a, b] = servers as [ServerChild, ServerChild];
      const { token } = await userWithTokenOn(a, env);
      const statuses = [];
      for (const server of [a, b, a, b, a, b]) statuses.push((await call(server, 'GET', ROOMS, { token })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);

      await redis.stop();
      const served = [];
      for (let i = 0; i < 5; i++) {
        const answer = await call(i % 2 === 0 ? a : b, 'GET', ROOMS, { token });
        served.push({ status: answer.status, limited: answer.headers.get('ratelimit-limit') });
      }
      expect(served).toEqual(Array(5).fill({ status: 200, limited: null }));
      expect(a.output().split('\n').filter((line) => line.includes('rate_limit.store_unavailable'))).toHaveLength(1);

      await redis.start();
      let status = 0;
      for (let i = 0; i < 100 && status !== 429; i++) {
        status = (await call(a, 'GET', ROOMS, { token })).status;
        if (status !== 429) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe(429);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

/** A user, an application and a token on a server process, made through the CLI's database (the same file). */
async function userWithTokenOn(server: ServerChild, env: Record<string, string>) {
  const { loadConfig } = await import('../src/config.js');
  const { openDatabase } = await import('../src/db/database.js');
  const { createLogger } = await import('../src/logger.js');
  const config = loadConfig({ ...layoutEnv(), ...env });
  const database = openDatabase(config);
  try {
    const services = createTestServices(database, config, createLogger('silent'));
    const email = `limits-${randomUUID().slice(0, 8)}@example.com`;
    await services.users.createUser({ email });
    const { application, secret } = await services.applications.createApplication({ name: 'limits', scopes: ['rooms:list', 'rooms:retrieve'] });
    return { token: await getToken(server, { clientId: application.clientId, secret }, email), clientId: application.clientId, secret, email };
  } finally {
    await database.close();
  }
}

describe('request ids', () => {
  const server = useServer();

  it('a sane X-Request-Id is kept, anything else replaced by a UUID; the id is in every log line of the request, audit included', async () => {
    const { token } = await userWithToken(server);
    const kept = await call(server, 'POST', ROOMS, { token, headers: { 'x-request-id': 'trace-42.a:b_c-d' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a:b_c-d');
    const lines = server.logs.lines.filter((line) => line.reqId === 'trace-42.a:b_c-d');
    expect(lines.map((line) => line.event ?? line.msg)).toEqual(['room.created', 'request']);

    for (const given of ['has space', 'x'.repeat(129), 'semi;colon', '']) {
      const answer = await call(server, 'GET', '/healthz', { headers: { 'x-request-id': given } });
      expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const a = await call(server, 'GET', '/nowhere');
    const b = await call(server, 'GET', '/nowhere');
    expect(a.json).toEqual({ detail: 'Not found.' });
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });
});

// Server processes on SQLite files: native layout only (the meet layout refuses SQLite).
describe.runIf(TEST_LAYOUT === 'native')('metrics on METRICS_PORT', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-metrics-'));

  for (const workers of ['1', '2']) {
    it(`WORKERS=${workers}: Prometheus text with requests by route template, token outcomes, rooms created, store connections, process metrics`, async () => {
      const metricsPort = await freePort();
      const env = {
        DATABASE_URL: `sqlite:${path.join(work, `metrics-${workers}.db`)}`,
        METRICS_PORT: String(metricsPort),
        WORKERS: workers,
        APPLICATION_JWT_SECRET_KEY: 'metrics-key-0123456789abcdef0123456789abcdef',
      };
      const server = await startServer(env, work);
      try {
        const { token } = await userWithTokenOn(server, env);
        await call(server, 'POST', TOKEN, tokenRequest('nobody', 'wrong', 'x@example.com'));
        for (let i = 0; i < 3; i++) await call(server, 'GET', `${ROOMS}${randomUUID()}/`, { token });
        await call(server, 'GET', '/made-up/path');
        expect((await call(server, 'GET', '/metrics')).status).toBe(404);

        const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(scraped.status).toBe(200);
        expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
        const text = await scraped.text();
        expect(text).toMatch(/http_requests_total\{method="GET",route="\/external-api\/v1\.0\/rooms\/:id\/",status="404"\} 3/);
        // The made-up path and /metrics asked on the API's port.
        expect(text).toMatch(/http_requests_total\{method="GET",route="not_found",status="404"\} 2/);
        expect(text).not.toMatch(/route="\/external-api\/v1\.0\/rooms\/[0-9a-f]{8}-/);
        expect(text).toMatch(/token_requests_total\{outcome="issued"\} 1/);
        expect(text).toMatch(/token_requests_total\{outcome="invalid_credentials"\} 1/);
        expect(text).toMatch(/http_request_duration_seconds_bucket\{le="[0-9.]+",route="\/external-api\/v1\.0\/application\/token\/"\}/);
        expect(text).toMatch(/db_connections\{state="open"\} \d+/);
        expect(text).toMatch(/process_cpu_seconds_total/);
        expect(text).toMatch(/^# TYPE rooms_created_total counter$/m);
      } finally {
        await server.stop();
      }
    });
  }
});
