/**
 * The server as operators run it: `node dist/server.js` as a child process, in a temporary
 * working directory, on a real port, configured only through its environment (README, "Configuration").
 * Start on the SQLite default with a generated signing key that survives restarts,
 * refusal to start on bad configuration, graceful stop on SIGTERM, and JSON logs that
 * never carry a credential.
 *
 * Needs `npm run build` first (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { prepareDatabase } from '../src/db/layout.js';
import { createLogger } from '../src/logger.js';
import { API, TEST_LAYOUT, call, childEnv, createTestServices, freePort, layoutEnv } from './helpers.js';

/**
 * The server process as operators run it, on an SQLite file (the default store), whatever
 * the store under test: the meet layout refuses SQLite (test/meet-layout.test.ts checks
 * that refusal and starts the server on Meet's schema), so these run in the native layout only.
 */
const ON_SQLITE_DEFAULT = TEST_LAYOUT === 'native';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = path.join(ROOT, 'dist', 'server.js');
const TOKEN = `${API}/application/token/`;
const KEY = 'server-process-test-key-0123456789abcdefghijklmnop';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-process-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface ServerProcess {
  child: ChildProcess;
  origin: string;
  port: number;
  cwd: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<Exit>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function spawnServer(cwd: string, env: Record<string, string>, port: number): ServerProcess {
  const child = spawn(process.execPath, [SERVER], { cwd, env: childEnv({ HOST: '127.0.0.1', PORT: String(port), ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    origin: `http://127.0.0.1:${port}`,
    port,
    cwd,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until /healthz answers 200; fails with the child's output when it exits first. */
async function waitUntilServing(server: ServerProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited before serving:\n${server.stderr()}\n${server.stdout()}`);
    try {
      const response = await fetch(`${server.origin}/healthz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not answer /healthz within ${timeoutMs} ms:\n${server.stderr()}\n${server.stdout()}`);
}

async function startServer(cwd: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = spawnServer(cwd, env, await freePort());
  await waitUntilServing(server);
  return server;
}

/** A start that must fail: the exit status and everything the process wrote. */
async function failedStart(env: Record<string, string>): Promise<Exit & { output: string; dir: string }> {
  const dir = tempDir();
  const server = spawnServer(dir, env, await freePort());
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  const exit = await server.exited;
  clearTimeout(timer);
  return { ...exit, output: `${server.stderr()}\n${server.stdout()}`, dir };
}

/** A user and an application written straight into the server's database file. */
async function seed(databaseUrl: string, email: string) {
  const config = loadConfig({ DATABASE_URL: databaseUrl, ...layoutEnv() });
  const database = openDatabase(config);
  try {
    await prepareDatabase(database, config);
    const services = createTestServices(database, config, createLogger('silent'));
    await services.users.createUser({ email });
    const { application, secret } = await services.applications.createApplication({
      name: 'process test',
      scopes: ['rooms:list', 'rooms:retrieve', 'rooms:create'],
    });
    return { clientId: application.clientId, secret };
  } finally {
    await database.close();
  }
}

async function countRooms(databaseUrl: string): Promise<number> {
  const config = loadConfig({ DATABASE_URL: databaseUrl, ...layoutEnv() });
  const database = openDatabase(config);
  try {
    return (await createTestServices(database, config, createLogger('silent')).rooms.listAllRooms()).length;
  } finally {
    await database.close();
  }
}

async function requestToken(server: Pick<ServerProcess, 'origin'>, client: { clientId: string; secret: string }, email: string) {
  const answer = await call(server, 'POST', TOKEN, {
    json: { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email },
  });
  expect(answer.status, answer.text).toBe(200);
  return answer.json.access_token as string;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`log line is not JSON: ${line}`);
      }
    });
}

describe.runIf(ON_SQLITE_DEFAULT)('first start on the SQLite default, without a signing key, outside production', () => {
  it('generates data/jwt-secret.key (0600) with one warning, and reuses it: a token survives a restart', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'data', 'jwt-secret.key');

    const first = await startServer(dir);
    // The default DATABASE_URL, sqlite:./data/meet.db, relative to the working directory.
    expect(fs.existsSync(path.join(dir, 'data', 'meet.db'))).toBe(true);
    expect(fs.existsSync(keyFile)).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = fs.readFileSync(keyFile, 'utf8');
    expect(key.trim().length).toBeGreaterThanOrEqual(32);

    const client = await seed(`sqlite:${path.join(dir, 'data', 'meet.db')}`, 'ada@example.org');
    const token = await requestToken(first, client, 'ada@example.org');
    const created = await call(first, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);

    expect(await first.stop()).toEqual({ code: 0, signal: null });
    const warnings = jsonLines(first.stdout()).filter((line) => Number(line.level) >= 40);
    expect(warnings, first.stdout()).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain('APPLICATION_JWT_SECRET_KEY');

    const second = await startServer(dir);
    try {
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(key);
      const listed = await call(second, 'GET', `${API}/rooms/`, { token });
      expect(listed.status, listed.text).toBe(200);
      expect(listed.json.results.map((room: { id: string }) => room.id)).toEqual([created.json.id]);
      // A token the restarted server issues is accepted too (same key, no second key file).
      const fresh = await requestToken(second, client, 'ada@example.org');
      expect((await call(second, 'GET', `${API}/rooms/`, { token: fresh })).status).toBe(200);
      expect(fs.readdirSync(path.join(dir, 'data')).filter((name) => name.includes('jwt'))).toEqual(['jwt-secret.key']);
    } finally {
      expect(await second.stop()).toEqual({ code: 0, signal: null });
    }
    expect(jsonLines(second.stdout()).filter((line) => Number(line.level) >= 40).length).toBeLessThanOrEqual(1);
  });

  it('with APPLICATION_JWT_SECRET_KEY set, generates no key file and warns about nothing', async () => {
    const dir = tempDir();
    const server = await startServer(dir, { APPLICATION_JWT_SECRET_KEY: KEY });
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(dir, 'data', 'jwt-secret.key'))).toBe(false);
    expect(jsonLines(server.stdout()).filter((line) => Number(line.level) >= 40)).toEqual([]);
  });
});

describe.runIf(ON_SQLITE_DEFAULT)('refusing to start', () => {
  it('NODE_ENV=production without APPLICATION_JWT_SECRET_KEY exits non-zero naming the variable, generating no key', async () => {
    const result = await failedStart({ NODE_ENV: 'production' });
    expect(result.signal).toBeNull();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('APPLICATION_JWT_SECRET_KEY');
    expect(fs.existsSync(path.join(result.dir, 'data', 'jwt-secret.key'))).toBe(false);
  });

  it('NODE_ENV=production with a key shorter than 32 bytes exits non-zero naming the variable', async () => {
    const result = await failedStart({ NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: 'k'.repeat(31) });
    expect(result.code).not.toBe(0);
    expect(result.signal).toBeNull();
    expect(result.output).toContain('APPLICATION_JWT_SECRET_KEY');
  });

  it('a variable that does not parse exits non-zero naming it', async () => {
    const cases: [string, string][] = [
      ['ROOM_TELEPHONY_ENABLED', 'maybe'],
      ['APPLICATION_JWT_EXPIRATION_SECONDS', 'an hour'],
      ['ROOM_TELEPHONY_PIN_LENGTH', '3'],
    ];
    const results = await Promise.all(cases.map(([name, value]) => failedStart({ APPLICATION_JWT_SECRET_KEY: KEY, [name]: value })));
    results.forEach((result, i) => {
      const [name] = cases[i]!;
      expect(result.code, name).not.toBe(0);
      expect(result.signal, name).toBeNull();
      expect(result.output, name).toContain(name);
    });
  });
});

describe.runIf(ON_SQLITE_DEFAULT)('SIGTERM: graceful stop', () => {
  it('a request in flight when SIGTERM arrives completes; new connections are refused; the process exits 0', async () => {
    const dir = tempDir();
    const databaseUrl = `sqlite:${path.join(dir, 'meet.db')}`;
    const server = await startServer(dir, { DATABASE_URL: databaseUrl, APPLICATION_JWT_SECRET_KEY: KEY });
    const client = await seed(databaseUrl, 'grace@example.org');

    // A token request whose body arrives in two halves, with SIGTERM in between.
    const body = JSON.stringify({
      client_id: client.clientId,
      client_secret: client.secret,
      grant_type: 'client_credentials',
      scope: 'grace@example.org',
    });
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // Expect: 100-continue makes the server say when it has read the request head, so the
    // signal is sent while the request is provably in flight (head read, body pending).
    const headRead = new Promise<void>((resolve) => {
      const check = () => (answer.includes('100 Continue') ? resolve() : setTimeout(check, 10));
      check();
    });
    socket.write(
      `POST ${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n${body.slice(0, 20)}`,
    );
    await headRead;
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Still finishing the request in flight, but no longer accepting connections.
    expect(server.child.exitCode).toBeNull();
    const refused = await new Promise<string>((resolve) => {
      const probe = net.connect(server.port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    // write, not end: a client half-close (FIN) makes Node abort the request it belongs to.
    socket.write(body.slice(20));
    await ended;
    const final = answer.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    const [head, payload] = final.split('\r\n\r\n');
    expect(head, `answer: ${JSON.stringify(answer)}\nexit: ${server.child.exitCode}\nstderr: ${server.stderr()}\nstdout: ${server.stdout()}`).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(payload!)).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('under a burst of room creations, every answered 201 is stored and nothing is stored unanswered', async () => {
    const dir = tempDir();
    const databaseUrl = `sqlite:${path.join(dir, 'meet.db')}`;
    const server = await startServer(dir, { DATABASE_URL: databaseUrl, APPLICATION_JWT_SECRET_KEY: KEY });
    const client = await seed(databaseUrl, 'burst@example.org');
    const token = await requestToken(server, client, 'burst@example.org');

    // Each request on its own connection (Connection: close), so a refused one is refused
    // at connect time rather than lost on a shared keep-alive socket.
    const post = () =>
      new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
        const socket = net.connect(server.port, '127.0.0.1');
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? 'error' }));
        socket.on('close', () => {
          if (text === '') return resolve({ error: 'closed without answer' });
          const [head, payload] = text.split('\r\n\r\n');
          resolve({ status: Number(head!.split(' ')[1]), body: payload ?? '' });
        });
        socket.write(
          `POST ${API}/rooms/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
            'Content-Length: 0\r\nConnection: close\r\n\r\n',
        );
      });

    const pending: Promise<{ status: number; body: string } | { error: string }>[] = [];
    for (let i = 0; i < 10; i++) pending.push(post());
    await pending[0];
    server.child.kill('SIGTERM');
    for (let i = 0; i < 30; i++) pending.push(post());
    const results = await Promise.all(pending);
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const answered = results.filter((r): r is { status: number; body: string } => 'status' in r);
    expect(results[0]).toMatchObject({ status: 201 });
    // Answered: created, or (a request read after the stop began) 503; always a JSON body.
    for (const result of answered) {
      expect([201, 503], result.body).toContain(result.status);
      expect(() => JSON.parse(result.body), result.body).not.toThrow();
    }
    // Not answered: turned away at the connection (refused, or reset before being read).
    for (const result of results) if ('error' in result) expect(['ECONNREFUSED', 'ECONNRESET']).toContain(result.error);
    // Nothing half-done: exactly the rooms whose 201 reached the client exist.
    const created = answered.filter((r) => r.status === 201).length;
    expect(await countRooms(databaseUrl)).toBe(created);
  });

  it('killed outright (SIGKILL) in the middle of creations: every room whose 201 reached a client exists', async () => {
    const dir = tempDir();
    const databaseUrl = `sqlite:${path.join(dir, 'meet.db')}`;
    const server = await startServer(dir, { DATABASE_URL: databaseUrl, APPLICATION_JWT_SECRET_KEY: KEY, LOG_LEVEL: 'warn' });
    const client = await seed(databaseUrl, 'killed@example.org');
    const token = await requestToken(server, client, 'killed@example.org');

    // 32 clients creating rooms back to back, as fast as the server answers, until it dies.
    const acknowledged: string[] = [];
    let killed = false;
    const creator = async () => {
      while (!killed) {
        const answer = await call(server, 'POST', `${API}/rooms/`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
        if (answer === undefined) return; // the connection died with the server
        if (answer.status === 201) acknowledged.push(answer.json.id);
        if (acknowledged.length >= 300 && !killed) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, creator));
    expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const config = loadConfig({ DATABASE_URL: databaseUrl, ...layoutEnv() });
    const database = openDatabase(config);
    try {
      const stored = new Set((await createTestServices(database, config, createLogger('silent')).rooms.listAllRooms()).map((room) => room.id));
      const lost = acknowledged.filter((id) => !stored.has(id));
      expect(lost, 'acknowledged with 201, then missing after the crash').toEqual([]);
      expect(stored.size).toBeGreaterThanOrEqual(acknowledged.length);
    } finally {
      await database.close();
    }
  });
});

describe.runIf(ON_SQLITE_DEFAULT)('logs', () => {
  it('are JSON lines that never contain a client secret, an access token or an Authorization header value', async () => {
    const dir = tempDir();
    const databaseUrl = `sqlite:${path.join(dir, 'meet.db')}`;
    const server = await startServer(dir, { DATABASE_URL: databaseUrl, APPLICATION_JWT_SECRET_KEY: KEY, LOG_LEVEL: 'trace' });
    const client = await seed(databaseUrl, 'lin@example.org');
    const fields = { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: 'lin@example.org' };
    const wrongSecret = `Wr0ng${client.secret.slice(5)}`;
    const basic = Buffer.from(`${client.clientId}:${client.secret}`).toString('base64');

    const token = await requestToken(server, client, 'lin@example.org');
    const form = await call(server, 'POST', TOKEN, {
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(200);
    const viaBasic = await call(server, 'POST', TOKEN, {
      json: { grant_type: 'client_credentials', scope: 'lin@example.org' },
      headers: { authorization: `Basic ${basic}` },
    });
    expect(viaBasic.status).toBe(200);
    const refused = await call(server, 'POST', TOKEN, { json: { ...fields, client_secret: wrongSecret } });
    expect(refused.status).toBe(401);
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    expect((await call(server, 'GET', `${API}/rooms/`, { token: form.json.access_token })).status).toBe(200);
    expect((await call(server, 'GET', `${API}/rooms/${created.json.id}/`, { token: viaBasic.json.access_token })).status).toBe(200);
    const tampered = `${token.slice(0, -4)}AAAA`;
    expect((await call(server, 'GET', `${API}/rooms/`, { token: tampered })).status).toBe(401);
    expect(await server.stop()).toEqual({ code: 0, signal: null });

    const stdout = server.stdout();
    const lines = jsonLines(stdout);
    // Something was logged about these requests (else the check below proves nothing).
    expect(lines.length).toBeGreaterThanOrEqual(8);
    const everything = `${stdout}\n${server.stderr()}`;
    const credentials = {
      client_secret: client.secret,
      wrong_secret: wrongSecret,
      basic_header: basic,
      json_token: token,
      form_token: form.json.access_token as string,
      basic_token: viaBasic.json.access_token as string,
      tampered_token: tampered,
      // The signature alone is enough to reuse a token; a log must not hold it either.
      json_token_signature: token.split('.')[2]!,
    };
    for (const [what, value] of Object.entries(credentials)) {
      expect(everything.includes(value), `${what} appears in the logs`).toBe(false);
    }
  });
});

describe.runIf(ON_SQLITE_DEFAULT)('WORKERS=N', () => {
  it('serves from N processes sharing the port, and all of them stop gracefully on SIGTERM', async () => {
    const dir = tempDir();
    const server = await startServer(dir, { WORKERS: '2', APPLICATION_JWT_SECRET_KEY: KEY });
    // Both workers announce themselves once listening.
    const deadline = Date.now() + 20_000;
    const listeners = () => jsonLines(server.stdout()).filter((l) => l.msg === 'meet-api listening');
    while (listeners().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pids = new Set(listeners().map((l) => l.pid));
    expect(pids.size).toBe(2);
    expect(pids.has(server.child.pid)).toBe(false);
    // Requests are spread over the workers (access-log lines carry the worker's pid).
    await Promise.all(Array.from({ length: 40 }, () => fetch(`${server.origin}/healthz`).then((r) => r.arrayBuffer())));
    const exit = await server.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    const served = new Set(jsonLines(server.stdout()).filter((l) => l.msg === 'request').map((l) => l.pid));
    expect(served.size).toBeGreaterThanOrEqual(1);
    for (const pid of pids) expect(() => process.kill(pid as number, 0)).toThrow();
  });
});
