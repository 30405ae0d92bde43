#!/usr/bin/env node
// A/B of two builds of the server in the same time window: a base tree (AB_BASE, built,
// e.g. a `git worktree` of the commit before a change) and this tree, both on CPU 0 over
// copies of one seeded SQLite database (or one PostgreSQL database: AB_PG=postgres://...),
// the load (bench/load.mjs) on CPU 1 taking turns of 2 s between them. Prints each one's
// CPU µs per request (from /proc, like bench/run.mjs), req/s and p99.
//   AB_BASE=/path/to/base node bench/ab.mjs token,list,retrieve,create 30
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path'; import net from 'node:net';
import { randomBytes } from 'node:crypto';
const [routesArg = 'list,retrieve', durationArg = '20'] = process.argv.slice(2);
const routes = routesArg.split(','); const duration = Number(durationArg);
const here = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
if (!process.env.AB_BASE) { console.error('AB_BASE: the base tree (built) is required'); process.exit(1); }
const trees = { base: process.env.AB_BASE, perf: here };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-'));
spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)]);
const key = randomBytes(32).toString('hex');
const pgUrl = process.env.AB_PG;
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', APPLICATION_JWT_SECRET_KEY: key, LOG_LEVEL: 'info', RATE_LIMIT_APPLICATION_PER_MINUTE: '100000000', DATABASE_URL: pgUrl ?? `sqlite:${path.join(work, 'seed.db')}` };
const cli = (...a) => JSON.parse(execFileSync(process.execPath, [path.join(trees.perf, 'bin/meet-api.js'), ...a, '--json'], { env: baseEnv, encoding: 'utf8' }));
const app = cli('apps', 'create', '--name', 'ab', '--scopes', 'rooms:list,rooms:retrieve,rooms:create');
const email = `ab-${Date.now()}@x.example`; cli('users', 'create', '--email', email);
const freePort = () => new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
async function start(name) {
  const port = await freePort();
  let url = baseEnv.DATABASE_URL;
  if (!pgUrl) { url = `sqlite:${path.join(work, name + '.db')}`; }
  const env = { ...baseEnv, DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1' };
  const child = spawn('taskset', ['-c', '0', process.execPath, path.join(trees[name], 'dist/server.js')], { env, stdio: ['ignore', fs.openSync(path.join(work, name + '.log'), 'w'), 'inherit'] });
  for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${port}/external-api/v1.0/rooms/`); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
  return { name, port, child, origin: `http://127.0.0.1:${port}` };
}
// seed rooms through the perf tree's server on the seed db, then copy
const seeder = await (async () => { const port = await freePort(); const env = { ...baseEnv, PORT: String(port), HOST: '127.0.0.1' }; const child = spawn(process.execPath, [path.join(trees.perf, 'dist/server.js')], { env, stdio: 'ignore' }); for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${port}/`); break; } catch { await new Promise((r) => setTimeout(r, 100)); } } return { child, origin: `http://127.0.0.1:${port}` }; })();
const tokenBody = new URLSearchParams({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: email });
const tok = await (await fetch(`${seeder.origin}/external-api/v1.0/application/token/`, { method: 'POST', body: tokenBody })).json();
if (!tok.access_token) { console.error('token failed', tok); process.exit(1); }
const auth = { authorization: `Bearer ${tok.access_token}` };
let roomId;
for (let i = 0; i < 100; i++) { const r = await (await fetch(`${seeder.origin}/external-api/v1.0/rooms/`, { method: 'POST', headers: auth })).json(); roomId = r.id; }
seeder.child.kill('SIGTERM'); await new Promise((r) => seeder.child.once('exit', r));
if (!pgUrl) for (const n of ['base', 'perf']) fs.copyFileSync(path.join(work, 'seed.db'), path.join(work, n + '.db'));
const servers = [await start('base'), await start('perf')];
const ticks = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const tck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const reqs = {
  token: { method: 'POST', path: '/external-api/v1.0/application/token/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: tokenBody.toString() },
  list: { method: 'GET', path: '/external-api/v1.0/rooms/?page_size=20', headers: auth },
  retrieve: { method: 'GET', path: `/external-api/v1.0/rooms/${roomId}/`, headers: auth },
  create: { method: 'POST', path: '/external-api/v1.0/rooms/', headers: auth },
};
for (const route of routes) {
  const r = reqs[route];
  const targets = servers.map((s) => ({ name: s.name, url: s.origin + r.path, method: r.method, headers: r.headers, body: r.body }));
  const spec = { targets, connections: 32, duration, warmup: 2, slice: 2 };
  const load = spawn('taskset', ['-c', '1', process.execPath, path.join(here, 'bench/load.mjs'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = ''; let before;
  load.stdout.on('data', (d) => { out += d; if (!before && out.includes('measuring')) before = servers.map((s) => ticks(s.child.pid)); });
  await new Promise((res) => load.once('exit', res));
  const after = servers.map((s) => ticks(s.child.pid));
  const result = JSON.parse(out.trim().split('\n').pop());
  const line = servers.map((s, i) => { const x = result[s.name]; const us = ((after[i] - before[i]) / tck) * 1e6 / x.requests; return `${s.name} ${us.toFixed(0)}µs/req ${x.rps.toFixed(0)}/s p99 ${x.p99_ms}ms non2xx ${x.non2xx}`; });
  console.log(route.padEnd(9), line.join(' | '));
}
for (const s of servers) s.child.kill('SIGTERM');
fs.rmSync(work, { recursive: true, force: true });
