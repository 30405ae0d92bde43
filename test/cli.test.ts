/**
 * README "Command line": the `meet-api` command as operators run it, `node bin/meet-api.js ...` in a
 * child process, configured by its environment (DATABASE_URL from useFreshDatabase(), so
 * SQLite or PostgreSQL like the rest of the suite). Every command, its --json document,
 * its refusals (non-zero exit, a message on stderr, nothing on stdout, nothing written),
 * and what it does seen from the outside: the real server, run as a second child process
 * on the same database, issues tokens with the credentials the CLI printed and shows the
 * rooms the CLI created.
 *
 * Needs `npm run build` first (npm test does it): bin/meet-api.js runs dist/cli/index.js.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import SQLite from 'better-sqlite3';
import { viewRoom } from '../src/rooms/room-view.js';
import { viewUser } from '../src/users/users.service.js';
import { API, TEST_STORE, call, childEnv, layoutEnv, createClient, freePort, getToken, useFreshDatabase, useServer, type CallResult, type Client } from './helpers.js';
import { renameStoredApplication, storedAccesses } from './support/stored.js';
import { startServer, type ServerChild } from './support/server-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'meet-api.js');
const TOKEN = `${API}/application/token/`;
const KEY = 'cli-test-signing-key-0123456789abcdefghijklmnopqrstuv';
const BASE_URL = 'https://meet.example.org';
const PHONE = '+1-555-0100';

const APP_KEYS = ['client_id', 'client_secret', 'domains', 'id', 'is_active', 'name', 'scopes'];
const APP_KEYS_WITHOUT_SECRET = APP_KEYS.filter((k) => k !== 'client_secret');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALNUM = (n: number) => new RegExp(`^[A-Za-z0-9]{${n}}$`);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-cli-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One `meet-api` invocation in its own process. */
function meetApi(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: workDir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function describeRun(run: Run): string {
  return `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}

/** A successful --json command: exit 0 and stdout exactly one JSON document. */
function parsed(run: Run): any {
  expect(run.code, describeRun(run)).toBe(0);
  return JSON.parse(run.stdout);
}

/** A refused command: non-zero exit, a message (not a crash) on stderr, nothing on stdout. */
function expectRefused(run: Run, ...mentions: string[]): void {
  expect(run.code, describeRun(run)).not.toBe(0);
  expect(run.code, describeRun(run)).not.toBeNull();
  expect(run.stdout, describeRun(run)).toBe('');
  expect(run.stderr.trim(), describeRun(run)).not.toBe('');
  expect(run.stderr, 'a message, not a stack trace').not.toMatch(/\n\s+at .*:\d+:\d+/);
  for (const mention of mentions) expect(run.stderr).toContain(mention);
}

/** `node dist/server.js` in the work folder, on a free port, once /healthz answers. */
const startServerProcess = (env: Record<string, string>) => startServer(env, workDir);

function requestToken(server: Pick<ServerChild, 'origin'>, clientId: string, secret: string, email: string): Promise<CallResult> {
  return call(server, 'POST', TOKEN, {
    json: { client_id: clientId, client_secret: secret, grant_type: 'client_credentials', scope: email },
  });
}

describe('meet-api on a database of its own', () => {
  const db = useFreshDatabase();
  let env: Record<string, string>;
  const run = (...args: string[]) => meetApi(env, ...args);

  beforeAll(() => {
    env = { DATABASE_URL: db.url, APPLICATION_JWT_SECRET_KEY: KEY };
  });

  it('migrate creates the schema on an empty database, and runs again without harm', async () => {
    const first = await run('migrate');
    expect(first.code, describeRun(first)).toBe(0);
    const second = await run('migrate', '--json');
    parsed(second);
  });

  it('refused input exits non-zero with a message on stderr, prints nothing and writes nothing', async () => {
    const owner = parsed(await run('users', 'create', '--email', 'owner@refusals.org', '--json'));
    const [unknownScope, badLevel, unknownOwner, badConfig] = await Promise.all([
      run('apps', 'create', '--name', 'Nope', '--scopes', 'rooms:list,rooms:bogus', '--json'),
      run('rooms', 'create', '--owner', 'owner@refusals.org', '--access-level', 'secret', '--json'),
      run('rooms', 'create', '--owner', 'nobody@refusals.org', '--json'),
      meetApi({ ...env, ROOM_TELEPHONY_ENABLED: 'maybe' }, 'users', 'create', '--email', 'late@refusals.org', '--json'),
    ]);
    expectRefused(unknownScope, 'rooms:bogus');
    expectRefused(badLevel, 'secret');
    expectRefused(unknownOwner, 'nobody@refusals.org');
    expectRefused(badConfig, 'ROOM_TELEPHONY_ENABLED');

    const [apps, users, rooms] = await Promise.all([
      run('apps', 'list', '--json'),
      run('users', 'list', '--json'),
      run('rooms', 'list', '--json'),
    ]);
    expect(parsed(apps)).toEqual([]);
    // Not even the user the command refused for its bad configuration was created.
    expect(parsed(users)).toEqual([owner]);
    expect(parsed(rooms)).toEqual([]);
  });
});

describe('meet-api and the server on one database', () => {
  const db = useFreshDatabase();
  let env: Record<string, string>;
  let server: ServerChild;
  /** An application with the scopes the rooms API needs. */
  let helper: { client_id: string; client_secret: string };
  const run = (...args: string[]) => meetApi(env, ...args);

  beforeAll(async () => {
    env = {
      DATABASE_URL: db.url,
      APPLICATION_JWT_SECRET_KEY: KEY,
      APPLICATION_BASE_URL: BASE_URL,
      ROOM_TELEPHONY_ENABLED: 'true',
      ROOM_TELEPHONY_PHONE_NUMBER: PHONE,
      LOG_LEVEL: 'warn',
    };
    const users = ['bo@example.org', 'cy@c.org', 'dee@example.org', 'gus@example.org', 'hal@example.org', 'ivy@example.org'];
    // The server creates the schema; then the CLI works on the same database.
    server = await startServerProcess(env);
    const [app] = await Promise.all([
      run('apps', 'create', '--name', 'Helper', '--scopes', 'rooms:list,rooms:retrieve,rooms:create', '--json'),
      ...users.map(async (email) => parsed(await run('users', 'create', '--email', email, '--json'))),
    ]);
    helper = parsed(app as Run);
  });
  afterAll(async () => server?.stop());

  /** A new application with every scope the rooms API needs; its clear secret. */
  async function newApp(...extra: string[]): Promise<{ client_id: string; client_secret: string; [key: string]: unknown }> {
    return parsed(await run('apps', 'create', '--name', 'Helper', '--scopes', 'rooms:list,rooms:retrieve,rooms:create', '--json', ...extra));
  }

  async function tokenOf(email: string): Promise<string> {
    return tokenFor(helper, email);
  }

  async function tokenFor(app: { client_id: string; client_secret: string }, email: string): Promise<string> {
    const answer = await requestToken(server, app.client_id, app.client_secret, email);
    expect(answer.status, answer.text).toBe(200);
    return answer.json.access_token as string;
  }

  // Sequential on purpose: concurrent read-then-write commands on one SQLite file are the
  // subject of their own test below (see 'a write held by another process').
  describe('commands', () => {
    describe('apps', () => {
      it('create: generated 40-character id and 128-character secret, exactly the documented keys, one JSON document', async () => {
        const [created, other, user] = await Promise.all([
          run('apps', 'create', '--name', 'Acme Rooms', '--scopes', 'rooms:create,rooms:list', '--domains', 'acme.org,b.org', '--json'),
          run('apps', 'create', '--name', 'Other', '--json'),
          run('users', 'create', '--email', 'ann@acme.org', '--json'),
        ]);
        const app = parsed(created);
        expect(Object.keys(app).sort()).toEqual(APP_KEYS);
        expect(app.id).toMatch(UUID);
        expect(app.name).toBe('Acme Rooms');
        expect(app.client_id).toMatch(ALNUM(40));
        expect(app.client_secret).toMatch(ALNUM(128));
        expect(app.scopes).toEqual(['rooms:create', 'rooms:list']);
        expect([...app.domains].sort()).toEqual(['acme.org', 'b.org']);
        expect(app.is_active).toBe(true);

        const plain = parsed(other);
        expect(Object.keys(plain).sort()).toEqual(APP_KEYS);
        expect(plain).toMatchObject({ name: 'Other', scopes: [], domains: [], is_active: true });
        expect(plain.client_id).toMatch(ALNUM(40));
        expect(plain.client_secret).toMatch(ALNUM(128));
        expect(plain.client_id).not.toBe(app.client_id);
        expect(plain.client_secret).not.toBe(app.client_secret);

        // The printed credentials are the real ones: the server issues a token with them,
        // carrying the scopes in the order granted, for an allowed domain only.
        parsed(user);
        const token = await requestToken(server, app.client_id, app.client_secret, 'ann@acme.org');
        expect(token.status, token.text).toBe(200);
        expect(token.json.scope).toBe('rooms:create rooms:list');
        const outside = await requestToken(server, app.client_id, app.client_secret, 'owner@elsewhere.org');
        expect(outside.status).toBe(403);
      });

      it('create honours APPLICATION_CLIENT_ID_LENGTH and APPLICATION_CLIENT_SECRET_LENGTH', async () => {
        const app = parsed(
          await meetApi({ ...env, APPLICATION_CLIENT_ID_LENGTH: '24', APPLICATION_CLIENT_SECRET_LENGTH: '64' }, 'apps', 'create', '--name', 'Short', '--json'),
        );
        expect(app.client_id).toMatch(ALNUM(24));
        expect(app.client_secret).toMatch(ALNUM(64));
      });

      it('create --client-id --secret --inactive: those credentials, refused as inactive until apps update --active', async () => {
        const clientId = 'my-own-client-id';
        const secret = 'MyOwnSecret0123456789abcdefghijklmnopqrstuvwxyz';
        const app = parsed(
          await run('apps', 'create', '--name', 'Own', '--client-id', clientId, '--secret', secret, '--inactive', '--scopes', 'rooms:list', '--json'),
        );
        expect(Object.keys(app).sort()).toEqual(APP_KEYS);
        expect(app).toMatchObject({ client_id: clientId, client_secret: secret, is_active: false, scopes: ['rooms:list'] });

        const refused = await requestToken(server, clientId, secret, 'bo@example.org');
        expect(refused.status).toBe(401);
        expect(refused.json).toEqual({ error: 'Application is inactive' });

        const updated = parsed(await run('apps', 'update', clientId, '--active', '--json'));
        expect(updated.is_active).toBe(true);
        expect((await requestToken(server, clientId, secret, 'bo@example.org')).status).toBe(200);
      });

      it('list and show never show the client secret, in JSON or in text', async () => {
        const app = await newApp('--domains', 'show.org');
        const [listJson, listText, showJson, showText] = await Promise.all([
          run('apps', 'list', '--json'),
          run('apps', 'list'),
          run('apps', 'show', app.client_id, '--json'),
          run('apps', 'show', app.client_id),
        ]);
        const listed = parsed(listJson);
        expect(Array.isArray(listed)).toBe(true);
        for (const entry of listed) expect(Object.keys(entry).sort()).toEqual(APP_KEYS_WITHOUT_SECRET);
        const { client_secret: secret, ...withoutSecret } = app;
        expect(listed).toContainEqual(withoutSecret);
        expect(parsed(showJson)).toEqual(withoutSecret);
        for (const result of [listJson, listText, showJson, showText]) {
          expect(result.code, describeRun(result)).toBe(0);
          expect(result.stdout).not.toContain(secret);
          expect(result.stderr).not.toContain(secret);
        }
        expect(showText.stdout).toContain(app.client_id);
        expect(listText.stdout).toContain(app.client_id);
      });

      it('update: --name, --scopes, --inactive/--active, --add-domain, --remove-domain; contradictions and unknown domains refused', async () => {
        const app = await newApp('--domains', 'a.org');

        const updated = parsed(
          await run('apps', 'update', app.client_id, '--name', 'Renamed', '--scopes', 'rooms:retrieve,rooms:list', '--add-domain', 'c.org', '--inactive', '--json'),
        );
        expect(Object.keys(updated).sort()).toEqual(APP_KEYS_WITHOUT_SECRET);
        expect(updated).toMatchObject({ id: app.id, client_id: app.client_id, name: 'Renamed', scopes: ['rooms:retrieve', 'rooms:list'], is_active: false });
        expect([...updated.domains].sort()).toEqual(['a.org', 'c.org']);
        expect((await requestToken(server, app.client_id, app.client_secret, 'cy@c.org')).json).toEqual({ error: 'Application is inactive' });

        const [both, notListed, unknownScope] = await Promise.all([
          run('apps', 'update', app.client_id, '--active', '--inactive', '--json'),
          run('apps', 'update', app.client_id, '--active', '--remove-domain', 'z.org', '--json'),
          run('apps', 'update', app.client_id, '--active', '--scopes', 'rooms:list,rooms:everything', '--json'),
        ]);
        expectRefused(both);
        expectRefused(notListed, 'z.org');
        expectRefused(unknownScope, 'rooms:everything');
        // None of the refused updates changed anything (not even their valid --active half).
        expect(parsed(await run('apps', 'show', app.client_id, '--json'))).toEqual(updated);

        const back = parsed(await run('apps', 'update', app.client_id, '--active', '--remove-domain', 'c.org', '--json'));
        expect(back).toMatchObject({ name: 'Renamed', is_active: true, domains: ['a.org'] });
        const token = await requestToken(server, app.client_id, app.client_secret, 'cy@c.org');
        expect(token.status).toBe(403);
      });

      it('rotate-secret prints a new secret that works while the old one stops; delete cuts the application off', async () => {
        const app = await newApp();
        const before = await tokenFor(app, 'dee@example.org');

        const rotated = parsed(await run('apps', 'rotate-secret', app.client_id, '--json'));
        expect(Object.keys(rotated).sort()).toEqual(APP_KEYS);
        expect(rotated.client_id).toBe(app.client_id);
        expect(rotated.id).toBe(app.id);
        expect(rotated.client_secret).toMatch(ALNUM(128));
        expect(rotated.client_secret).not.toBe(app.client_secret);

        const old = await requestToken(server, app.client_id, app.client_secret, 'dee@example.org');
        expect(old.status).toBe(401);
        expect(old.json).toEqual({ error: 'Invalid credentials' });
        const fresh = await requestToken(server, app.client_id, rotated.client_secret, 'dee@example.org');
        expect(fresh.status, fresh.text).toBe(200);

        const deleted = await run('apps', 'delete', app.client_id);
        expect(deleted.code, describeRun(deleted)).toBe(0);
        expectRefused(await run('apps', 'show', app.client_id, '--json'));
        expect((await requestToken(server, app.client_id, rotated.client_secret, 'dee@example.org')).json).toEqual({
          error: 'Invalid credentials',
        });
        // Tokens issued before are refused on the next request.
        const cut = await call(server, 'GET', `${API}/rooms/`, { token: before });
        expect(cut.status).toBe(401);
        expect(cut.json).toEqual({ detail: 'Application not found.' });

      });
    });

    describe('users', () => {
      it('create (email unique whatever its case), list, update --inactive/--active, seen by the API at once', async () => {
        const [created, inactive] = await Promise.all([
          run('users', 'create', '--email', 'Eve.Lee@Example.org', '--json'),
          run('users', 'create', '--email', 'fay@example.org', '--inactive', '--json'),
        ]);
        const eve = parsed(created);
        expect(Object.keys(eve).sort()).toEqual(['email', 'id', 'is_active', 'sub']);
        expect(eve).toMatchObject({ email: 'Eve.Lee@Example.org', is_active: true });
        expect(eve.id).toMatch(UUID);
        const fay = parsed(inactive);
        expect(fay).toMatchObject({ email: 'fay@example.org', is_active: false });

        const [duplicate, listed] = await Promise.all([
          run('users', 'create', '--email', 'eve.lee@example.ORG', '--json'),
          run('users', 'list', '--json'),
        ]);
        expectRefused(duplicate);
        const users = parsed(listed);
        for (const user of users) expect(Object.keys(user).sort()).toEqual(['email', 'id', 'is_active', 'sub']);
        expect(users).toContainEqual(eve);
        expect(users).toContainEqual(fay);
        expect(users.filter((u: { email: string }) => u.email.toLowerCase() === 'eve.lee@example.org')).toHaveLength(1);

        const token = await tokenOf('eve.lee@example.org');
        expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);

        const off = parsed(await run('users', 'update', 'eve.lee@example.org', '--inactive', '--json'));
        expect(off).toEqual({ ...eve, is_active: false });
        const refused = await call(server, 'GET', `${API}/rooms/`, { token });
        expect(refused.status).toBe(401);
        expect(refused.json).toEqual({ detail: 'User account is disabled.' });

        const on = parsed(await run('users', 'update', 'Eve.Lee@Example.org', '--active', '--json'));
        expect(on).toEqual(eve);
        expect((await call(server, 'GET', `${API}/rooms/`, { token })).status).toBe(200);
      });
    });

    describe('rooms', () => {
      it('create --owner: the room as the API shows it plus pin_code, visible to its owner over HTTP', async () => {
        const [trusted, restricted] = await Promise.all([
          run('rooms', 'create', '--owner', 'gus@example.org', '--json'),
          run('rooms', 'create', '--owner', 'GUS@example.org', '--access-level', 'restricted', '--json'),
        ]);
        const room = parsed(trusted);
        const other = parsed(restricted);
        const token = await tokenOf('gus@example.org');

        for (const [created, level] of [
          [room, 'trusted'],
          [other, 'restricted'],
        ] as const) {
          expect(created.id).toMatch(UUID);
          expect(created.slug).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
          expect(created.access_level).toBe(level);
          expect(created.url).toBe(`${BASE_URL}/${created.slug}`);
          expect(created.pin_code).toMatch(/^\d{10}$/);
          expect(created.telephony).toEqual({ enabled: true, pin_code: created.pin_code, phone_number: PHONE, default_country: 'US' });

          const shown = await call(server, 'GET', `${API}/rooms/${created.id}/`, { token });
          expect(shown.status, shown.text).toBe(200);
          const { pin_code: _pin, ...apiFields } = created;
          expect(apiFields).toEqual(shown.json);
        }

        const listed = await call(server, 'GET', `${API}/rooms/`, { token });
        expect(listed.json.results.map((r: { id: string }) => r.id).sort()).toEqual([room.id, other.id].sort());
      });

      it('grant gives each role (owner, administrator, member) on a room, refuses unknown roles, rooms and users; list [--user] shows rooms as create does', async () => {
        const room = parsed(await run('rooms', 'create', '--owner', 'hal@example.org', '--json'));
        const ivy = await tokenOf('ivy@example.org');
        const [badRole, noRoom, noUser] = await Promise.all([
          run('rooms', 'grant', room.id, '--user', 'ivy@example.org', '--role', 'boss', '--json'),
          run('rooms', 'grant', '6f1c2a8e-0000-4000-8000-000000000000', '--user', 'ivy@example.org', '--role', 'member', '--json'),
          run('rooms', 'grant', room.id, '--user', 'nobody@example.org', '--role', 'member', '--json'),
        ]);
        expectRefused(badRole, 'boss');
        expectRefused(noRoom);
        expectRefused(noUser);
        // The refused commands granted nothing.
        const forbidden = await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: ivy });
        expect(forbidden.status).toBe(403);

        for (const role of ['member', 'administrator', 'owner']) {
          const document = parsed(await run('rooms', 'grant', room.id, '--user', 'ivy@example.org', '--role', role, '--json'));
          expect(JSON.stringify(document)).toContain(role);
          const seen = await call(server, 'GET', `${API}/rooms/${room.id}/`, { token: ivy });
          expect(seen.status, `${role}: ${seen.text}`).toBe(200);
          const listed = await call(server, 'GET', `${API}/rooms/`, { token: ivy });
          expect(listed.json.results.map((r: { id: string }) => r.id), role).toEqual([room.id]);
        }

        const [all, ivyRooms] = await Promise.all([
          run('rooms', 'list', '--json'),
          run('rooms', 'list', '--user', 'ivy@example.org', '--json'),
        ]);
        const everyRoom = parsed(all);
        expect(everyRoom).toContainEqual(room);
        for (const entry of everyRoom) expect(entry.pin_code).toMatch(/^\d{10}$/);
        expect(parsed(ivyRooms)).toEqual([room]);
      });
    });
  });

  it('a write held by another process: apps update waits for it, then succeeds (no "database is locked")', async () => {
    const app = await newApp();
    const handle = openDatabase(loadConfig({ DATABASE_URL: db.url, ...layoutEnv() }));
    let release: (() => void) | undefined;
    try {
      let taken!: () => void;
      const lockTaken = new Promise<void>((resolve) => (taken = resolve));
      // What the server (or another operator) does at any moment: a short write transaction.
      const holder = handle.db.transaction().execute(async (trx) => {
        await renameStoredApplication(trx, app.client_id, 'Held');
        taken();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await lockTaken;
      const updating = run('apps', 'update', app.client_id, '--name', 'After', '--add-domain', 'after.org', '--json');
      // Long enough for the command to start and reach its write; well within a 5 s busy wait.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      release!();
      await holder;
      const updated = parsed(await updating);
      expect(updated).toMatchObject({ client_id: app.client_id, name: 'After', domains: ['after.org'] });
      expect(parsed(await run('apps', 'show', app.client_id, '--json'))).toEqual(updated);
    } finally {
      release?.();
      await handle.close();
    }
  });

  it('the server logged no error while the CLI worked on its database', () => {
    const errors = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number })
      .filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
  });
});

describe.runIf(TEST_STORE === 'sqlite')('meet-api opening a SQLite file another process has locked', () => {
  const db = useFreshDatabase();
  let file: string;

  beforeAll(async () => {
    file = db.url.slice('sqlite:'.length);
    expect((await meetApi({ DATABASE_URL: db.url }, 'migrate')).code).toBe(0);
  });

  /**
   * Takes the exclusive lock that opening needs (what the last process to close does while
   * it checkpoints and removes the WAL, met by chance when commands run side by side).
   */
  function holdExclusively(): SQLite.Database {
    const holder = new SQLite(file);
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('begin exclusive; commit');
    return holder;
  }

  it('waits for the lock, then runs (no "database is locked" at open)', async () => {
    const holder = holdExclusively();
    try {
      const listing = meetApi({ DATABASE_URL: db.url }, 'users', 'list', '--json');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      holder.close();
      expect(parsed(await listing)).toEqual([]);
    } finally {
      if (holder.open) holder.close();
    }
  });

  it('held past DATABASE_STATEMENT_TIMEOUT_MS: refused with a message naming the lock, not a stack trace', async () => {
    const holder = holdExclusively();
    try {
      const run = await meetApi({ DATABASE_URL: db.url, DATABASE_STATEMENT_TIMEOUT_MS: '200' }, 'users', 'create', '--email', 'late@locked.org', '--json');
      expectRefused(run, 'database is locked');
    } finally {
      holder.close();
    }
    expect(parsed(await meetApi({ DATABASE_URL: db.url }, 'users', 'list', '--json'))).toEqual([]);
  });
});


describe('meet-api: room options, users named by sub, and the last owner of a room', () => {
  /** What the CLI and the in-process server both show of a room. */
  const VIEW_ENV = { APPLICATION_BASE_URL: BASE_URL, ROOM_TELEPHONY_ENABLED: 'true', ROOM_TELEPHONY_PHONE_NUMBER: PHONE };
  const db = useFreshDatabase();
  // The real server on the same database: it shows what the commands did. Users, rooms and
  // roles a test only needs as a setting are made through its services; the commands under
  // test run as child processes (each costs a Node start, hence the batches run together).
  const server = useServer(VIEW_ENV, { databaseUrl: () => db.url });
  let env: Record<string, string>;
  let reader: Client;
  const run = (...args: string[]) => meetApi(env, ...args);
  let counter = 0;
  const email = (name: string) => `${name}-${++counter}@options.org`;
  const sub = (name: string) => `${name}|${++counter}`;

  beforeAll(async () => {
    env = { DATABASE_URL: db.url, APPLICATION_JWT_SECRET_KEY: KEY, LOG_LEVEL: 'warn', ...VIEW_ENV };
    reader = await createClient(server, { scopes: ['rooms:list', 'rooms:retrieve'] });
  });

  /** A refused command with input at fault: exit 1 exactly, a message naming `mentions`. */
  function expectInputRefused(result: Run, ...mentions: string[]): void {
    expectRefused(result, ...mentions);
    expect(result.code, describeRun(result)).toBe(1);
  }

  /** A user made through the service, as `users` commands print it. */
  async function user(key: { email?: string; sub?: string }) {
    return viewUser(await server.services.users.createUser(key));
  }

  /** A room owned by the user alone (and by `owners` too), made through the service. */
  async function room(ownerId: string, ...owners: string[]) {
    const made = await server.services.rooms.createRoomAsOperator(ownerId, {});
    for (const other of owners) await server.services.rooms.grantRole(made.id, other, 'owner');
    return made;
  }

  /** The user's role on the room, read from the store. */
  async function roleOf(roomId: string, userId: string): Promise<string | undefined> {
    return (await storedAccesses(server, roomId)).find((a) => a.user_id === userId)?.role;
  }

  async function userIds(): Promise<string[]> {
    return (await server.services.users.listUsers()).map((u) => u.id);
  }

  /** A room printed by the CLI is the room as the API shows it to `owner`, plus pin_code. */
  async function expectShownByApi(printed: Record<string, any>, owner: string): Promise<void> {
    const token = await getToken(server, reader, owner);
    const shown = await call(server, 'GET', `${API}/rooms/${printed.id}/`, { token });
    expect(shown.status, shown.text).toBe(200);
    const { pin_code: pin, ...apiFields } = printed;
    expect(apiFields).toEqual(shown.json);
    expect(pin).toBe(shown.json.telephony.pin_code);
  }

  describe('rooms create and update with options', () => {
    it('create --access-level --configuration: stored, printed as the API shows the room plus pin_code', async () => {
      const owner = email('opt');
      await user({ email: owner });
      const configuration = { can_publish_sources: ['camera', 'microphone'], everyone_can_mute: false };
      const [withOptions, plain, nullConfiguration, text] = await Promise.all([
        run('rooms', 'create', '--owner', owner, '--access-level', 'restricted', '--configuration', JSON.stringify(configuration), '--json'),
        run('rooms', 'create', '--owner', owner, '--json'),
        run('rooms', 'create', '--owner', owner, '--configuration', 'null', '--json'),
        run('rooms', 'create', '--owner', owner, '--configuration', '{"everyone_can_mute": true}'),
      ]);
      const [restricted, defaults, fromNull] = [parsed(withOptions), parsed(plain), parsed(nullConfiguration)];
      expect(Object.keys(restricted).sort()).toEqual(['access_level', 'attendees', 'configuration', 'id', 'name', 'pin_code', 'slug', 'telephony', 'url']);
      expect(restricted).toMatchObject({ name: restricted.slug, access_level: 'restricted', configuration, attendees: [] });
      expect(defaults).toMatchObject({ name: defaults.slug, access_level: 'trusted', configuration: {}, attendees: [] });
      expect(fromNull).toMatchObject({ access_level: 'trusted', configuration: {} });
      for (const printed of [restricted, defaults, fromNull]) await expectShownByApi(printed, owner);

      // Without --json: every field readable, the configuration as JSON.
      expect(text.code, describeRun(text)).toBe(0);
      expect(text.stdout).not.toContain('[object Object]');
      expect(text.stdout).toMatch(/^configuration: .*"everyone_can_mute":\s*true/m);
      expect(text.stdout).toMatch(/^pin_code: \d{10}$/m);
    });

    it('create refuses broken JSON, bad options and an unknown sub (exit 1, named); nothing is created', async () => {
      const owner = email('bad');
      await user({ email: owner });
      const before = (await server.services.rooms.listAllRooms()).length;
      const [broken, unknown, badEntry, notObject, unknownSub] = await Promise.all([
        run('rooms', 'create', '--owner', owner, '--configuration', '{"everyone_can_mute": fals', '--json'),
        run('rooms', 'create', '--owner', owner, '--configuration', '{"hologram": true}', '--json'),
        run('rooms', 'create', '--owner', owner, '--configuration', '{"can_publish_sources": ["camera", "hologram"]}', '--json'),
        run('rooms', 'create', '--owner', owner, '--configuration', '"camera"', '--json'),
        run('rooms', 'create', '--sub', 'nobody|0', '--json'),
      ]);
      expectInputRefused(broken, '--configuration', 'not valid JSON');
      expectInputRefused(unknown, 'hologram: Extra inputs are not permitted');
      expectInputRefused(badEntry, "can_publish_sources.1: Input should be 'camera', 'microphone', 'screen_share' or 'screen_share_audio'");
      expectInputRefused(notObject, 'configuration');
      expectInputRefused(unknownSub, 'nobody|0');
      expect((await server.services.rooms.listAllRooms()).length).toBe(before);
    });

    it('update: --access-level and --configuration each replace only themselves; refusals change nothing', async () => {
      const owner = email('upd');
      const { id: ownerId } = await user({ email: owner });
      const rooms: Record<string, any>[] = await Promise.all(
        [1, 2, 3, 4].map(async () => {
          const made = await server.services.rooms.createRoomAsOperator(ownerId, { access_level: 'restricted', configuration: { everyone_can_mute: true } });
          const changed = await server.services.rooms.setAttendees(made.id, ['keep@example.com']);
          return { ...viewRoom(changed, server.config), pin_code: changed.pinCode };
        }),
      );
      const [levelOnly, configurationOnly, both, neither] = rooms as [Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>];
      const updated = await Promise.all([
        run('rooms', 'update', levelOnly.id, '--access-level', 'trusted', '--json'),
        run('rooms', 'update', configurationOnly.slug, '--configuration', '{"can_publish_sources": ["screen_share"]}', '--json'),
        // The operator is not bound by the API's public-room rule.
        run('rooms', 'update', both.id, '--access-level', 'public', '--configuration', 'null', '--json'),
        run('rooms', 'update', neither.id, '--json'),
      ]);
      const expected = [
        { ...levelOnly, access_level: 'trusted' },
        { ...configurationOnly, configuration: { can_publish_sources: ['screen_share'] } },
        { ...both, access_level: 'public', configuration: {} },
        neither,
      ];
      expect(updated.map(parsed)).toEqual(expected);
      for (const printed of expected) await expectShownByApi(printed, owner);

      const stored = await server.services.rooms.getRoom(levelOnly.id);
      const [badOption, brokenJson] = await Promise.all([
        run('rooms', 'update', levelOnly.id, '--access-level', 'restricted', '--configuration', '{"everyone_can_mute": "yes"}', '--json'),
        run('rooms', 'update', levelOnly.id, '--configuration', '{', '--json'),
      ]);
      expectInputRefused(badOption, 'everyone_can_mute: Input should be a valid boolean');
      expectInputRefused(brokenJson, 'not valid JSON');
      expect(await server.services.rooms.getRoom(levelOnly.id)).toEqual(stored);
    });
  });

  describe('roles and the last owner', () => {
    it('revoke takes a role away; the only owner cannot be revoked; a user without a role is refused', async () => {
      const [owner, member, stranger, coOwner] = await Promise.all(['own', 'mem', 'str', 'co'].map((name) => user({ email: email(name) })));
      const [single, shared] = [await room(owner!.id), await room(owner!.id, coOwner!.id)];
      await server.services.rooms.grantRole(single.id, member!.id, 'member');

      const [revoked, lastOwner, noRole, oneOfTwo] = await Promise.all([
        run('rooms', 'revoke', single.id, '--user', member!.email!, '--json'),
        run('rooms', 'revoke', single.id, '--user', owner!.email!, '--json'),
        run('rooms', 'revoke', single.id, '--user', stranger!.email!, '--json'),
        run('rooms', 'revoke', shared.id, '--user', owner!.email!, '--json'),
      ]);
      expect(parsed(revoked)).toEqual({ revoked: true, room_id: single.id, user_id: member!.id, email: member!.email, sub: null });
      expectInputRefused(lastOwner, 'last owner', single.slug);
      expectInputRefused(noRole, 'no role');
      parsed(oneOfTwo);
      expect(await Promise.all([roleOf(single.id, member!.id), roleOf(single.id, owner!.id), roleOf(shared.id, owner!.id)])).toEqual([
        undefined,
        'owner',
        undefined,
      ]);

      // The owner left is then protected in turn.
      expectInputRefused(await run('rooms', 'revoke', shared.id, '--user', coOwner!.email!, '--json'), 'last owner', shared.slug);
      expect(await roleOf(shared.id, coOwner!.id)).toBe('owner');
    });

    it('grant refuses to demote the only owner, and demotes an owner who is not the only one', async () => {
      const [owner, other] = await Promise.all([user({ email: email('sole') }), user({ email: email('next') })]);
      const [single, shared] = [await room(owner.id), await room(owner.id, other.id)];
      const [toMember, toOwner, demoted] = await Promise.all([
        run('rooms', 'grant', single.id, '--user', owner.email!, '--role', 'member', '--json'),
        // Granting owner to the owner again is no demotion.
        run('rooms', 'grant', single.id, '--user', owner.email!, '--role', 'owner', '--json'),
        run('rooms', 'grant', shared.id, '--user', owner.email!, '--role', 'member', '--json'),
      ]);
      expectInputRefused(toMember, 'last owner', single.slug);
      parsed(toOwner);
      expect(parsed(demoted)).toEqual({ room_id: shared.id, user_id: owner.id, email: owner.email, sub: null, role: 'member' });
      expect(await Promise.all([roleOf(single.id, owner.id), roleOf(shared.id, owner.id), roleOf(shared.id, other.id)])).toEqual(['owner', 'member', 'owner']);
    });

    it('--sub names the user for rooms create, grant, revoke and list', async () => {
      const [owner, guest] = await Promise.all([user({ sub: sub('owner') }), user({ sub: sub('guest') })]);
      const created = parsed(await run('rooms', 'create', '--sub', owner.sub!, '--configuration', '{"everyone_can_mute": false}', '--json'));
      expect(created.configuration).toEqual({ everyone_can_mute: false });
      expect(await roleOf(created.id, owner.id)).toBe('owner');

      const [granted, listed, lastOwner] = await Promise.all([
        run('rooms', 'grant', created.id, '--sub', guest.sub!, '--role', 'administrator', '--json'),
        run('rooms', 'list', '--sub', owner.sub!, '--json'),
        run('rooms', 'revoke', created.id, '--sub', owner.sub!, '--json'),
      ]);
      expect(parsed(granted)).toEqual({ room_id: created.id, user_id: guest.id, email: null, sub: guest.sub, role: 'administrator' });
      expect(parsed(listed)).toEqual([created]);
      expectInputRefused(lastOwner, 'last owner');
      expect(await roleOf(created.id, guest.id)).toBe('administrator');

      const [revoked, guestRooms] = [await run('rooms', 'revoke', created.id, '--sub', guest.sub!), await run('rooms', 'list', '--sub', guest.sub!, '--json')];
      expect(revoked.code, describeRun(revoked)).toBe(0);
      expect(revoked.stdout).toContain(guest.sub);
      expect(parsed(guestRooms)).toEqual([]);
      expect(await roleOf(created.id, guest.id)).toBeUndefined();
    });
  });

  describe('users with a sub', () => {
    it('create --sub (with or without an email), refused without either or when taken; list shows the sub', async () => {
      const [both, subOnly] = [{ email: email('both'), sub: sub('both') }, sub('only')];
      const created = await Promise.all([
        run('users', 'create', '--email', both.email, '--sub', both.sub, '--json'),
        run('users', 'create', '--sub', subOnly, '--json'),
        run('users', 'create', '--sub', sub('off'), '--inactive', '--json'),
      ]);
      const [withBoth, withSubOnly, inactive] = created.map(parsed);
      expect(Object.keys(withBoth).sort()).toEqual(['email', 'id', 'is_active', 'sub']);
      expect(withBoth).toEqual({ id: withBoth.id, email: both.email, sub: both.sub, is_active: true });
      expect(withBoth.id).toMatch(UUID);
      expect(withSubOnly).toEqual({ id: withSubOnly.id, email: null, sub: subOnly, is_active: true });
      expect(inactive).toMatchObject({ email: null, is_active: false });

      const [neither, takenSub, takenEmail, listJson, listText] = await Promise.all([
        run('users', 'create', '--json'),
        run('users', 'create', '--sub', subOnly, '--email', email('new'), '--json'),
        run('users', 'create', '--email', both.email.toUpperCase(), '--sub', sub('new'), '--json'),
        run('users', 'list', '--json'),
        run('users', 'list'),
      ]);
      for (const refused of [neither, takenSub, takenEmail]) expectInputRefused(refused);
      const listed: { email: string | null; sub: string | null }[] = parsed(listJson);
      for (const entry of listed) expect(Object.keys(entry).sort()).toEqual(['email', 'id', 'is_active', 'sub']);
      for (const entry of [withBoth, withSubOnly, inactive]) expect(listed).toContainEqual(entry);
      expect(listed.filter((u) => u.sub === subOnly)).toHaveLength(1);
      expect(listed.filter((u) => u.email?.toLowerCase() === both.email)).toHaveLength(1);
      expect(listText.stdout.split('\n')[0]).toMatch(/^id\s+email\s+sub\s+is_active$/);
      expect(listText.stdout).toContain(subOnly);
    });

    it('update --email gives a user an email (the API then knows them by it); a taken email is refused and nothing changes', async () => {
      const [taken, subOnly, other] = await Promise.all([user({ email: email('taken') }), user({ sub: sub('mail') }), user({ sub: sub('other') })]);
      const given = email('given');
      const [updated, deactivated] = await Promise.all([
        run('users', 'update', '--sub', subOnly.sub!, '--email', given, '--json'),
        run('users', 'update', '--sub', other.sub!, '--inactive', '--json'),
      ]);
      expect(parsed(updated)).toEqual({ ...subOnly, email: given });
      expect(parsed(deactivated)).toEqual({ ...other, is_active: false });
      expect(await getToken(server, reader, given)).toEqual(expect.any(String));

      const refusals = await Promise.all([
        run('users', 'update', given, '--email', taken.email!, '--json'),
        run('users', 'update', '--sub', subOnly.sub!, '--email', taken.email!.toUpperCase(), '--json'),
        run('users', 'update', '--sub', other.sub!, '--email', given, '--active', '--json'),
      ]);
      for (const refused of refusals) expectInputRefused(refused, 'already exists');
      const users = await server.services.users.listUsers();
      expect(users.filter((u) => [subOnly.id, other.id].includes(u.id)).map(viewUser).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        [{ ...subOnly, email: given }, { ...other, is_active: false }].sort((a, b) => a.id.localeCompare(b.id)),
      );
    });

    it('delete is refused, naming the rooms, while the user is a last owner; allowed once each room has another owner', async () => {
      const [leaving, staying] = await Promise.all([user({ email: email('leave') }), user({ email: email('stay') })]);
      const [first, second] = [await room(leaving.id), await room(leaving.id)];

      expectInputRefused(await run('users', 'delete', leaving.email!, '--json'), first.slug, first.id, second.slug, second.id);
      expect(await userIds()).toContain(leaving.id);
      await server.services.rooms.grantRole(first.id, staying.id, 'owner');
      const stillOne = await run('users', 'delete', leaving.email!, '--json');
      expectInputRefused(stillOne, second.slug);
      expect(stillOne.stderr).not.toContain(first.slug);
      expect(await roleOf(first.id, leaving.id)).toBe('owner');

      await server.services.rooms.grantRole(second.id, staying.id, 'owner');
      expect(parsed(await run('users', 'delete', leaving.email!, '--json'))).toEqual({ deleted: true, ...leaving });
      expect(await userIds()).not.toContain(leaving.id);
      for (const kept of [first, second]) {
        expect(await roleOf(kept.id, leaving.id)).toBeUndefined();
        expect(await roleOf(kept.id, staying.id)).toBe('owner');
      }
    });

    it('delete --sub: a sub-only user without rooms goes; one who is a room\'s last owner stays', async () => {
      const [free, owning] = await Promise.all([user({ sub: sub('free') }), user({ sub: sub('owning') })]);
      const owned = await room(owning.id);
      const [deleted, refused, unknown] = await Promise.all([
        run('users', 'delete', '--sub', free.sub!, '--json'),
        run('users', 'delete', '--sub', owning.sub!, '--json'),
        run('users', 'delete', '--sub', 'nobody|0', '--json'),
      ]);
      expect(parsed(deleted)).toEqual({ deleted: true, ...free });
      expectInputRefused(refused, owned.slug, owning.sub!);
      expectInputRefused(unknown, 'nobody|0');
      const ids = await userIds();
      expect(ids).not.toContain(free.id);
      expect(ids).toContain(owning.id);
    });
  });
});
