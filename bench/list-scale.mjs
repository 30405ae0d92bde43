#!/usr/bin/env node
// List latency at scale: seeds a fresh database with --rooms rooms owned by --users users
// (npm run seed), starts the real server on it, and times GET /rooms/?page_size=20 for
// one seeded user, one request at a time (latency, not throughput).
//   node bench/list-scale.mjs --rooms 1000000 --users 100000 [--store postgres] [--requests 1000]
// With --store postgres, PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres)
// is used to create and drop a scratch database.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1000' },
    users: { type: 'string', default: '100' },
    store: { type: 'string', default: 'sqlite' },
    requests: { type: 'string', default: '1000' },
  },
});

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-list-scale-'));
let databaseUrl = `sqlite:${path.join(work, 'meet.db')}`;
let dropDatabase = async () => {};
if (values.store === 'postgres') {
  const admin = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `meet_scale_${Date.now()}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
}

const env = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', APPLICATION_JWT_SECRET_KEY: 'list-scale-key-0123456789abcdefghijklmnop' };
try {
  const seedStarted = Date.now();
  execFileSync('node', [path.join(root, 'dist/tools/seed.js'), '--users', values.users, '--rooms', values.rooms], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const seedMs = Date.now() - seedStarted;
  const app = JSON.parse(
    execFileSync('node', [path.join(root, 'bin/meet-api.js'), 'apps', 'create', '--name', 'scale', '--scopes', 'rooms:list', '--json'], { env }).toString(),
  );
  const port = await freePort();
  const server = spawn('node', [path.join(root, 'dist/server.js')], { env: { ...env, PORT: String(port) }, stdio: 'ignore' });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${origin}/readyz`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const tokenAnswer = await fetch(`${origin}/external-api/v1.0/application/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: app.client_id, client_secret: app.client_secret, grant_type: 'client_credentials', scope: 'seed-0@seed.example' }),
  });
  const { access_token: token } = await tokenAnswer.json();
  const url = `${origin}/external-api/v1.0/rooms/?page_size=20`;
  const headers = { authorization: `Bearer ${token}` };
  let count = 0;
  for (let i = 0; i < 100; i++) count = (await (await fetch(url, { headers })).json()).count; // warm-up
  const times = [];
  const errors = {};
  for (let i = 0; i < Number(values.requests); i++) {
    const t = process.hrtime.bigint();
    const answer = await fetch(url, { headers });
    await answer.arrayBuffer();
    if (answer.status !== 200) errors[answer.status] = (errors[answer.status] ?? 0) + 1;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  server.kill('SIGTERM');
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(2);
  console.log(
    JSON.stringify({ store: values.store, rooms: Number(values.rooms), users: Number(values.users), user_rooms: count, seed_ms: seedMs, requests: times.length, p50_ms: Number(pct(50)), p99_ms: Number(pct(99)), errors }),
  );
} finally {
  await dropDatabase();
  fs.rmSync(work, { recursive: true, force: true });
}
