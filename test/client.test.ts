/**
 * The typed client (packages/client) against the real server over a real port, with the
 * platform's fetch: token caching and refresh, the server's own `401 Token expired.`,
 * every page of the rooms, typed errors, and real `503`s (a write lock held from another
 * connection) retried as Retry-After asks.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeetApiError, MeetClient, type MeetClientOptions, type RetryEvent, type Room } from '../packages/client/src/index.js';
import { API, TEST_LAYOUT, TEST_STORE, createClient, startTestServer, type TestServer } from './helpers.js';

const TOKEN_PATH = `${API}/application/token/`;
const ROOMS_PATH = `${API}/rooms/`;
const EVERY_SCOPE = ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete'];

interface SentRequest {
  method: string;
  path: string;
  status: number;
}

/**
 * The real fetch, recording what went out and what came back. `afterAnswer` runs before
 * the client sees the answer (the 503 tests release their lock there).
 */
function recordingFetch(afterAnswer: (response: Response) => Promise<void> = async () => {}) {
  const sent: SentRequest[] = [];
  return {
    sent,
    count: (method: string, path: string) => sent.filter((r) => r.method === method && r.path === path).length,
    async fetch(request: Request): Promise<Response> {
      const response = await fetch(request);
      sent.push({ method: request.method, path: new URL(request.url).pathname, status: response.status });
      await afterAnswer(response);
      return response;
    },
  };
}

/** A fresh user and application on `server`, and a client acting for them through a recording fetch. */
async function clientFor(
  server: TestServer,
  options: Partial<MeetClientOptions> & { scopes?: string[]; afterAnswer?: (response: Response) => Promise<void> } = {},
) {
  const { scopes = EVERY_SCOPE, afterAnswer, ...clientOptions } = options;
  const email = `client-${randomBytes(4).toString('hex')}@example.com`;
  await server.services.users.createUser({ email });
  const application = await createClient(server, { scopes });
  const recorder = recordingFetch(afterAnswer);
  const client = new MeetClient({
    baseUrl: server.origin,
    clientId: application.clientId,
    clientSecret: application.secret,
    email,
    fetch: recorder.fetch,
    ...clientOptions,
  });
  return { client, recorder };
}

/** Rejection of `promise` as a MeetApiError (fails the test if it resolves or throws anything else). */
async function apiError(promise: Promise<unknown>): Promise<MeetApiError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MeetApiError);
  return error as MeetApiError;
}

/** Resolves once the wall clock has moved to the next millisecond (rooms created in one millisecond tie on created_at). */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() === start) await new Promise((resolve) => setImmediate(resolve));
}

/** A server of its own for the enclosing describe block: started before its tests, closed after them. */
function serverForBlock(env: Record<string, string> = {}): () => TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(env);
  });
  afterAll(() => server?.close());
  return () => {
    if (server === undefined) throw new Error('the server starts in beforeAll');
    return server;
  };
}

describe('tokens', () => {
  const server = serverForBlock();

  it('fetches one token and reuses it for every call, concurrent first calls included', async () => {
    const { client, recorder } = await clientFor(server());
    const [first, second] = await Promise.all([client.createRoom(), client.createRoom(), client.listRooms()]);
    await client.getRoom(first.slug);
    await client.updateRoom(second.id, { attendees: ['ada@example.com'] });
    await client.deleteRoom(first.id);

    expect(recorder.count('POST', TOKEN_PATH)).toBe(1);
    expect(recorder.sent).toHaveLength(7);
  });

  it('takes a new token once the cached one is within the margin of its expiry', async () => {
    let now = Date.UTC(2030, 0, 1);
    const { client, recorder } = await clientFor(server(), { now: () => now, tokenRefreshMarginSeconds: 60 });
    const lifetimeMs = server().config.jwt.expirationSeconds * 1000;

    await client.listRooms();
    now += lifetimeMs - 61_000;
    await client.listRooms();
    expect(recorder.count('POST', TOKEN_PATH)).toBe(1);

    now += 2_000; // 59 s left: inside the margin
    await client.listRooms();
    await client.listRooms();
    expect(recorder.count('POST', TOKEN_PATH)).toBe(2);
  });
});

describe('a token the server calls expired', () => {
  // The server reads `exp` in whole seconds: a 2-second token is good for at least one
  // second after it is issued, so only the wait below can outlive it.
  const server = serverForBlock({ APPLICATION_JWT_EXPIRATION_SECONDS: '2' });

  it('is replaced once and the call is sent again', async () => {
    // A stopped clock: the client believes its token is fresh long after the server stops accepting it.
    const stopped = Date.now();
    const { client, recorder } = await clientFor(server(), { now: () => stopped, tokenRefreshMarginSeconds: 0 });
    const room = await client.createRoom();
    await new Promise((resolve) => setTimeout(resolve, 2_100));

    expect((await client.getRoom(room.id)).id).toBe(room.id);
    expect(recorder.sent).toEqual([
      { method: 'POST', path: TOKEN_PATH, status: 200 },
      { method: 'POST', path: ROOMS_PATH, status: 201 },
      { method: 'GET', path: `${ROOMS_PATH}${room.id}/`, status: 401 },
      { method: 'POST', path: TOKEN_PATH, status: 200 },
      { method: 'GET', path: `${ROOMS_PATH}${room.id}/`, status: 200 },
    ]);
  });
});

describe('rooms and errors', () => {
  const server = serverForBlock();

  it('iterates over every page: 45 rooms at 20 a page, each once, newest first', async () => {
    const { client, recorder } = await clientFor(server());
    const created: Room[] = [];
    for (let i = 0; i < 45; i++) {
      await nextMillisecond();
      created.push(await client.createRoom());
    }

    const seen: string[] = [];
    for await (const room of client.rooms({ pageSize: 20 })) seen.push(room.id);

    expect(seen).toEqual(created.map((room) => room.id).reverse());
    expect(recorder.count('GET', ROOMS_PATH)).toBe(3);
  });

  it('throws MeetApiError with the status and the typed body: 403, 404, and the token endpoint', async () => {
    const { client: listOnly } = await clientFor(server(), { scopes: ['rooms:list'] });
    const forbidden = await apiError(listOnly.createRoom());
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ detail: 'Insufficient permissions. Required scope: rooms:create' });
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');

    const { client } = await clientFor(server());
    const missing = await apiError(client.getRoom('zzz-zzzz-zzz'));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: 'Not found.' });
    expect(missing.detail).toBe('Not found.');

    const stranger = new MeetClient({ baseUrl: server().origin, clientId: 'nobody', clientSecret: 'wrong', email: 'x@example.com' });
    const refused = await apiError(stranger.listRooms());
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'Invalid credentials' });
    expect(refused.detail).toBeUndefined();
  });
});

/**
 * Holds the write lock on rooms from a connection of its own, as another process would:
 * on SQLite the database's write lock, on PostgreSQL an EXCLUSIVE lock on the table
 * (reads, such as the token checks, still pass).
 */
async function holdRoomsWriteLock(server: TestServer): Promise<() => Promise<void>> {
  if (TEST_STORE === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(server.databaseUrl.slice('sqlite:'.length));
    db.exec('BEGIN IMMEDIATE');
    return async () => {
      db.exec('ROLLBACK');
      db.close();
    };
  }
  const db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  await db.query('BEGIN');
  // The table a room creation writes first, in either layout.
  await db.query(`LOCK TABLE ${TEST_LAYOUT === 'meet' ? 'meet_room' : 'rooms'} IN EXCLUSIVE MODE`);
  return async () => {
    await db.query('ROLLBACK');
    await db.end();
  };
}

describe('503 with Retry-After', () => {
  // Writes give up on a held lock after 100 ms and answer 503 with Retry-After: 5.
  const server = serverForBlock({ DATABASE_STATEMENT_TIMEOUT_MS: '100' });

  it('is retried after the wait the server asks for (capped), and the retry succeeds', async () => {
    let release: (() => Promise<void>) | undefined;
    const retries: RetryEvent[] = [];
    const { client, recorder } = await clientFor(server(), {
      maxRetryWaitMs: 200,
      onRetry: (event) => retries.push(event),
      // The lock goes once the client holds its first 503, so the retry finds the database free.
      afterAnswer: async (response) => {
        if (response.status !== 503 || release === undefined) return;
        await release();
        release = undefined;
      },
    });
    await client.listRooms(); // the token, before the lock
    release = await holdRoomsWriteLock(server());

    const started = Date.now();
    const room = await client.createRoom();

    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(retries).toEqual([
      { method: 'POST', url: `${server().origin}${ROOMS_PATH}`, status: 503, retryAfterSeconds: 5, waitMs: 200, retry: 1 },
    ]);
    expect(recorder.sent.filter((r) => r.path === ROOMS_PATH && r.method === 'POST').map((r) => r.status)).toEqual([503, 201]);
    expect((await client.getRoom(room.id)).id).toBe(room.id);
  });

  it('is thrown as MeetApiError after the last allowed retry', async () => {
    const retries: RetryEvent[] = [];
    const { client, recorder } = await clientFor(server(), { maxRetries: 2, maxRetryWaitMs: 10, onRetry: (event) => retries.push(event) });
    await client.listRooms();
    const release = await holdRoomsWriteLock(server());
    try {
      const error = await apiError(client.createRoom());
      expect(error.status).toBe(503);
      expect(error.body).toEqual({ detail: 'Service temporarily unavailable.' });
      expect(error.headers.get('retry-after')).toBe('5');
    } finally {
      await release();
    }
    expect(retries.map((event) => [event.retry, event.retryAfterSeconds])).toEqual([
      [1, 5],
      [2, 5],
    ]);
    expect(recorder.count('POST', ROOMS_PATH)).toBe(3);
  });
});
