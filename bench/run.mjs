#!/usr/bin/env node
// `npm run bench`: throughput and latency of the real server, each figure beside the
// figure of a bare node:http server on the same core (see docs/benchmarks.md).
//
//   node bench/run.mjs [--duration S] [--warmup S] [--connections N] [--slice S]
//                      [--store sqlite|postgres] [--json FILE] [--log-level LEVEL]
//                      [--only token,list,retrieve,create] [--profile DIR] [--keep]
//                      [--server-env KEY=VALUE]... [--resource-server]
//   with --resource-server, --only also knows list-rs and list-rs-nocache
//
// 1. Builds nothing (npm run bench builds first); starts dist/server.js on a fresh SQLite
//    database in a temporary folder (or on DATABASE_URL with --store postgres), pinned to
//    one CPU when `taskset` exists; the harness and the load generator run on another.
// 2. Seeds through the operator CLI (one application, one user), takes a token over HTTP
//    and creates the user's 100 rooms with POST /rooms/.
// 3. For each endpoint: measures the server and the baseline (bench/baseline-server.mjs,
//    same CPU, same requests, answering a body of the size the server answered) from one
//    autocannon process, warm-up first, then taking turns in slices of --slice seconds
//    until each has had --duration seconds; then reads the server's RSS.
// 4. Prints one table; exits 1 when anything failed, 2 when a request got an error or a
//    status other than the expected one.
//
// --server-env adds one variable of the server's configuration (CONFIG_VARIABLES of
// src/config.ts; any other name is refused) to the server's environment, after the harness's own.
// --resource-server runs an oidc-provider inside this process (bench/authorization-server.mjs,
// so on the load generator's CPU), points the server at it, and measures the list again
// with a user token of the same user, introspected there: `list-rs` on the server (answers
// cached 30 s), `list-rs-nocache` on a second server with OIDC_RS_CACHE_SECONDS=0.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const API = '/external-api/v1.0';
const ENDPOINTS = ['token', 'list', 'retrieve', 'create'];
// The list again with a user token (needs --resource-server), measured before creation so
// that it shows the same 100 rooms.
const RESOURCE_SERVER_ENDPOINTS = ['list-rs', 'list-rs-nocache'];
const ORDER = ['token', 'list', ...RESOURCE_SERVER_ENDPOINTS, 'retrieve', 'create'];
// Set by the harness itself: it looks for the server there and seeded that database.
const HARNESS_VARIABLES = ['PORT', 'HOST', 'DATABASE_URL'];
const ROOMS = 100;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    slice: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    store: { type: 'string', default: 'sqlite' },
    json: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    only: { type: 'string' },
    profile: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'server-env': { type: 'string', multiple: true, default: [] },
    'resource-server': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  const header = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  process.stdout.write(header.slice(1, header.indexOf('//', 4)).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

// Whole numbers: autocannon stops on its one-second tick.
function positive(name, { allowZero = false } = {}) {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) fail(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} whole number`);
  return value;
}
const duration = positive('duration');
const warmup = positive('warmup', { allowZero: true });
const slice = positive('slice');
const connections = positive('connections');
if (!['sqlite', 'postgres'].includes(args.store)) fail('--store must be sqlite or postgres');
const known = args['resource-server'] ? ORDER : ENDPOINTS;
const asked = (args.only ?? known.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const name of asked) {
  if (RESOURCE_SERVER_ENDPOINTS.includes(name) && !args['resource-server']) fail(`--only: ${name} needs --resource-server`);
  if (!known.includes(name)) fail(`--only: unknown endpoint "${name}" (known: ${known.join(', ')})`);
}
// Always in the canonical order, whatever order they were named in: creation runs last, so
// the lists are measured on exactly the 100 seeded rooms (the count grows with the user's rooms).
const only = ORDER.filter((name) => asked.includes(name));
if (args.store === 'postgres') {
  const url = process.env.DATABASE_URL;
  if (!url) fail('--store postgres runs against DATABASE_URL, which is unset (e.g. DATABASE_URL=postgres://user:pass@127.0.0.1:5432/meet_bench)');
  if (!/^postgres(ql)?:\/\//.test(url)) fail(`--store postgres needs a postgres:// DATABASE_URL, not "${url.replace(/:[^:@/]*@/, ':***@')}"`);
}
if (!fs.existsSync(path.join(root, 'dist/server.js'))) fail('dist/server.js is missing: run `npm run build` (or use `npm run bench`)');

// The variables the configuration reads, listed by the built configuration module itself:
// none is inherited from the caller (see main), and --server-env may set only those.
const { CONFIG_VARIABLES } = await import(pathToFileURL(path.join(root, 'dist/config.js')).href);

/** --server-env KEY=VALUE..., checked before anything starts, so a typo costs no run. */
function serverEnvOption(pairs) {
  const extra = {};
  for (const pair of pairs) {
    const key = pair.slice(0, Math.max(pair.indexOf('='), 0));
    if (!key) fail(`--server-env takes KEY=VALUE, not "${pair}"`);
    if (!CONFIG_VARIABLES.includes(key)) fail(`--server-env: ${key} is not a variable the server reads (CONFIG_VARIABLES in src/config.ts)`);
    if (HARNESS_VARIABLES.includes(key)) fail(`--server-env: ${key} is set by the harness (it picks the port and seeds the database that --store chooses)`);
    extra[key] = pair.slice(key.length + 1);
  }
  return extra;
}
const extraEnv = serverEnvOption(args['server-env']);
const logLevel = extraEnv.LOG_LEVEL ?? args['log-level'];

// ---------------------------------------------------------------------------------------
// CPUs: the server and the baseline on the first CPU this process may use, the harness
// and the load generator on the second. Without taskset or with one CPU, nothing is pinned.

function allowedCpus() {
  const line = fs.readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m);
  if (!line) return [];
  const cpus = [];
  for (const part of line[1].trim().split(',')) {
    const [from, to] = part.split('-').map(Number);
    for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
  }
  return cpus;
}

const nproc = os.availableParallelism(); // before this process pins itself to one CPU
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
let cpus = [];
try {
  cpus = allowedCpus();
} catch {}
const pinning = hasTaskset && cpus.length >= 2 ? { server: cpus[0], load: cpus[1] } : null;
if (pinning) {
  // The harness itself (all its threads) moves to the load generator's CPU.
  spawnSync('taskset', ['-a', '-p', '-c', String(pinning.load), String(process.pid)], { stdio: 'ignore' });
} else {
  process.stderr.write(`bench: not pinning (${hasTaskset ? `${cpus.length} CPU available` : 'taskset not found'}); figures are less comparable\n`);
}

/** Spawns a node script, pinned to `cpu` when pinning is on. */
function spawnNode(cpu, nodeArgs, options) {
  if (pinning) return spawn('taskset', ['-c', String(cpu), process.execPath, ...nodeArgs], options);
  return spawn(process.execPath, nodeArgs, options);
}

// ---------------------------------------------------------------------------------------
// Processes and cleanup.

const children = new Set();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-bench-'));

function track(child, name) {
  children.add(child);
  child.exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exitPromise.then(() => children.delete(child));
  child.benchName = name;
  return child;
}

async function stopChild(child) {
  if (!children.has(child)) return;
  child.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000));
  if ((await Promise.race([child.exitPromise, timeout])) === 'timeout') child.kill('SIGKILL');
}

async function cleanup() {
  await Promise.all([...children].map(stopChild));
  if (!args.keep) fs.rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`bench: kept ${work} (database, server log)\n`);
}

process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));

/**
 * The first line the child prints on stdout that is not an event, parsed as JSON;
 * `onEvent` sees the events ({"event": ...}) before it.
 */
function firstJsonLine(child, onEvent = () => {}) {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let message;
        try {
          message = JSON.parse(line);
        } catch {
          process.stderr.write(`${child.benchName}: ${line}\n`); // not ours: pass it on
          continue;
        }
        if (message.event !== undefined) onEvent(message);
        else return resolve(message);
      }
    });
    child.once('exit', (code) => reject(new Error(`${child.benchName} exited (${code}) before answering`)));
  });
}

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** CPU time (user + system, all threads) the process has used so far, in milliseconds. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
function cpuMsOf(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS; // utime, stime
  } catch {
    return NaN;
  }
}

function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number(status.match(new RegExp(`^${key}:\\s*(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rss_mib: kib('VmRSS') / 1024, peak_rss_mib: kib('VmHWM') / 1024 };
  } catch {
    return { rss_mib: NaN, peak_rss_mib: NaN };
  }
}

// ---------------------------------------------------------------------------------------
// The machine, printed and recorded beside the figures.

/** The commit measured, marked when the working tree differs from it. */
function gitDescription() {
  const git = (...gitArgs) => spawnSync('git', gitArgs, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = git('status', '--porcelain', '--', 'src').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' with uncommitted changes in src/' : ''}`;
}

function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  return {
    date: new Date().toISOString(),
    cpu_model: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    nproc,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    pinning: pinning ? `server and baseline on CPU ${pinning.server}, load generator on CPU ${pinning.load}` : 'none',
    code: gitDescription(),
  };
}

// ---------------------------------------------------------------------------------------
// The run.

/**
 * Starts dist/server.js with `env` on a free port of 127.0.0.1, pinned to the server's CPU,
 * its output in `<name>.log` in the work folder; resolves once /readyz answers.
 */
async function startServer(name, env) {
  const port = await freePort();
  const log = path.join(work, `${name}.log`);
  const logFd = fs.openSync(log, 'w');
  const nodeFlags = args.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args.profile)] : [];
  const child = track(
    spawnNode(pinning?.server, [...nodeFlags, path.join(root, 'dist/server.js')], {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', logFd, logFd],
    }),
    name,
  );
  fs.closeSync(logFd);
  const server = { name, child, log, origin: `http://127.0.0.1:${port}`, logEnd: () => fs.readFileSync(log, 'utf8').slice(-4000) };
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${server.origin}/readyz`)).ok) return server;
    } catch {}
    if (!children.has(child) || attempt > 300) throw new Error(`${name} did not become ready; its log:\n${server.logEnd()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One request to a server, its answer kept as the sample the baseline imitates. */
async function probe({ server, method, path: urlPath, headers, body }) {
  const answer = await fetch(`${server.origin}${urlPath}`, { method, headers, body });
  const text = await answer.text();
  return { status: answer.status, bytes: Buffer.byteLength(text), text };
}

/**
 * With --resource-server: the authorization server, and the OIDC_* environment pointing the
 * server at it. Imported only then: oidc-provider warns on import (about the Node version).
 */
async function startResourceServerMode() {
  if (!args['resource-server']) return { authorizationServer: null, oidcEnv: {} };
  const { startAuthorizationServer } = await import('./authorization-server.mjs');
  const authorizationServer = await startAuthorizationServer();
  // The default, written out: `list-rs` means "cached 30 s" even if the default moves.
  return { authorizationServer, oidcEnv: { ...authorizationServer.env, OIDC_RS_CACHE_SECONDS: '30' } };
}

async function main() {
  const info = machine();
  process.stderr.write(`bench: ${info.cpu_model}, ${info.nproc} CPU, node ${info.node}, load average ${info.loadavg_at_start.join(' ')}; ${info.pinning}; code ${info.code}\n`);

  // The server's environment: what the operator would set, nothing inherited that could
  // change its behaviour (base URL, telephony, workers, ...): none of the variables the
  // configuration reads.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_VARIABLES.includes(key)));
  if (args.store === 'postgres') {
    env.DATABASE_URL = process.env.DATABASE_URL;
    if (process.env.DATABASE_POOL_MAX) env.DATABASE_POOL_MAX = process.env.DATABASE_POOL_MAX;
  } else {
    env.DATABASE_URL = `sqlite:${path.join(work, 'meet.db')}`;
  }
  env.NODE_ENV = 'production';
  env.APPLICATION_JWT_SECRET_KEY = randomBytes(32).toString('hex');
  env.LOG_LEVEL = logLevel;
  // Everything on, as shipped, but the per-application budget: raised far above the
  // bench's rate, so it is counted on every /rooms request and never answers 429
  // (--server-env RATE_LIMIT_APPLICATION_PER_MINUTE=... overrides it).
  env.RATE_LIMIT_APPLICATION_PER_MINUTE = '100000000'; // the configuration's largest

  // Seed: one application, one user (a fresh email, so a shared PostgreSQL database works).
  // In resource-server mode the user also has a sub, the one the user token names: both
  // kinds of token then list the very same 100 rooms.
  // The seeding commands work on the tables the server will read (--server-env DATABASE_LAYOUT=meet: Meet's).
  const cliEnv = extraEnv.DATABASE_LAYOUT === undefined ? env : { ...env, DATABASE_LAYOUT: extraEnv.DATABASE_LAYOUT };
  const cli = (...cliArgs) => JSON.parse(execFileSync(process.execPath, [path.join(root, 'bin/meet-api.js'), ...cliArgs, '--json'], { env: cliEnv, encoding: 'utf8' }));
  const application = cli('apps', 'create', '--name', 'bench', '--scopes', 'rooms:list,rooms:retrieve,rooms:create');
  const fresh = `${Date.now()}-${process.pid}`;
  const email = `bench-${fresh}@bench.example`;
  const sub = `bench-${fresh}`;
  cli('users', 'create', '--email', email, ...(args['resource-server'] ? ['--sub', sub] : []));

  // The servers, pinned, their logs in the work folder. The one without cache only when
  // its endpoint is measured.
  const { authorizationServer, oidcEnv } = await startResourceServerMode();
  const serverEnv = { ...env, ...oidcEnv, ...extraEnv };
  const server = await startServer('server', serverEnv);
  const nocacheServer = only.includes('list-rs-nocache') ? await startServer('server-nocache', { ...serverEnv, OIDC_RS_CACHE_SECONDS: '0' }) : null;
  const servers = [server, nocacheServer].filter(Boolean);

  // The baseline, on the same CPU.
  const baseline = track(spawnNode(pinning?.server, [path.join(root, 'bench/baseline-server.mjs'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] }), 'baseline');
  const { port: baselinePort } = await firstJsonLine(baseline);

  // A token, then the user's rooms. The last creation's answer is the sample of POST /rooms/.
  const jsonHeaders = { 'content-type': 'application/json' };
  const tokenRequest = {
    server,
    method: 'POST',
    path: `${API}/application/token/`,
    headers: jsonHeaders,
    body: JSON.stringify({ client_id: application.client_id, client_secret: application.client_secret, grant_type: 'client_credentials', scope: email }),
  };
  const tokenProbe = await probe(tokenRequest);
  if (tokenProbe.status !== 200) throw new Error(`POST /application/token/ answered ${tokenProbe.status}: ${tokenProbe.text}`);
  const auth = { authorization: `Bearer ${JSON.parse(tokenProbe.text).access_token}` };
  const createRequest = { server, method: 'POST', path: `${API}/rooms/`, headers: auth };
  let createProbe;
  const roomIds = [];
  for (let i = 0; i < ROOMS; i++) {
    createProbe = await probe(createRequest);
    if (createProbe.status !== 201) throw new Error(`POST /rooms/ answered ${createProbe.status}: ${createProbe.text}`);
    roomIds.push(JSON.parse(createProbe.text).id);
  }
  const roomId = roomIds[Math.floor(ROOMS / 2)];

  const list = { label: 'GET /rooms/?page_size=20', server, method: 'GET', path: `${API}/rooms/?page_size=20`, headers: auth, status: 200 };
  const endpoints = {
    token: { label: 'POST /application/token/', ...tokenRequest, status: 200, sample: tokenProbe },
    list,
    retrieve: { label: 'GET /rooms/{id}/', server, method: 'GET', path: `${API}/rooms/${roomId}/`, headers: auth, status: 200 },
    create: { label: 'POST /rooms/', ...createRequest, status: 201, sample: createProbe },
  };
  if (authorizationServer) {
    // A user of the calling service, with every scope the routes ask for, for longer than any run.
    const scopes = ['openid', 'lasuite_meet', 'lasuite_meet:rooms:list', 'lasuite_meet:rooms:retrieve', 'lasuite_meet:rooms:create'];
    const userAuth = { authorization: `Bearer ${await authorizationServer.mintAccessToken({ sub, scopes, ttlSeconds: 24 * 3600 })}` };
    endpoints['list-rs'] = { ...list, label: `${list.label} user token, cache ${serverEnv.OIDC_RS_CACHE_SECONDS} s`, headers: userAuth, introspected: true };
    if (nocacheServer) endpoints['list-rs-nocache'] = { ...endpoints['list-rs'], label: `${list.label} user token, no cache`, server: nocacheServer };
  }
  for (const [name, e] of Object.entries(endpoints)) {
    e.sample ??= await probe(e);
    if (e.sample.status !== e.status) throw new Error(`${name}: ${e.label} answered ${e.sample.status}: ${e.sample.text}`);
    const listed = e.path === list.path ? JSON.parse(e.sample.text) : null;
    if (listed && listed.count !== ROOMS) throw new Error(`${name}: the user should own ${ROOMS} rooms, the list says ${listed.count}`);
  }

  /** The server and the baseline under the same requests, taking turns (bench/load.mjs). */
  const load = async (e) => {
    const request = { method: e.method, headers: e.headers, body: e.body };
    const targets = [
      { name: 'server', url: `${e.server.origin}${e.path}`, ...request },
      { name: 'baseline', url: `http://127.0.0.1:${baselinePort}/${e.status}/${e.sample.bytes}`, ...request },
    ];
    const spec = { targets, connections, duration, warmup, slice };
    const child = track(spawnNode(pinning?.load, [path.join(root, 'bench/load.mjs'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] }), 'load generator');
    const pids = { server: e.server.child.pid, baseline: baseline.pid };
    // CPU time each process spent from the end of the warm-up to the end of the run: per
    // request, a figure far less sensitive to noisy neighbours than requests per second.
    let before;
    const result = await firstJsonLine(child, () => (before = { server: cpuMsOf(pids.server), baseline: cpuMsOf(pids.baseline), authorization: authorizationSample(authorizationServer) }));
    for (const name of ['server', 'baseline']) {
      const used = cpuMsOf(pids[name]) - before[name];
      result[name].cpu_ms = used;
      result[name].cpu_us_per_request = result[name].requests > 0 ? (used * 1000) / result[name].requests : null;
      // Share of its core the process used while it was under load: near 1, it was the
      // bottleneck; well below, something else (the load generator, the neighbours) was.
      result[name].cpu_busy = result[name].duration_s > 0 ? used / (result[name].duration_s * 1000) : null;
    }
    if (e.introspected) result.authorization_server = authorizationDelta(authorizationServer, before.authorization, result.server.requests);
    return result;
  };

  const results = [];
  for (const name of only) {
    const e = endpoints[name];
    process.stderr.write(
      `bench: ${e.label}: ${warmup > 0 ? `${warmup} s warm-up each, then ` : ''}${duration} s on the server and ${duration} s on the baseline in turns of ${Math.min(slice, duration)} s (${e.sample.bytes}-byte answer)\n`,
    );
    const { server: measured, baseline: base, authorization_server } = await load(e);
    if (!children.has(e.server.child)) throw new Error(`${e.server.name} exited during the load; its log ends:\n${e.server.logEnd()}`);
    const memory = memoryOf(e.server.child.pid);
    const unexpected = Object.entries(measured.statuses).filter(([status]) => Number(status) !== e.status).reduce((n, [, c]) => n + c, 0);
    results.push({
      endpoint: name,
      label: e.label,
      expected_status: e.status,
      body_bytes: e.sample.bytes,
      server: measured,
      baseline: base,
      errors: Math.max(unexpected, measured.non2xx) + measured.socket_errors,
      ratio: base.rps > 0 ? measured.rps / base.rps : null,
      cpu_ratio: measured.cpu_us_per_request > 0 ? base.cpu_us_per_request / measured.cpu_us_per_request : null,
      ...memory,
      ...(authorization_server && { authorization_server }),
    });
  }
  const finalMemory = memoryOf(server.child.pid);
  const unsaturated = results.filter((r) => r.baseline.cpu_busy < 0.8).map((r) => `${r.label} (${Math.round(r.baseline.cpu_busy * 100)} %)`);
  info.loadavg_at_end = os.loadavg().map((x) => Math.round(x * 100) / 100);

  // Anything the servers logged at error level or worse during the run.
  for (const s of servers) await stopChild(s.child);
  await stopChild(baseline);
  await authorizationServer?.stop();
  const errorLines = servers.flatMap((s) =>
    fs
      .readFileSync(s.log, 'utf8')
      .split('\n')
      .filter((line) => /"level":(5|6)\d/.test(line)),
  );

  printTable(results, finalMemory);
  if (unsaturated.length > 0) {
    process.stderr.write(
      `bench: the baseline kept its core less than 80 % busy for ${unsaturated.join(', ')}: the load generator (or the neighbours) limited it, so there "ratio" flatters the server and "CPU ratio" is the figure to trust\n`,
    );
  }
  for (const r of results.filter((x) => x.authorization_server)) {
    const a = r.authorization_server;
    process.stderr.write(`bench: ${r.endpoint}: ${a.introspections} introspection(s) for ${r.server.requests} requests, ${a.cpu_us_per_request === null ? '-' : a.cpu_us_per_request.toFixed(0)} µs of the harness's CPU a request (the authorization server, on the load generator's core)\n`);
  }
  process.stderr.write(`bench: load average at the end ${info.loadavg_at_end.join(' ')} on ${nproc} CPU (the bench itself keeps about 2 busy; more means the machine was shared)\n`);
  if (errorLines.length > 0) process.stderr.write(`bench: the server logged ${errorLines.length} error line(s), first:\n${errorLines[0]}\n`);
  if (args.profile) process.stderr.write(`bench: CPU profile written to ${path.resolve(args.profile)} (summarise with node bench/profile-summary.mjs <file>)\n`);

  if (args.json) {
    const report = {
      machine: info,
      options: { duration, warmup, slice, connections, store: args.store, log_level: logLevel, rooms: ROOMS, resource_server: args['resource-server'], server_env: extraEnv },
      results,
      server_rss_mib: finalMemory.rss_mib,
      server_peak_rss_mib: finalMemory.peak_rss_mib,
      server_error_log_lines: errorLines.length,
    };
    fs.writeFileSync(path.resolve(args.json), `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`bench: results written to ${path.resolve(args.json)}\n`);
  }
  const errors = results.reduce((n, r) => n + r.errors, 0) + errorLines.length;
  return errors > 0 ? 2 : 0;
}

/**
 * What the authorization server has done so far: introspections it received, and the
 * harness's CPU time, nearly all its work (the harness only waits for the load generator).
 */
function authorizationSample(authorizationServer) {
  if (!authorizationServer) return null;
  const { user, system } = process.cpuUsage();
  return { introspections: authorizationServer.introspections, cpu_ms: (user + system) / 1000 };
}

function authorizationDelta(authorizationServer, before, requests) {
  const now = authorizationSample(authorizationServer);
  const cpu_ms = now.cpu_ms - before.cpu_ms;
  return { introspections: now.introspections - before.introspections, cpu_ms, cpu_us_per_request: requests > 0 ? (cpu_ms * 1000) / requests : null };
}

function printTable(results, finalMemory) {
  const f = (x, digits = 0) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(digits));
  const rows = [
    ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'baseline req/s', 'baseline p99 ms', 'ratio', 'CPU µs/req', 'baseline CPU µs/req', 'CPU ratio', 'answer B', 'RSS after MiB'],
    ...results.map((r) => [
      r.label,
      f(r.server.rps),
      f(r.server.p50_ms, 2),
      f(r.server.p99_ms, 2),
      String(r.errors),
      f(r.baseline.rps),
      f(r.baseline.p99_ms, 2),
      f(r.ratio, 2),
      f(r.server.cpu_us_per_request),
      f(r.baseline.cpu_us_per_request),
      f(r.cpu_ratio, 2),
      String(r.body_bytes),
      f(r.rss_mib, 1),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  const out = [line(rows[0]), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)];
  out.push('');
  out.push(
    `server RSS after the load: ${f(finalMemory.rss_mib, 1)} MiB (peak ${f(finalMemory.peak_rss_mib, 1)} MiB); ` +
      `${connections} connections, ${duration} s each (in turns of ${Math.min(slice, duration)} s) after ${warmup} s warm-up, store ${args.store}, LOG_LEVEL=${logLevel}` +
      Object.entries(extraEnv).filter(([key]) => key !== 'LOG_LEVEL').map(([key, value]) => `, ${key}=${value}`).join('') +
      (args['resource-server'] ? ', user tokens introspected at an oidc-provider in the harness' : ''),
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
} finally {
  await cleanup();
}
process.exit(exitCode);
