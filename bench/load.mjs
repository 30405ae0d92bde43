#!/usr/bin/env node
// The load generator of `npm run bench`, run as its own process (pinned to its own CPU by
// bench/run.mjs) so that it never shares a core with the servers it measures.
//   node bench/load.mjs '<json spec>'
// spec: {targets: [{name, url, method, headers, body}], connections, duration, warmup, slice}
//
// Warms each target up for `warmup` seconds (results dropped), then measures each for
// `duration` seconds in total, taking turns in slices of `slice` seconds (server, baseline,
// server, baseline, ...): on a shared machine both then see the same neighbours, which
// keeps their ratio meaningful. Prints {"event":"measuring"} when the warm-up is over, then
// one JSON document with one entry per target.
// Latency percentiles are computed here from every response's time (autocannon's own
// histogram rounds to whole milliseconds, too coarse for sub-millisecond answers).
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2]);

function run(target, durationSeconds, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: target.method,
        headers: target.headers,
        body: target.body,
        connections: spec.connections,
        duration: durationSeconds,
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (onResponse) instance.on('response', onResponse);
  });
}

class Tally {
  latencies = new Float64Array(1 << 16);
  count = 0;
  requests = 0;
  seconds = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;
  statuses = {};

  record = (_client, statusCode, _bytes, responseTime) => {
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = responseTime;
    this.statuses[statusCode] = (this.statuses[statusCode] ?? 0) + 1;
  };

  add(result) {
    this.requests += result.requests.total;
    this.seconds += result.duration;
    this.non2xx += result.non2xx;
    this.errors += result.errors;
    this.timeouts += result.timeouts;
  }

  summary() {
    const sorted = this.latencies.subarray(0, this.count).sort();
    const at = (p) => (sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 1000) / 1000);
    return {
      requests: this.requests,
      duration_s: Math.round(this.seconds * 100) / 100,
      rps: this.seconds > 0 ? this.requests / this.seconds : 0,
      p50_ms: at(50),
      p90_ms: at(90),
      p99_ms: at(99),
      max_ms: at(100),
      non2xx: this.non2xx,
      socket_errors: this.errors,
      timeouts: this.timeouts,
      statuses: this.statuses,
    };
  }
}

if (spec.warmup > 0) for (const target of spec.targets) await run(target, spec.warmup);
process.stdout.write(`${JSON.stringify({ event: 'measuring' })}\n`); // the harness samples CPU times here

const tallies = spec.targets.map(() => new Tally());
for (let done = 0; done < spec.duration; ) {
  const slice = Math.min(spec.slice, spec.duration - done);
  for (let i = 0; i < spec.targets.length; i++) tallies[i].add(await run(spec.targets[i], slice, tallies[i].record));
  done += slice;
}

process.stdout.write(`${JSON.stringify(Object.fromEntries(spec.targets.map((target, i) => [target.name, tallies[i].summary()])))}\n`);
