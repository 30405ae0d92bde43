#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof, or `node bench/run.mjs --profile DIR`):
// self time by function and by where the code lives (this project, a package, Node's
// internals, GC, idle).
//   node bench/profile-summary.mjs FILE.cpuprofile... [--top N]
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
if (positionals.length === 0) {
  process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile... [--top N]\n');
  process.exit(1);
}
const top = Number(values.top);


function summarise(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

  /** Where a function lives: the project's own code, a package, Node, or a V8 pseudo-frame. */
  function place(url) {
    if (!url) return null;
    const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    if (pkg) return pkg[1];
    if (url.startsWith('node:')) return 'node';
    const own = url.match(/\/(dist|src|bench)\/(.+)$/);
    if (own) return `meet-api ${own[1]}/${own[2]}`;
    return url;
  }

  const byFunction = new Map();
  const byPlace = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame } = nodes.get(id);
    const where = place(callFrame.url);
    const name = callFrame.functionName || '(anonymous)';
    const file = callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src|bench)\//, '$1/');
    const key = where ? `${name}  ${file}:${callFrame.lineNumber + 1}` : name;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const group = where ? (where.startsWith('meet-api ') ? 'meet-api (own code)' : where) : name;
    byPlace.set(group, (byPlace.get(group) ?? 0) + us);
  }

  // Percentages are of the time the process was not idle.
  const idle = byPlace.get('(idle)') ?? 0;
  byPlace.delete('(idle)');
  byFunction.delete('(idle)');
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle (percentages below are of that)\n\n`);
  process.stdout.write(`self time by place\n`);
  for (const [group, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)} ${ms(us)}  ${group}\n`);
  process.stdout.write(`\ntop ${top} functions by self time\n`);
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)} ${ms(us)}  ${key}\n`);
}

for (const [i, file] of positionals.entries()) {
  if (i > 0) process.stdout.write('\n');
  summarise(file);
}
