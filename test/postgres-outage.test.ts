/**
 * PostgreSQL outage: a TCP relay stands between the server and the real database, so the
 * test can cut the database off and bring it back without disturbing other tests.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, TEST_STORE, call, createClient, getToken, useFreshDatabase, useServer } from './helpers.js';
import { Relay } from './support/relay.js';

describe.skipIf(TEST_STORE !== 'postgres')('PostgreSQL outage', () => {
  const fresh = useFreshDatabase();
  let relay: Relay;
  beforeAll(async () => {
    const real = new URL(fresh.url);
    relay = new Relay({ host: real.hostname, port: Number(real.port || 5432) });
    await relay.start();
  });
  afterAll(async () => {
    await relay?.stop().catch(() => {});
  });

  // The server reaches the database through the relay, so the test can cut it off.
  const server = useServer({ DATABASE_STATEMENT_TIMEOUT_MS: '1000' }, {
    databaseUrl: () => {
      const relayed = new URL(fresh.url);
      relayed.port = String(relay.port);
      return relayed.toString();
    },
  });
  let token: string;
  beforeAll(async () => {
    await server.services.users.createUser({ email: 'ada@example.com' });
    token = await getToken(server, await createClient(server), 'ada@example.com');
  });

  it('answers 503 JSON while the database is unreachable, then recovers by itself', async () => {
    expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
    await relay.stop();

    for (const [method, path] of [
      ['GET', `${API}/rooms/`],
      ['POST', `${API}/rooms/`],
      ['GET', `${API}/rooms/00000000-0000-4000-8000-000000000000/`],
    ] as const) {
      const started = Date.now();
      const answer = await call(server, method, path, { token });
      expect(answer.status, `${method} ${path}`).toBe(503);
      expect(answer.json).toEqual({ detail: 'Service temporarily unavailable.' });
      expect(Date.now() - started).toBeLessThan(3000);
    }
    const tokenAnswer = await call(server, 'POST', `${API}/application/token/`, {
      json: { client_id: 'x', client_secret: 'y', grant_type: 'client_credentials', scope: 'ada@example.com' },
    });
    expect(tokenAnswer.status).toBe(503);
    expect(tokenAnswer.json).toEqual({ detail: 'Service temporarily unavailable.' });

    const ready = await call(server, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect((await call(server, 'GET', '/healthz')).status).toBe(200);

    await relay.start();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await call(server, 'GET', `${API}/rooms/`, { token })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await call(server, 'GET', '/readyz')).status).toBe(200);
    expect((await call(server, 'POST', `${API}/rooms/`, { token })).status).toBe(201);
  });

  it('answers 503 within the timeout when the database stops answering without closing', async () => {
    expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
    relay.blackhole = true;
    try {
      const started = Date.now();
      const answer = await call(server, 'GET', `${API}/rooms/`, { token });
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ detail: 'Service temporarily unavailable.' });
      // DATABASE_STATEMENT_TIMEOUT_MS=1000: the connect or read timeout fires, never a hang.
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      relay.blackhole = false;
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await call(server, 'GET', `${API}/rooms/`, { token })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });
});

/** Runs one statement as the administrator of the test PostgreSQL server. */
async function asAdministrator(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

describe.skipIf(TEST_STORE !== 'postgres')('PostgreSQL refusing new connections', () => {
  const server = useServer({ DATABASE_STATEMENT_TIMEOUT_MS: '1000' });
  let token: string;
  let database: string;
  beforeAll(async () => {
    database = new URL(server.databaseUrl).pathname.slice(1);
    await server.services.users.createUser({ email: 'ada@example.com' });
    token = await getToken(server, await createClient(server), 'ada@example.com');
  });

  /** Forces the server's pool to open new connections: its current ones are ended. */
  const endServerConnections = () =>
    asAdministrator(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`);

  const expectUnavailable = async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await call(server, 'GET', `${API}/rooms/`, { token });
      expect({ status: answer.status, body: answer.json }).toEqual({ status: 503, body: { detail: 'Service temporarily unavailable.' } });
    }
    expect((await call(server, 'GET', '/readyz')).status).toBe(503);
  };

  // (CONNECTION LIMIT 0, SQLSTATE 53300, spares superusers such as the tests' role: not reproducible here.)
  it('ALLOW_CONNECTIONS false (SQLSTATE 55000): 503 with the API\'s body, then served again without a restart', async () => {
    expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
    await asAdministrator(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    try {
      await endServerConnections();
      await expectUnavailable();
    } finally {
      await asAdministrator(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    }
    expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
  });

  it('the database dropped (SQLSTATE 3D000): 503, never a 500', async () => {
    await asAdministrator(`DROP DATABASE ${database} WITH (FORCE)`);
    await expectUnavailable();
  });
});
